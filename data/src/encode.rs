//! Seeded spike encoders: an analog batch `[batch, sample…]` becomes the network's per-step input
//! `[T, batch, sample…]`.
//!
//! Randomness: step `t` draws from its own ChaCha8 stream, `ChaCha8Rng::seed_from_u64(seed)` with
//! `set_stream(t)`, one `u32` per value in row-major order of the batch; a value spikes when that
//! `u32` is below `p · 2³²`. So the spikes depend only on `(seed, batch contents, t)` — not on the
//! number of threads — and steps are encoded in parallel. Callers that encode a dataset batch by
//! batch should derive one seed per batch (e.g. `seed + batch_index`).

use joulebench_models::{Encoding, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{DataError, Result};

/// Parameters of the Poisson encoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoissonParams {
    /// Firing rate, in Hz, of a value of 1.
    pub max_rate_hz: f64,
    /// Length of one time step, in seconds.
    pub dt_s: f64,
}

impl Default for PoissonParams {
    /// 1000 Hz and 1 ms steps: `λ·dt = x`, so `p = 1 − e^(−x)` (0.632 for a white pixel).
    fn default() -> Self {
        PoissonParams {
            max_rate_hz: 1000.0,
            dt_s: 1e-3,
        }
    }
}

/// Encodes `x` (`[batch, sample…]`, already preprocessed) for `steps` time steps:
/// * [`Encoding::Direct`]: the analog values repeated at every step (no clamping);
/// * [`Encoding::Rate`]: as snnTorch's `spikegen.rate`: clamp to `[0, 1]`, then each value spikes
///   (1.0) with probability `p = x` at each step, independently, else 0.0;
/// * [`Encoding::Poisson`]: each value drives a Poisson process of rate `clamp(x, 0, 1) ·
///   max_rate_hz`; a step of length `dt_s` carries a spike (1.0) when at least one event falls in
///   it, i.e. with probability `p = 1 − exp(−x · max_rate_hz · dt_s)`; uses
///   [`PoissonParams::default`].
///
/// Returns `[steps, batch, sample…]`. Errors when `steps` is 0.
pub fn encode(encoding: Encoding, x: &Tensor, steps: usize, seed: u64) -> Result<Tensor> {
    encode_with(encoding, x, steps, seed, PoissonParams::default())
}

