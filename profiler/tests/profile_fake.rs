//! `profile` end to end with a fake backend, a manual clock and a fake meter: latency counts,
//! the energy method's arithmetic (settle, idle before and after, a discarded warm-up window,
//! windows, above idle), GPU synchronization, activity averaging, labelling; and the method's
//! failure modes: windows that read 0 J (re-run, then rejected), idle drifting between before
//! and after, a meter failing in the middle of `profile`.

use joulebench_data::DatasetKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use joulebench_inference::{Activity, Backend, InferenceError, LayerActivity};
use joulebench_models::{build_preset, PresetOptions, Tensor};
use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::energy::{IDLE_WHAT, MAX_RERUNS};
use joulebench_profiler::{
    measure_energy, profile, spec_counts, Clock, DomainInfo, DomainKind, EnergyConfig, EnergyMeter,
    EnergyReading, InputGenerator, LatencyConfig, MeterError, ModelInfo, PowerBasis, ProfileConfig,
    ProfileError, ProfileRequest, ReadingSource, SampleSource, SystemInfo, WindowStart,
};

const IDLE_W: f64 = 10.0;
const J_PER_SAMPLE: f64 = 0.5;
const S_PER_SAMPLE: f64 = 0.001;

/// Shared "hardware": a clock and an energy counter that idles at 10 W and adds 0.5 J per sample.
/// The work's energy is GPU-like: a `run` queues it, and it reaches the counter only when the
/// backend is synchronized — so a window that ends without `synchronize` misses it.
struct Machine {
    clock: Arc<ManualClock>,
    work_j: Mutex<f64>,
    queued_j: Mutex<f64>,
}

impl Machine {
    fn new(clock: Arc<ManualClock>) -> Arc<Machine> {
        Arc::new(Machine {
            clock,
            work_j: Mutex::new(0.0),
            queued_j: Mutex::new(0.0),
        })
    }
    fn energy(&self) -> f64 {
        IDLE_W * self.clock.now().as_secs_f64() + *self.work_j.lock().unwrap()
    }
}

struct FakeBackend {
    m: Arc<Machine>,
    activity: Option<Activity>,
    runs: usize,
    syncs: usize,
}

impl FakeBackend {
    fn new(m: Arc<Machine>) -> Self {
        FakeBackend {
            m,
            activity: None,
            runs: 0,
            syncs: 0,
        }
    }
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
        *self.m.queued_j.lock().unwrap() += J_PER_SAMPLE * batch as f64;
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
    fn synchronize(&mut self) -> Result<(), InferenceError> {
        let q = std::mem::take(&mut *self.m.queued_j.lock().unwrap());
        *self.m.work_j.lock().unwrap() += q;
        self.syncs += 1;
        Ok(())
    }
}

/// What the fake meter does at its `k`-th `end_window` (0-based).
#[derive(Clone, Copy, PartialEq)]
enum Act {
    /// Reads the machine's counter.
    Read,
    /// The counter did not move: 0 J.
    Frozen,
    /// The meter fails.
    Fail,
}

/// A meter on the machine's counter. `script[k]` says what the `k`-th window does (`Read` past
/// the end); `log` records every window as `(start, end)` times.
struct FakeMeter {
    m: Arc<Machine>,
    script: Vec<Act>,
    log: Arc<Mutex<Vec<(f64, f64)>>>,
}

impl FakeMeter {
    fn new(m: Arc<Machine>) -> Self {
        FakeMeter {
            m,
            script: vec![],
            log: Arc::default(),
        }
    }
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
        let now = self.m.clock.now().as_secs_f64();
        let k = {
            let mut log = self.log.lock().unwrap();
            log.push((start.t(), now));
            log.len() - 1
        };
        let delta = match self.script.get(k).copied().unwrap_or(Act::Read) {
            Act::Read => end - start.raw()[0],
            Act::Frozen => 0,
            Act::Fail => return Err(MeterError::Nvml("fake meter: device lost".into())),
        };
        Ok(EnergyReading {
            joules: vec![delta as f64 * 1e-6],
            seconds: now - start.t(),
            source: ReadingSource::Measured {
                counter: "fake".into(),
            },
        })
    }
}

fn snn_spec() -> joulebench_models::ModelSpec {
    let data = DatasetKind::Mnist1d.data_shape();
    build_preset(
        "snn-temporal",
        &data,
        &PresetOptions {
            steps: Some(4),
            ..Default::default()
        },
    )
    .unwrap()
}

