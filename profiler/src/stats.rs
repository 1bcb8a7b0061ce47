//! Summary statistics of a sample of numbers (latencies, per-window energies).
//!
//! Conventions, stated once for every number the profiler reports:
//! * `std` is the **sample** standard deviation (divides by `n − 1`; 0 for a single value);
//! * percentiles use linear interpolation between the closest ranks (NumPy's default,
//!   `numpy.percentile(..., method="linear")`): for `p` in `[0, 100]` the position in the sorted
//!   values is `p/100 · (n − 1)`.

use serde::{Deserialize, Serialize};

/// Count, mean, sample std, min, p50, p90, p99 and max of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (`n − 1` in the denominator).
    pub std: f64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Summarizes `values`; `None` when empty or when any value is not finite.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite values compare"));
        let n = sorted.len();
        let mean = mean(&sorted);
        Some(Summary {
            n,
            mean,
            std: sample_std(&sorted, mean),
            min: sorted[0],
            p50: percentile_sorted(&sorted, 50.0),
            p90: percentile_sorted(&sorted, 90.0),
            p99: percentile_sorted(&sorted, 99.0),
            max: sorted[n - 1],
        })
    }

    /// Every statistic multiplied by `k` (unit conversion, per-query → per-sample); `k ≥ 0`.
    pub fn scaled(&self, k: f64) -> Summary {
        Summary {
            n: self.n,
            mean: self.mean * k,
            std: self.std * k,
            min: self.min * k,
            p50: self.p50 * k,
            p90: self.p90 * k,
            p99: self.p99 * k,
            max: self.max * k,
        }
    }
}

/// Arithmetic mean; 0 for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Sample standard deviation around `mean` (`n − 1` denominator; 0 when `n < 2`).
pub fn sample_std(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

/// The `p`-th percentile (`0 ≤ p ≤ 100`) of **sorted** values, linear interpolation.
/// Panics on an empty slice (callers check).
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no values");
    let p = p.clamp(0.0, 100.0);
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1..=10], [50, 90, 99]) = [5.5, 9.1, 9.91]
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(percentile_sorted(&v, 50.0), 5.5));
        assert!(close(percentile_sorted(&v, 90.0), 9.1));
        assert!(close(percentile_sorted(&v, 99.0), 9.91));
        assert!(close(percentile_sorted(&v, 0.0), 1.0));
        assert!(close(percentile_sorted(&v, 100.0), 10.0));
        // numpy.percentile([3, 1, 2, 10], 50) = 2.5 (unsorted input goes through Summary)
        let s = Summary::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert!(close(s.p50, 2.5));
        assert!(close(s.p90, 7.9)); // pos 2.7 → 3 + 0.7·7
    }

    #[test]
    fn mean_and_sample_std_on_known_data() {
        // [2,4,4,4,5,5,7,9]: mean 5, population std 2, sample std sqrt(32/7)
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!(close(s.mean, 5.0));
        assert!(close(s.std, (32.0f64 / 7.0).sqrt()));
        assert_eq!((s.min, s.max, s.n), (2.0, 9.0, 8));
    }

    #[test]
    fn single_value_and_bad_input() {
        let s = Summary::of(&[0.25]).unwrap();
        assert_eq!((s.mean, s.std, s.p50, s.p99), (0.25, 0.0, 0.25, 0.25));
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
        let k = Summary::of(&[1.0, 3.0]).unwrap().scaled(0.5);
        assert!(close(k.mean, 1.0) && close(k.max, 1.5));
    }
}
