//! Criterion: one thread, batch 1 and 64, on tract, ONNX Runtime (when `ORT_DYLIB_PATH` is set,
//! e.g. under `scripts/jb-env`) and the native dense engine, with random weights (seed 0):
//!
//! * `ann_1thread` — the `ann` preset (784-256 ReLU-128 ReLU-10) on normalized MNIST test
//!   images (from `$JOULEBENCH_DATA/mnist` when present, else seeded synthetic strokes with a
//!   similar share of background pixels); batch 1 cycles through 16 different images;
//! * `ann_1thread_dense_input` — the same model on a dense pseudo-random input (no background
//!   pixels: the native engine's worst case, and the input of earlier figures);
//! * `cnn_1thread` — the `cnn` preset on the same images;
//! * `mlp1024x2_1thread` — `mlp-sweep` width 1024, depth 2 (784-1024-1024-10) on the same images.
//!
//! Reports time per call (divide by the batch for time per inference).
//!
//! `scripts/jb-env cargo bench -p joulebench-bench --bench backends -- --warm-up-time 1 --measurement-time 3`
//! (append a group name, e.g. `ann_1thread/`, to run only that group).

use joulebench_data::DatasetKind;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use joulebench_inference::{
    expected_dims, Backend, BackendOptions, NativeBackend, OrtBackend, OrtDevice, TractBackend,
};
use joulebench_models::{
    build_preset, export_onnx, DataShape, ModelSpec, PresetOptions, Tensor, Weights,
};
use rand::{Rng, SeedableRng};

const MEAN: f32 = 0.1307;
const STD: f32 = 0.3081;
const PIXELS: usize = 784;

fn mnist_shape() -> DataShape {
    DatasetKind::Mnist.data_shape()
}

/// `count` images (784 values in `[0, 1]` each): MNIST test images when available, otherwise
/// seeded synthetic strokes (about 20 % of pixels lit, like MNIST).
fn images(count: usize) -> Vec<f32> {
    let path = std::env::var_os("JOULEBENCH_DATA")
        .map(|d| PathBuf::from(d).join("mnist/t10k-images-idx3-ubyte.gz"))
        .filter(|p| p.is_file());
    if let Some(imgs) = path.and_then(|p| joulebench_data::idx::read_idx_images(&p).ok()) {
        if imgs.count >= count {
            eprintln!("backends bench: MNIST test images");
            return imgs.pixels[..count * PIXELS]
                .iter()
                .map(|&b| b as f32 / 255.0)
                .collect();
        }
    }
    eprintln!("backends bench: synthetic stroke images (set JOULEBENCH_DATA for MNIST)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut out = vec![0.0f32; count * PIXELS];
    for img in out.chunks_exact_mut(PIXELS) {
        for _ in 0..3 {
            let (x0, y0): (f32, f32) = (rng.random_range(6.0..22.0), rng.random_range(4.0..24.0));
            let (x1, y1): (f32, f32) = (rng.random_range(6.0..22.0), rng.random_range(4.0..24.0));
            for s in 0..=40 {
                let f = s as f32 / 40.0;
                let (cx, cy) = (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f);
                for dy in -1i32..=1 {
                    for dx in -1i32..=1 {
                        let (px, py) = (cx as i32 + dx, cy as i32 + dy);
                        if (0..28).contains(&px) && (0..28).contains(&py) {
                            let v = if dx == 0 && dy == 0 { 1.0 } else { 0.6 };
                            let p = &mut img[py as usize * 28 + px as usize];
                            *p = p.max(v);
                        }
                    }
                }
            }
        }
    }
    out
}

fn normalized(pixels: &[f32], batch: usize) -> Tensor {
    Tensor::new(
        vec![batch, 1, 28, 28],
        pixels[..batch * PIXELS]
            .iter()
            .map(|&v| (v - MEAN) / STD)
            .collect(),
    )
    .expect("input")
}

fn engines(spec: &ModelSpec, dir: &std::path::Path) -> Vec<Box<dyn Backend>> {
    let weights = Weights::random(spec, 0);
    let path = dir.join(format!("{}.onnx", spec.preset));
    std::fs::write(&path, export_onnx(spec, &weights, &[]).expect("export")).expect("write onnx");
    let dims = expected_dims(spec);
    let opts = BackendOptions::with_threads(1);
    let mut engines: Vec<Box<dyn Backend>> = vec![
        Box::new(TractBackend::load(&path, &dims).expect("tract")),
        Box::new(NativeBackend::new(spec, &weights, 1).expect("native")),
    ];
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        engines.push(Box::new(
            OrtBackend::load(&path, &dims, &opts, OrtDevice::Cpu).expect("ort"),
        ));
    } else {
        eprintln!("ORT_DYLIB_PATH unset: ONNX Runtime not benchmarked (run under scripts/jb-env)");
    }
    engines
}

/// Benchmarks every engine at batch 1 (cycling through `singles`) and on `batch64`.
fn group(c: &mut Criterion, name: &str, spec: &ModelSpec, singles: &[Tensor], batch64: &Tensor) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut engines = engines(spec, dir.path());
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    for engine in engines.iter_mut() {
        let id = BenchmarkId::new(engine.name().to_string(), 1);
        engine.run(&singles[0]).expect("warm-up run"); // compiles tract's plan for this shape
        let mut i = 0;
        g.bench_function(id, |b| {
            b.iter(|| {
                i = (i + 1) % singles.len();
                engine.run(&singles[i]).expect("run")
            })
        });
    }
    let batch = batch64.shape[0];
    g.throughput(Throughput::Elements(batch as u64));
    for engine in engines.iter_mut() {
        let id = BenchmarkId::new(engine.name().to_string(), batch);
        engine.run(batch64).expect("warm-up run");
        g.bench_with_input(id, batch64, |b, x| b.iter(|| engine.run(x).expect("run")));
    }
    g.finish();
}

fn backends(c: &mut Criterion) {
    let data = mnist_shape();
    let pixels = images(64);
    let singles: Vec<Tensor> = (0..16)
        .map(|i| normalized(&pixels[i * PIXELS..], 1))
        .collect();
    let batch64 = normalized(&pixels, 64);

    let ann = build_preset("ann", &data, &PresetOptions::default()).expect("ann preset");
    group(c, "ann_1thread", &ann, &singles, &batch64);

    let dense = |batch: usize| {
        let n = batch * PIXELS;
        let v: Vec<f32> = (0..n).map(|i| (i * 37 % 255) as f32 / 255.0).collect();
        normalized(&v, batch)
    };
    group(c, "ann_1thread_dense_input", &ann, &[dense(1)], &dense(64));

    let cnn = build_preset("cnn", &data, &PresetOptions::default()).expect("cnn preset");
    group(c, "cnn_1thread", &cnn, &singles, &batch64);

    let mlp = build_preset(
        "mlp-sweep",
        &data,
        &PresetOptions {
            width: Some(1024),
            depth: Some(2),
            ..Default::default()
        },
    )
    .expect("mlp-sweep preset");
    group(c, "mlp1024x2_1thread", &mlp, &singles, &batch64);
}

criterion_group!(benches, backends);
criterion_main!(benches);