/// [`encode`] with explicit Poisson parameters.
pub fn encode_with(
    encoding: Encoding,
    x: &Tensor,
    steps: usize,
    seed: u64,
    poisson: PoissonParams,
) -> Result<Tensor> {
    if steps == 0 {
        return Err(DataError::Invalid(
            "spike encoding needs at least 1 time step".into(),
        ));
    }
    let mut shape = Vec::with_capacity(x.shape.len() + 1);
    shape.push(steps);
    shape.extend_from_slice(&x.shape);
    let n = x.numel();
    let mut out = vec![0.0f32; steps * n];
    match encoding {
        Encoding::Direct => {
            out.par_chunks_mut(n.max(1))
                .for_each(|c| c.copy_from_slice(&x.data));
        }
        Encoding::Rate | Encoding::Poisson => {
            if !(poisson.max_rate_hz.is_finite()
                && poisson.dt_s.is_finite()
                && poisson.max_rate_hz >= 0.0
                && poisson.dt_s >= 0.0)
            {
                return Err(DataError::Invalid(format!(
                    "Poisson encoder needs finite, non-negative rate and dt, got {poisson:?}"
                )));
            }
            let lambda = poisson.max_rate_hz * poisson.dt_s;
            let thresholds: Vec<u64> = x
                .data
                .iter()
                .map(|&v| {
                    // NaN clamps to 0 (never spikes)
                    let x = if v.is_nan() {
                        0.0
                    } else {
                        (v as f64).clamp(0.0, 1.0)
                    };
                    let p = match encoding {
                        Encoding::Rate => x,
                        _ => 1.0 - (-x * lambda).exp(),
                    };
                    (p * 4_294_967_296.0).round() as u64
                })
                .collect();
            if n > 0 {
                out.par_chunks_mut(n).enumerate().for_each(|(t, chunk)| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(t as u64);
                    for (o, &thr) in chunk.iter_mut().zip(&thresholds) {
                        if (rng.next_u32() as u64) < thr {
                            *o = 1.0;
                        }
                    }
                });
            }
        }
    }
    Ok(Tensor { shape, data: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(values: Vec<f32>) -> Tensor {
        Tensor::new(vec![1, values.len()], values).unwrap()
    }

    #[test]
    fn direct_repeats() {
        let x = batch(vec![-1.0, 0.5, 2.0]);
        let e = encode(Encoding::Direct, &x, 3, 0).unwrap();
        assert_eq!(e.shape, vec![3, 1, 3]);
        assert_eq!(&e.data[6..], &[-1.0, 0.5, 2.0]);
    }

    #[test]
    fn rate_matches_probability_and_clamps() {
        // 4 values × 2000 steps; the count of spikes of a value is Binomial(2000, p)
        let x = batch(vec![-0.5, 0.25, 0.8, 3.0]);
        let steps = 2000;
        let e = encode(Encoding::Rate, &x, steps, 7).unwrap();
        assert_eq!(e.shape, vec![steps, 1, 4]);
        assert!(e.data.iter().all(|&v| v == 0.0 || v == 1.0));
        let rate = |i: usize| (0..steps).map(|t| e.data[t * 4 + i]).sum::<f32>() / steps as f32;
        assert_eq!(rate(0), 0.0); // clamped to 0
        assert_eq!(rate(3), 1.0); // clamped to 1
                                  // 5 standard deviations of the binomial mean: sqrt(p(1-p)/2000) ≤ 0.0112
        assert!((rate(1) - 0.25).abs() < 5.0 * 0.0097, "{}", rate(1));
        assert!((rate(2) - 0.8).abs() < 5.0 * 0.0090, "{}", rate(2));
    }

    #[test]
    fn poisson_probability() {
        let x = batch(vec![1.0, 0.5, 0.0]);
        let steps = 4000;
        let e = encode(Encoding::Poisson, &x, steps, 3).unwrap();
        let rate = |i: usize| (0..steps).map(|t| e.data[t * 3 + i]).sum::<f32>() / steps as f32;
        let p1 = 1.0 - (-1.0f32).exp();
        let p5 = 1.0 - (-0.5f32).exp();
        assert!((rate(0) - p1).abs() < 5.0 * 0.0077, "{}", rate(0));
        assert!((rate(1) - p5).abs() < 5.0 * 0.0078, "{}", rate(1));
        assert_eq!(rate(2), 0.0);
        let fast = encode_with(
            Encoding::Poisson,
            &x,
            50,
            3,
            PoissonParams {
                max_rate_hz: 1e6,
                dt_s: 1.0,
            },
        )
        .unwrap();
        assert!(fast.data.chunks(3).all(|c| c[0] == 1.0 && c[1] == 1.0));
    }

    #[test]
    fn seeded_and_steps_independent() {
        let x = batch((0..100).map(|i| i as f32 / 100.0).collect());
        let a = encode(Encoding::Rate, &x, 20, 11).unwrap();
        let b = encode(Encoding::Rate, &x, 20, 11).unwrap();
        let c = encode(Encoding::Rate, &x, 20, 12).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // steps use separate streams: encoding 10 steps gives the first 10 of 20
        let d = encode(Encoding::Rate, &x, 10, 11).unwrap();
        assert_eq!(&a.data[..1000], &d.data[..]);
        // different steps are not copies of each other
        assert_ne!(&a.data[..100], &a.data[100..200]);
        assert!(encode(Encoding::Rate, &x, 0, 1).is_err());
    }
}