fn request(spec: &joulebench_models::ModelSpec, meter: FakeMeter) -> ProfileRequest {
    ProfileRequest {
        model: ModelInfo {
            name: spec.preset.clone(),
            source: "test".into(),
            preset: Some(spec.preset.clone()),
            spiking: true,
            steps: spec.steps,
            sample_shape: spec.input_shape.clone(),
        },
        counts: Some(spec_counts(spec).unwrap()),
        onnx_counts: None,
        inputs: InputGenerator::for_spec(spec, SampleSource::Random, 7),
        meter: Some(Box::new(meter)),
        meter_note: "fake meter".into(),
        gpu_backend: false,
        system: SystemInfo::collect(),
        power: Some(PowerBasis::UserWatts {
            watts_per_cpu: 10.0,
        }),
    }
}

const SETTLE_S: f64 = 2.0;
const IDLE_S: f64 = 3.0;

fn config() -> ProfileConfig {
    ProfileConfig {
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
            idle_seconds: IDLE_S,
            min_window_seconds: 1.0,
            windows: 2,
            settle_seconds: SETTLE_S,
        },
        input_pool: 3,
    }
}

#[test]
fn profile_with_fake_backend_and_meter() {
    let spec = snn_spec();
    let clock = Arc::new(ManualClock::default());
    let machine = Machine::new(clock.clone());
    let mut backend = FakeBackend::new(machine.clone());
    let meter = FakeMeter::new(machine.clone());
    let log = meter.log.clone();
    let req = request(&spec, meter);
    let cfg = config();
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
    assert!(e.rejected_windows.is_empty());
    // idle twice (before and after), each 3 s after a 2 s settle, both 10 W
    for idle in [e.idle.as_ref().unwrap(), e.idle_after.as_ref().unwrap()] {
        assert!((idle.power_w - IDLE_W).abs() < 1e-9, "{idle:?}");
        assert!((idle.seconds - IDLE_S).abs() < 1e-9);
    }
    assert!((e.idle_power_w().unwrap() - IDLE_W).abs() < 1e-9);
    assert!(e.notes.iter().any(|n| n == IDLE_WHAT), "{:?}", e.notes);
    // the meter saw: idle, warm-up, 5 windows, idle — and 2 s of nothing before each idle
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 8, "{log:?}");
    assert!(
        (log[7].0 - log[6].1 - SETTLE_S).abs() < 1e-9,
        "settle before idle after"
    );
    assert!(log[1].0 == log[0].1, "warm-up right after the first idle");
    // the warm-up window ran work, was measured and is kept apart from the averaged windows
    let warm = e.warmup_window.as_ref().unwrap();
    assert!(warm.inferences > 0 && warm.seconds >= 1.0);
    assert!((warm.total_j / warm.inferences as f64 - 0.51).abs() < 1e-9);
    // synchronized before every window ended (else the queued energy would be missing) and at
    // the end of every timed latency query
    assert!(backend.syncs >= 5 + 1 + r.latency[0].queries + r.latency[1].queries);
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

/// One batch of `batch` samples as a plain closure (CPU-like: its energy lands at once).
fn cpu_work(m: &Arc<Machine>, batch: usize) -> impl FnMut() -> Result<(), ProfileError> + '_ {
    move || {
        m.clock
            .advance(Duration::from_secs_f64(S_PER_SAMPLE * batch as f64));
        *m.work_j.lock().unwrap() += J_PER_SAMPLE * batch as f64;
        Ok(())
    }
}

fn energy_cfg(idle_seconds: f64) -> EnergyConfig {
    EnergyConfig {
        idle_seconds,
        min_window_seconds: 0.5,
        windows: 5,
        settle_seconds: 1.0,
    }
}

#[test]
fn windows_that_read_zero_are_rerun_and_rejected() {
    let clock = Arc::new(ManualClock::default());
    let machine = Machine::new(clock.clone());
    let mut meter = FakeMeter::new(machine.clone());
    // window 0 is idle, 1 the warm-up, 2.. the windows: the counter does not move in the first
    // two real windows
    meter.script = vec![Act::Read, Act::Read, Act::Frozen, Act::Frozen];
    let log = meter.log.clone();
    let e = measure_energy(
        clock.as_ref(),
        &mut meter,
        &energy_cfg(1.0),
        4,
        cpu_work(&machine, 4),
    )
    .unwrap();
    assert_eq!(e.windows.len(), 5, "re-run until 5 valid windows");
    assert_eq!(e.rejected_windows.len(), 2);
    assert!(e.rejected_windows.iter().all(|w| w.total_j == 0.0));
    assert!(e.windows.iter().all(|w| w.total_j > 0.0));
    // the zeros are not averaged in: 0.5 J + 10 W × 1 ms per sample
    assert!((e.joules_per_inference.mean - 0.51).abs() < 1e-9);
    assert!(e.joules_per_inference.std < 1e-9);
    assert!((e.joules_per_inference_above_idle.unwrap().mean - 0.5).abs() < 1e-9);
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("2 window(s)") && n.contains("read 0 J") && n.contains("rejected")),
        "{:?}",
        e.notes
    );
    // idle, warm-up, 2 rejected + 5 valid, idle
    assert_eq!(log.lock().unwrap().len(), 1 + 1 + 7 + 1);
}

