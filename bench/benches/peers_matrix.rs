//! Criterion: the spiking cases of `joulebench bench backends` that `benches/event.rs` (T = 100)
//! does not cover — snn-1step and snn-temporal at T = 25 — on every engine (event-driven,
//! native dense, tract, ort), batch 1 and 64, one thread each.
//!
//! Inputs: synthetic digit-like 28×28 images (seed 0; `JOULEBENCH_DATA` is not read here, so
//! the numbers do not depend on a dataset being present), rate-coded with the data crate's
//! encoder for snn-temporal (seed 0), the analog values for snn-1step. Weights: seeded
//! PyTorch-style random init. ort is skipped (with a note) when `ORT_DYLIB_PATH` is not set:
//! run through `scripts/jb-env cargo bench -p joulebench-bench --bench peers_matrix`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use joulebench_data::synthetic_digits;
use joulebench_inference::ort_backend::ort_environment;
use joulebench_inference::{
    expected_dims, Backend, BackendOptions, EventEngine, NativeBackend, OrtBackend, OrtDevice,
    TractBackend,
};
use joulebench_models::{build_preset, write_onnx, DataShape, PresetOptions, Tensor, Weights};

fn engines(
    spec: &joulebench_models::ModelSpec,
    weights: &Weights,
    onnx: &std::path::Path,
) -> Vec<(&'static str, Box<dyn Backend>)> {
    let dims = expected_dims(spec);
    let mut v: Vec<(&'static str, Box<dyn Backend>)> = vec![
        (
            "event",
            Box::new(EventEngine::new(spec, weights, 1).expect("event engine")),
        ),
        (
            "native",
            Box::new(NativeBackend::new(spec, weights, 1).expect("native dense")),
        ),
        (
            "tract",
            Box::new(TractBackend::load(onnx, &dims).expect("tract")),
        ),
    ];
    match ort_environment() {
        Ok(_) => v.push((
            "ort",
            Box::new(
                OrtBackend::load(
                    onnx,
                    &dims,
                    &BackendOptions::with_threads(1),
                    OrtDevice::Cpu,
                )
                .expect("ort"),
            ),
        )),
        Err(e) => eprintln!("note: ort skipped: {e}"),
    }
    v
}

fn matrix(c: &mut Criterion) {
    let data = DataShape {
        dataset: "mnist".into(),
        sample_shape: vec![1, 28, 28],
        num_classes: 10,
        normalize: None,
        spike_scale: None,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let images = synthetic_digits(64, 0);
    for (preset, steps) in [("snn-1step", None), ("snn-temporal", Some(25))] {
        let spec = build_preset(
            preset,
            &data,
            &PresetOptions {
                steps,
                ..Default::default()
            },
        )
        .expect("preset");
        let weights = Weights::random(&spec, 0);
        let onnx = dir.path().join(format!("{preset}.onnx"));
        write_onnx(&onnx, &spec, &weights, &[]).expect("export");
        let mut backends = engines(&spec, &weights, &onnx);
        for batch in [1usize, 64] {
            let raw = Tensor {
                shape: vec![batch, 1, 28, 28],
                data: images.data[..batch * 784].to_vec(),
            };
            let x = joulebench_data::encode(spec.encoding, &raw, spec.steps, 0).expect("encode");
            let mut g = c.benchmark_group(format!("{preset}-T{}-batch{batch}-1thread", spec.steps));
            g.sample_size(if spec.steps > 1 && batch > 1 { 10 } else { 30 });
            for (name, b) in backends.iter_mut() {
                g.bench_function(BenchmarkId::from_parameter(*name), |bench| {
                    bench.iter(|| b.run(&x).expect("run"))
                });
            }
            g.finish();
        }
    }
}

criterion_group!(benches, matrix);
criterion_main!(benches);
