//! `profile` end to end with a fake backend, a manual clock and a fake meter: latency counts,
//! the energy method's arithmetic (idle, windows, above idle), activity averaging, labelling.

use joulebench_data::DatasetKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use joulebench_inference::{Activity, Backend, InferenceError, LayerActivity};
use joulebench_models::{build_preset, PresetOptions, Tensor};
use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::{
    profile, spec_counts, Clock, DomainInfo, DomainKind, EnergyConfig, EnergyMeter, EnergyReading,
    InputGenerator, LatencyConfig, MeterError, ModelInfo, PowerBasis, ProfileConfig,
    ProfileRequest, ReadingSource, SampleSource, SystemInfo, WindowStart,
};

const IDLE_W: f64 = 10.0;
const J_PER_SAMPLE: f64 = 0.5;
const S_PER_SAMPLE: f64 = 0.001;

/// Shared "hardware": a clock and an energy counter that idles at 10 W and adds 0.5 J per sample.
struct Machine {
    clock: Arc<ManualClock>,
    work_j: Mutex<f64>,
}

impl Machine {
    fn energy(&self) -> f64 {
        IDLE_W * self.clock.now().as_secs_f64() + *self.work_j.lock().unwrap()
    }
}

struct FakeBackend {
    m: Arc<Machine>,
    activity: Option<Activity>,
    runs: usize,
}

impl Backend for FakeBackend {
    fn name(&self) -> &str {
        "fake"
    }
    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        let (steps, batch) = (input.shape[0], input.shape[1]);
        self.m
            .clock
            .advance(Duration::from_secs_f64(S_PER_SAMPLE * batch as f64));
        // two threads busy for the whole call
        self.m
            .clock
            .advance_cpu(Duration::from_secs_f64(2.0 * S_PER_SAMPLE * batch as f64));
        *self.m.work_j.lock().unwrap() += J_PER_SAMPLE * batch as f64;
        self.runs += 1;
        let ones = input.data.iter().filter(|&&v| v != 0.0).count() as u64;
        self.activity = Some(Activity {
            batch,
            steps,
            layers: vec![LayerActivity {
                name: "fc1".into(),
                neurons: 256,
                spikes_per_step: vec![2 * batch as u64; steps],
                input_sparsity: 1.0 - ones as f64 / input.data.len() as f64,
                event_driven: true,
                effective_ops: ones * 256,
                performed_ops: ones * 256,
                dense_macs: (input.data.len() * 256) as u64,
                membrane_updates: (256 * batch * steps) as u64,
            }],
            ..Default::default()
        });
        Ok(Tensor::zeros(vec![batch, 10]))
    }
    fn threads(&self) -> usize {
        1
    }
    fn activity(&self) -> Option<&Activity> {
        self.activity.as_ref()
    }
}

struct FakeMeter {
    m: Arc<Machine>,
}

impl EnergyMeter for FakeMeter {
    fn name(&self) -> &str {
        "fake"
    }
    fn domains(&self) -> Vec<DomainInfo> {
        vec![DomainInfo {
            name: "board".into(),
            kind: DomainKind::Package,
            resolution_j: 1e-6,
            update_period_s: 0.001,
            in_total: true,
            note: "test".into(),
        }]
    }
    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        // the counter in µJ, as a hardware counter would hold it
        Ok(WindowStart::new(
            self.m.clock.now().as_secs_f64(),
            vec![(self.m.energy() * 1e6).round() as u64],
        ))
    }
    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
        let end = (self.m.energy() * 1e6).round() as u64;
        Ok(EnergyReading {
            joules: vec![(end - start.raw()[0]) as f64 * 1e-6],
            seconds: self.m.clock.now().as_secs_f64() - start.t(),
            source: ReadingSource::Measured {
                counter: "fake".into(),
            },
        })
    }
}