#[test]
fn a_counter_that_never_moves_is_an_error_after_the_reruns() {
    let clock = Arc::new(ManualClock::default());
    let machine = Machine::new(clock.clone());
    let mut meter = FakeMeter::new(machine.clone());
    // warm-up reads, then every window reads 0 J
    meter.script = vec![Act::Read];
    meter.script.extend([Act::Frozen; 20]);
    let log = meter.log.clone();
    let err = measure_energy(
        clock.as_ref(),
        &mut meter,
        &energy_cfg(0.0),
        1,
        cpu_work(&machine, 1),
    )
    .expect_err("no valid window: an error, not an average of zeros");
    let msg = err.to_string();
    assert!(
        msg.contains("only 0 of 5") && msg.contains("at least 5"),
        "{msg}"
    );
    // warm-up + 5 windows + the bounded re-runs, then it stops
    assert_eq!(log.lock().unwrap().len(), 1 + 5 + MAX_RERUNS);

    // 4 valid windows out of 8 attempts (every other one reads 0 J) is still too few
    let mut meter = FakeMeter::new(machine.clone());
    meter.script = vec![Act::Read]; // warm-up
    meter.script.extend([Act::Read, Act::Frozen].repeat(4));
    meter.script.truncate(1 + 5 + MAX_RERUNS);
    meter.script.extend([Act::Frozen; 4]);
    let err = measure_energy(
        clock.as_ref(),
        &mut meter,
        &energy_cfg(0.0),
        1,
        cpu_work(&machine, 1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("only 4 of 5"), "{err}");
}

/// A meter whose idle power steps from 10 W to 20 W during the windows: idle before and after
/// are both reported, their mean is used, and the difference is noted.
#[test]
fn idle_before_and_after_are_averaged_and_a_drift_is_noted() {
    struct Drifting {
        inner: FakeMeter,
        extra_w: Arc<Mutex<f64>>,
    }
    impl EnergyMeter for Drifting {
        fn name(&self) -> &str {
            "fake"
        }
        fn domains(&self) -> Vec<DomainInfo> {
            self.inner.domains()
        }
        fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
            self.inner.begin_window()
        }
        fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
            let mut r = self.inner.end_window(start)?;
            let n = self.inner.log.lock().unwrap().len();
            if n == 7 {
                // the last window: from now on a background process adds 10 W
                *self.extra_w.lock().unwrap() = 10.0;
            } else if n == 8 {
                r.joules[0] += *self.extra_w.lock().unwrap() * r.seconds;
            }
            Ok(r)
        }
    }
    let clock = Arc::new(ManualClock::default());
    let machine = Machine::new(clock.clone());
    let mut meter = Drifting {
        inner: FakeMeter::new(machine.clone()),
        extra_w: Arc::default(),
    };
    let e = measure_energy(
        clock.as_ref(),
        &mut meter,
        &energy_cfg(2.0),
        2,
        cpu_work(&machine, 2),
    )
    .unwrap();
    assert!((e.idle.as_ref().unwrap().power_w - 10.0).abs() < 1e-9);
    assert!((e.idle_after.as_ref().unwrap().power_w - 20.0).abs() < 1e-9);
    assert!((e.idle_power_w().unwrap() - 15.0).abs() < 1e-9);
    // above idle with 15 W: 0.5 J + (10 − 15) W × 1 ms
    assert!((e.joules_per_inference_above_idle.unwrap().mean - 0.495).abs() < 1e-9);
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("differ by 67 %") && n.contains("mean is used")),
        "{:?}",
        e.notes
    );
    assert_eq!(e.figure().idle_power_w, Some(15.0));
}

/// A meter that fails in the middle of `profile`: `profile` returns that error — no half result,
/// no panic.
#[test]
fn a_meter_failing_mid_profile_fails_the_profile() {
    let spec = snn_spec();
    for fail_at in [0usize, 1, 4, 7] {
        let clock = Arc::new(ManualClock::default());
        let machine = Machine::new(clock.clone());
        let mut backend = FakeBackend::new(machine.clone());
        let mut meter = FakeMeter::new(machine.clone());
        meter.script = vec![Act::Read; fail_at];
        meter.script.push(Act::Fail);
        let log = meter.log.clone();
        let r = profile(
            clock.as_ref(),
            &mut backend,
            request(&spec, meter),
            &config(),
            &mut |_| {},
        );
        match r {
            Err(ProfileError::Meter(MeterError::Nvml(m))) => assert!(m.contains("device lost")),
            Err(other) => panic!("window {fail_at}: wrong error {other}"),
            Ok(_) => panic!("window {fail_at}: a failed meter must fail the profile"),
        }
        assert_eq!(
            log.lock().unwrap().len(),
            fail_at + 1,
            "stops at the failure"
        );
    }
}
