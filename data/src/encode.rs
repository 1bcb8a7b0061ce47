//! Seeded spike encoders: an analog batch `[batch, sample…]` becomes the network's per-step input
//! `[T, batch, sample…]`. The one encoder of the workspace: training batches (CPU), test-set
//! evaluation, profiling inputs and the benchmarks all draw their spikes here.
//!
//! Randomness: value `x` at step `t` spikes (1.0) when a 16-bit uniform random number
//! `r < round(p·2¹⁶)`, so `p` is quantized to 2⁻¹⁶ (exact for 0 and 1). The random numbers come
//! from SplitMix64, one 64-bit draw per four values in row-major order of the batch, one stream
//! per step seeded from `(seed, t)`. So the spikes depend only on `(seed, batch contents, t)` —
//! not on the number of threads — and steps are encoded in parallel (rayon); about 10× faster than
//! libtorch's `bernoulli_` on the CPU. Callers that encode a dataset batch by batch should derive
//! one seed per batch (e.g. `seed + batch_index`).

use joulebench_models::{Encoding, Tensor};
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
    let data = match encoding {
        Encoding::Direct => {
            let n = x.numel();
            let mut out = vec![0.0f32; steps * n];
            out.par_chunks_mut(n.max(1))
                .for_each(|c| c.copy_from_slice(&x.data));
            out
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
            bernoulli(&thresholds(encoding, &x.data, lambda), steps, seed)
        }
    };
    Ok(Tensor { shape, data })
}

/// Rate coding as snnTorch's `spikegen.rate` ([`encode`] with [`Encoding::Rate`]): each value,
/// clamped to `[0, 1]`, spikes (1.0) with that probability at each of `steps` steps.
/// `[batch, sample…]` → `[steps, batch, sample…]` (no step at all for `steps` = 0).
pub fn rate_encode(images: &Tensor, steps: usize, seed: u64) -> Tensor {
    let mut shape = vec![steps];
    shape.extend_from_slice(&images.shape);
    let data = bernoulli(&thresholds(Encoding::Rate, &images.data, 1.0), steps, seed);
    Tensor { shape, data }
}

/// The firing probability of every value, as a 16-bit threshold `round(p·2¹⁶)`:
/// `p = clamp(x, 0, 1)` for rate coding, `p = 1 − exp(−clamp(x, 0, 1)·λ)` for Poisson (`λ` =
/// rate × step length). NaN never spikes.
fn thresholds(encoding: Encoding, x: &[f32], lambda: f64) -> Vec<u32> {
    x.iter()
        .map(|&v| {
            let c = if v.is_nan() {
                0.0
            } else {
                (v as f64).clamp(0.0, 1.0)
            };
            let p = if encoding == Encoding::Poisson {
                1.0 - (-c * lambda).exp()
            } else {
                c
            };
            (p * 65536.0).round() as u32
        })
        .collect()
}

#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `steps × thr.len()` 0/1 values: value `i` spikes at step `t` when the step's 16-bit random
/// number for `i` is below `thr[i]` (see the module docs for the streams).
fn bernoulli(thr: &[u32], steps: usize, seed: u64) -> Vec<f32> {
    let n = thr.len();
    let mut out = vec![0.0f32; steps * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(n).enumerate().for_each(|(t, chunk)| {
        let mut state = seed ^ (t as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let _ = splitmix64(&mut state);
        for (values, thr) in chunk.chunks_mut(4).zip(thr.chunks(4)) {
            let r = splitmix64(&mut state);
            for (k, (o, &th)) in values.iter_mut().zip(thr).enumerate() {
                let r16 = ((r >> (16 * k)) & 0xFFFF) as u32;
                *o = if r16 < th { 1.0 } else { 0.0 };
            }
        }
    });
    out
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
        let nan = encode(Encoding::Rate, &batch(vec![f32::NAN]), 100, 7).unwrap();
        assert!(nan.data.iter().all(|&v| v == 0.0)); // NaN never spikes
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
    fn streams_are_pinned() {
        // the spikes training runs were made with: changing the streams changes every run
        let x = batch((0..10).map(|i| i as f32 / 9.0).collect());
        let bits = |e: &Tensor| -> Vec<String> {
            e.data
                .chunks(10)
                .map(|c| {
                    c.iter()
                        .map(|&v| if v == 1.0 { '1' } else { '0' })
                        .collect()
                })
                .collect()
        };
        let rate = encode(Encoding::Rate, &x, 4, 42).unwrap();
        assert_eq!(
            bits(&rate),
            ["0001011101", "0011001111", "0000100111", "0100111111"]
        );
        assert_eq!(rate_encode(&x, 4, 42), rate);
        let poisson = encode(Encoding::Poisson, &x, 4, 42).unwrap();
        assert_eq!(
            bits(&poisson),
            ["0001011101", "0001001111", "0000100111", "0100111000"]
        );
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
