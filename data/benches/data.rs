//! Data-path benchmarks: MNIST-1D generation (reference arguments, 5000 samples), rate encoding of
//! an MNIST-sized batch, and the 28→8 area resize.
//!
//! `cargo bench -p joulebench-data --bench data`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use joulebench_data::{encode, mnist1d, resize_area, Mnist1dArgs};
use joulebench_models::{Encoding, Tensor};

fn bench(c: &mut Criterion) {
    let args = Mnist1dArgs::default();
    c.bench_function("mnist1d_generate_5000", |b| {
        b.iter(|| mnist1d::generate(&args).unwrap())
    });

    let batch = Tensor::new(
        vec![100, 1, 28, 28],
        (0..100 * 784)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect(),
    )
    .unwrap();
    let mut g = c.benchmark_group("encode_rate");
    g.throughput(Throughput::Elements((100 * 784 * 100) as u64));
    g.bench_function("batch100_T100", |b| {
        b.iter(|| encode(Encoding::Rate, &batch, 100, 1).unwrap())
    });
    g.finish();

    c.bench_function("resize_area_28_to_8_batch100", |b| {
        b.iter(|| resize_area(&batch.data, 28, 28, 8, 8))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
