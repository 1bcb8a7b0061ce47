//! Criterion: the `ann` preset (784-256 ReLU-128 ReLU-10, random weights) at batch 1 and 64,
//! one thread, on tract, ONNX Runtime (when `ORT_DYLIB_PATH` is set, e.g. under
//! `scripts/jb-env`) and the native dense engine. Reports time per call (divide by the batch
//! for time per inference).
//!
//! `scripts/jb-env cargo bench --bench backends -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use joulebench_inference::{
    expected_dims, Backend, BackendOptions, NativeBackend, OrtBackend, OrtDevice, TractBackend,
};
use joulebench_models::{
    build_preset, export_onnx, DataShape, Normalize, PresetOptions, Tensor, Weights,
};

fn backends(c: &mut Criterion) {
    let data = DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: Some(Normalize {
            mean: 0.1307,
            std: 0.3081,
        }),
    };
    let spec = build_preset("ann", &data, &PresetOptions::default()).expect("ann preset");
    let weights = Weights::random(&spec, 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ann.onnx");
    std::fs::write(&path, export_onnx(&spec, &weights, &[]).expect("export")).expect("write onnx");
    let dims = expected_dims(&spec);
    let opts = BackendOptions::with_threads(1);

    let mut engines: Vec<Box<dyn Backend>> = vec![
        Box::new(TractBackend::load(&path, &dims).expect("tract")),
        Box::new(NativeBackend::new(&spec, &weights, 1).expect("native")),
    ];
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        engines.push(Box::new(
            OrtBackend::load(&path, &dims, &opts, OrtDevice::Cpu).expect("ort"),
        ));
    } else {
        eprintln!("ORT_DYLIB_PATH unset: ONNX Runtime not benchmarked (run under scripts/jb-env)");
    }

    let mut group = c.benchmark_group("ann_1thread");
    for batch in [1usize, 64] {
        let shape = spec.batch_input_shape(batch);
        let n: usize = shape.iter().product();
        let x = Tensor::new(
            shape,
            (0..n)
                .map(|i| ((i * 37 % 255) as f32 / 255.0 - 0.1307) / 0.3081)
                .collect(),
        )
        .expect("input");
        group.throughput(Throughput::Elements(batch as u64));
        for engine in engines.iter_mut() {
            let name = engine.name().to_string();
            engine.run(&x).expect("warm-up run"); // compiles tract's plan for this shape
            group.bench_with_input(BenchmarkId::new(name, batch), &x, |b, x| {
                b.iter(|| engine.run(x).expect("run"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, backends);
criterion_main!(benches);