#[test]
fn profile_with_fake_backend_and_meter() {
    let data = DatasetKind::Mnist1d.data_shape();
    let spec = build_preset(
        "snn-temporal",
        &data,
        &PresetOptions {
            steps: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    let clock = Arc::new(ManualClock::default());
    let machine = Arc::new(Machine {
        clock: clock.clone(),
        work_j: Mutex::new(0.0),
    });
    let mut backend = FakeBackend {
        m: machine.clone(),
        activity: None,
        runs: 0,
    };
    let req = ProfileRequest {
        model: ModelInfo {
            name: spec.preset.clone(),
            source: "test".into(),
            preset: Some(spec.preset.clone()),
            spiking: true,
            steps: spec.steps,
            sample_shape: spec.input_shape.clone(),
        },
        counts: Some(spec_counts(&spec).unwrap()),
        onnx_counts: None,
        inputs: InputGenerator::for_spec(&spec, SampleSource::Random, 7),
        meter: Some(Box::new(FakeMeter { m: machine.clone() })),
        meter_note: "fake meter".into(),
        gpu_backend: false,
        system: SystemInfo::collect(),
        power: Some(PowerBasis::UserWatts {
            watts_per_cpu: 10.0,
        }),
    };
    let cfg = ProfileConfig {
        batches: vec![2, 8],
        latency: LatencyConfig {
            warmup_queries: 2,
            warmup_seconds: 0.0,
            min_queries: 50,
            min_seconds: 0.5,
            max_seconds: None,
        },
        offline_batch: Some(32),
        energy: EnergyConfig {
            idle_seconds: 3.0,
            min_window_seconds: 1.0,
            windows: 2,
        },
        input_pool: 3,
    };
    let mut stages = vec![];
    let r = profile(clock.as_ref(), &mut backend, req, &cfg, &mut |s| {
        stages.push(s.to_string())
    })
    .unwrap();

    // latency: batch 2 takes 2 ms/query → 250 queries for 0.5 s; batch 8: 8 ms → 63 queries
    assert_eq!(r.latency[0].queries, 250);
    assert_eq!(r.latency[1].queries, 63);
    assert!((r.latency[0].per_query_s.mean - 0.002).abs() < 1e-9);
    assert!((r.latency[1].per_sample_s.p50 - 0.001).abs() < 1e-9);
    assert!((r.offline.as_ref().unwrap().samples_per_s - 1000.0).abs() < 1e-6);

    // energy: ≥ 5 windows enforced; 10 W idle; per inference 0.5 J + 10 W × 1 ms; above idle 0.5 J
    let e = r.energy.measured.as_ref().unwrap();
    assert_eq!(e.label, "measured");
    assert_eq!(e.windows.len(), 5);
    assert!((e.idle.as_ref().unwrap().power_w - IDLE_W).abs() < 1e-9);
    assert!(
        (e.joules_per_inference.mean - 0.51).abs() < 1e-9,
        "{:?}",
        e.joules_per_inference
    );
    assert!(e.joules_per_inference.std < 1e-9);
    let above = e.joules_per_inference_above_idle.unwrap();
    assert!((above.mean - 0.5).abs() < 1e-9);
    assert!(e
        .windows
        .iter()
        .all(|w| w.seconds >= 1.0 && w.inferences % 2 == 0));

    // CPU time: both busy threads are charged (2 ms of CPU per 1 ms sample)
    assert!((r.latency[0].cpu_seconds_per_inference - 0.002).abs() < 1e-9);
    assert!((r.latency[0].busy_cpus - 2.0).abs() < 1e-9);
    assert!(e
        .windows
        .iter()
        .all(|w| (w.cpu_seconds - 2.0 * w.seconds).abs() < 1e-9));
    // modelled over the same windows: 2 busy CPUs × 10 W × 1 ms = 20 mJ per inference,
    // and its ratio to the measured energy above idle (0.5 J)
    let m = r.energy.modelled.as_ref().unwrap();
    assert_eq!(m.kind, joulebench_models::EnergyKind::Modelled);
    assert!((m.joules_per_inference - 0.02).abs() < 1e-9, "{m:?}");
    assert!((r.energy.modelled_over_measured.unwrap() - 0.04).abs() < 1e-9);
    let kinds: Vec<_> = r.energy.energy_sources.iter().map(|f| f.kind).collect();
    use joulebench_models::EnergyKind::*;
    assert_eq!(kinds, vec![Measured, Modelled, Estimate]);
    let measured_fig = &r.energy.energy_sources[0];
    assert!(
        (measured_fig.joules_per_inference - 0.5).abs() < 1e-9,
        "above idle"
    );
    assert!(measured_fig.method.contains("above idle"));

    // activity averaged over the untimed pass: 3 prepared batches of 2 and 3 of 8
    let a = r.activity.as_ref().unwrap();
    assert_eq!(a.samples, 30);
    assert!((a.membrane_updates_per_sample - 256.0 * 4.0).abs() < 1e-9);
    assert!(
        a.layers[0].input_sparsity > 0.0 && a.layers[0].input_sparsity < 1.0,
        "rate-coded random input"
    );

    // the estimate is there, labelled, and uses the measured activity
    let est = r.energy.estimate.as_ref().unwrap();
    assert_eq!(est.label, "estimate");
    assert!((est.work.acs - a.effective_acs_per_sample).abs() < 1e-9);

    // JSON carries the documented top-level keys and no measurement-looking estimate fields
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    for k in [
        "schema_version",
        "model",
        "backend",
        "inputs",
        "counts",
        "latency",
        "energy",
        "system",
        "config",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let est_json = v["energy"]["estimate"].as_object().unwrap();
    assert!(est_json
        .keys()
        .filter(|k| k.contains("joules"))
        .all(|k| k.contains("estimate")));
    assert!(stages.iter().any(|s| s.starts_with("energy")));
}
