//! Seeded synthetic inputs, for benchmarking and testing engines without a dataset at hand:
//! digit-like images with MNIST's statistics, and uniform spike trains of a chosen rate. (Rate
//! coding of any images is [`crate::encode::rate_encode`].)

use joulebench_models::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `count` synthetic 28×28 "digits" in `[0, 1]`, `[count, 1, 28, 28]`: three or four thick
/// strokes in the central 20×20 area, bright in the middle and fading at the edge. Their
/// statistics resemble MNIST's (about a fifth of the pixels non-zero, mean intensity about
/// 0.13); [`image_stats`] reports the actual values.
pub fn synthetic_digits(count: usize, seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = vec![0.0f32; count * 784];
    for img in data.chunks_mut(784) {
        let strokes = rng.random_range(3..=4);
        let mut p = (
            rng.random_range(8.0..20.0f32),
            rng.random_range(6.0..12.0f32),
        );
        for _ in 0..strokes {
            let q = (
                rng.random_range(6.0..22.0f32),
                rng.random_range(6.0..22.0f32),
            );
            for y in 0..28 {
                for x in 0..28 {
                    let d = dist_to_segment((x as f32, y as f32), p, q);
                    let v = (1.9 - d).clamp(0.0, 1.0);
                    let px = &mut img[y * 28 + x];
                    *px = px.max(v);
                }
            }
            p = q;
        }
    }
    Tensor {
        shape: vec![count, 1, 28, 28],
        data,
    }
}

fn dist_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// (fraction of non-zero values, mean value) of a tensor of images.
pub fn image_stats(images: &Tensor) -> (f64, f64) {
    let n = images.data.len().max(1) as f64;
    let nz = images.data.iter().filter(|&&v| v != 0.0).count() as f64;
    let mean = images.data.iter().map(|&v| v as f64).sum::<f64>();
    (nz / n, mean / n)
}

/// Spike trains where every input element spikes independently with probability `rate` at each
/// step: `[steps, batch, sample…]`.
pub fn uniform_spikes(
    sample: &[usize],
    steps: usize,
    batch: usize,
    rate: f64,
    seed: u64,
) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = sample.iter().product::<usize>() * batch * steps;
    let data = (0..n)
        .map(|_| if rng.random::<f64>() < rate { 1.0 } else { 0.0 })
        .collect();
    let mut shape = vec![steps, batch];
    shape.extend_from_slice(sample);
    Tensor { shape, data }
}
