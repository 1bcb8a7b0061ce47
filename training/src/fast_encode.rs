//! A fast seeded Bernoulli spike encoder for training batches on the CPU.
//!
//! Value `x` at step `t` spikes (1.0) when a 16-bit uniform random number `r < round(p·2¹⁶)`,
//! `p = clamp(x, 0, 1)` (rate) or `p = 1 − exp(−clamp(x, 0, 1))` (Poisson, 1000 Hz × 1 ms as in
//! the data crate); so `p` is quantized to 2⁻¹⁶ (exact for 0 and 1). Random numbers come from
//! SplitMix64, one 64-bit draw per four values, one stream per step seeded from
//! `(seed, t)`; steps are filled in parallel (rayon), results do not depend on the thread count.
//! About 10× faster than libtorch's `bernoulli_` on the CPU; used for training only (test-set
//! spikes come from `joulebench_data::encode`).

use joulebench_models::Encoding;
use rayon::prelude::*;

#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Encodes `x` (one batch, any layout, `n` values) for `steps` steps into `[steps, n]` 0/1 floats.
pub fn encode_bernoulli(encoding: Encoding, x: &[f32], steps: usize, seed: u64) -> Vec<f32> {
    let n = x.len();
    let thr: Vec<u32> = x
        .iter()
        .map(|&v| {
            let c = if v.is_nan() {
                0.0
            } else {
                (v as f64).clamp(0.0, 1.0)
            };
            let p = if encoding == Encoding::Poisson {
                1.0 - (-c).exp()
            } else {
                c
            };
            (p * 65536.0).round() as u32
        })
        .collect();
    let mut out = vec![0.0f32; steps * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(n).enumerate().for_each(|(t, chunk)| {
        let mut state = seed ^ (t as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let _ = splitmix64(&mut state);
        let mut i = 0;
        while i < n {
            let r = splitmix64(&mut state);
            for k in 0..4 {
                if i + k < n {
                    let r16 = ((r >> (16 * k)) & 0xFFFF) as u32;
                    chunk[i + k] = if r16 < thr[i + k] { 1.0 } else { 0.0 };
                }
            }
            i += 4;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_clamping() {
        let x = [-1.0f32, 0.0, 0.25, 0.5, 1.0, 3.0, f32::NAN];
        let steps = 20000;
        let e = encode_bernoulli(Encoding::Rate, &x, steps, 9);
        let rate = |i: usize| (0..steps).map(|t| e[t * x.len() + i]).sum::<f32>() / steps as f32;
        assert_eq!(rate(0), 0.0);
        assert_eq!(rate(1), 0.0);
        assert_eq!(rate(4), 1.0);
        assert_eq!(rate(5), 1.0);
        assert_eq!(rate(6), 0.0);
        // 5 binomial standard deviations (≤ 0.0036 each)
        assert!((rate(2) - 0.25).abs() < 0.018, "{}", rate(2));
        assert!((rate(3) - 0.5).abs() < 0.018, "{}", rate(3));
        assert_eq!(e, encode_bernoulli(Encoding::Rate, &x, steps, 9));
        assert_ne!(e, encode_bernoulli(Encoding::Rate, &x, steps, 10));
        let p = encode_bernoulli(Encoding::Poisson, &[1.0], 20000, 1);
        let r = p.iter().sum::<f32>() / 20000.0;
        assert!((r - (1.0 - (-1.0f32).exp())).abs() < 0.02, "{r}");
    }
}
