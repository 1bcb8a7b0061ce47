//! Criterion benchmarks of the event-driven LIF engine on the headline workload:
//! snn-temporal 784-256-128-10, T = 100, rate-coded MNIST test images (from
//! `$JOULEBENCH_DATA/mnist` when present, else synthetic digit-like images), against dense
//! execution of the same network (the engine's dense mode and the native dense backend).
//! The event engine is timed fed the `f32` spike tensor (`event`), the same spikes bit-packed
//! (`event-packed`, `EventEngine::run_spikes`; packing done once outside the timed loop) and in
//! int8 fixed point (`event-int8-packed`).
//!
//! Weights: seeded PyTorch-style random ones, or a trained run's when `JOULEBENCH_EVENT_RUN`
//! names a run folder of snn-temporal (`spec.json` + `weights.safetensors`, e.g.
//! `JOULEBENCH_EVENT_RUN=out/run/runs/snn-temporal`): trained hidden layers fire more, so the
//! event engine does more work.
//!
//! `cargo bench --bench event` (add `-- --quick` for a short run).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use joulebench_data::{rate_encode, synthetic_digits};
use joulebench_inference::event::{EventEngine, ExecMode, Precision, SpikeBatch};
use joulebench_inference::{Backend, NativeBackend};
use joulebench_models::{
    build_preset, DataShape, ModelSpec, PresetOptions, RunDir, Tensor, Weights,
};

const STEPS: usize = 100;

fn model() -> (ModelSpec, Weights) {
    if let Some(dir) = std::env::var_os("JOULEBENCH_EVENT_RUN") {
        let run = RunDir::new(PathBuf::from(dir));
        let spec = run.spec().expect("JOULEBENCH_EVENT_RUN: spec.json");
        let weights = run.weights(&spec).expect("JOULEBENCH_EVENT_RUN: weights");
        assert_eq!(
            (spec.steps, spec.input_shape.as_slice()),
            (STEPS, &[1usize, 28, 28][..]),
            "JOULEBENCH_EVENT_RUN must be an MNIST-shaped run with T = {STEPS}"
        );
        eprintln!("event bench: trained weights from {}", run.path.display());
        return (spec, weights);
    }
    let shape = DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    };
    let spec = build_preset(
        "snn-temporal",
        &shape,
        &PresetOptions {
            steps: Some(STEPS),
            ..Default::default()
        },
    )
    .unwrap();
    let weights = Weights::random(&spec, 0);
    (spec, weights)
}

/// `count` images `[count, 1, 28, 28]` in `[0, 1]`: MNIST test images when available.
fn images(count: usize) -> Tensor {
    let path = std::env::var_os("JOULEBENCH_DATA")
        .map(|d| PathBuf::from(d).join("mnist/t10k-images-idx3-ubyte.gz"))
        .filter(|p| p.is_file());
    match path.and_then(|p| joulebench_data::idx::read_idx_images(&p).ok()) {
        Some(imgs) if imgs.count >= count => {
            eprintln!("event bench: MNIST test images");
            let data = imgs.pixels[..count * 784]
                .iter()
                .map(|&b| b as f32 / 255.0)
                .collect();
            Tensor::new(vec![count, 1, 28, 28], data).unwrap()
        }
        _ => {
            eprintln!("event bench: synthetic digit-like images (set JOULEBENCH_DATA for MNIST)");
            synthetic_digits(count, 0)
        }
    }
}

fn batch_input(imgs: &Tensor, start: usize, batch: usize, seed: u64) -> Tensor {
    let chunk = Tensor {
        shape: vec![batch, 1, 28, 28],
        data: imgs.data[start * 784..(start + batch) * 784].to_vec(),
    };
    rate_encode(&chunk, STEPS, seed)
}

fn bench_event(c: &mut Criterion) {
    let (spec, weights) = model();
    let imgs = images(256);
    let single: Vec<Tensor> = (0..8).map(|i| batch_input(&imgs, i, 1, i as u64)).collect();

    let mut g = c.benchmark_group("snn-temporal-T100-batch1-1thread");
    g.throughput(Throughput::Elements(1));
    let mut engines: Vec<(String, Box<dyn Backend>)> = vec![
        (
            "event".into(),
            Box::new(EventEngine::new(&spec, &weights, 1).unwrap()),
        ),
        (
            "event-dense-mode".into(),
            Box::new(EventEngine::with_mode(&spec, &weights, 1, ExecMode::Dense).unwrap()),
        ),
    ];
    match NativeBackend::new(&spec, &weights, 1) {
        Ok(n) => engines.push(("native-dense".into(), Box::new(n))),
        Err(e) => eprintln!("native dense backend unavailable: {e}"),
    }
    for (name, engine) in engines.iter_mut() {
        let mut i = 0;
        g.bench_function(BenchmarkId::from_parameter(name.as_str()), |b| {
            b.iter(|| {
                i = (i + 1) % single.len();
                engine.run(&single[i]).unwrap()
            })
        });
    }
    let packed: Vec<SpikeBatch> = single
        .iter()
        .map(|x| SpikeBatch::from_tensor(x).unwrap())
        .collect();
    let mut event = EventEngine::new(&spec, &weights, 1).unwrap();
    let mut int8 = EventEngine::new(&spec, &weights, 1).unwrap();
    int8.set_precision(Precision::Int8).unwrap();
    for (name, engine) in [
        ("event-packed", &mut event),
        ("event-int8-packed", &mut int8),
    ] {
        let mut i = 0;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                i = (i + 1) % packed.len();
                engine.run_spikes(&packed[i]).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("snn-temporal-T100-batch128-2threads");
    g.throughput(Throughput::Elements(128));
    g.sample_size(10);
    let big = batch_input(&imgs, 0, 128, 99);
    let mut event = EventEngine::new(&spec, &weights, 2).unwrap();
    g.bench_function("event", |b| b.iter(|| event.run(&big).unwrap()));
    let big_packed = SpikeBatch::from_tensor(&big).unwrap();
    g.bench_function("event-packed", |b| {
        b.iter(|| event.run_spikes(&big_packed).unwrap())
    });
    if let Ok(mut n) = NativeBackend::new(&spec, &weights, 2) {
        g.bench_function("native-dense", |b| b.iter(|| n.run(&big).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench_event);
criterion_main!(benches);
