//! Integrating polled power into energy, shared by the meters that poll power (NVML on boards
//! without the energy counter, hwmon power-only channels).

/// Trapezoid integral of `(seconds, watts)` samples, joules. Fewer than two samples → 0.
/// Samples must be in time order.
pub fn trapezoid_j(samples: &[(f64, f64)]) -> f64 {
    samples
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_on_known_samples() {
        // 100 W for 1 s then a ramp to 200 W over 1 s: 100 + 150 = 250 J
        assert!((trapezoid_j(&[(0.0, 100.0), (1.0, 100.0), (2.0, 200.0)]) - 250.0).abs() < 1e-12);
        assert_eq!(trapezoid_j(&[(0.0, 100.0)]), 0.0);
        assert_eq!(trapezoid_j(&[]), 0.0);
        // samples at the same instant add nothing
        assert_eq!(trapezoid_j(&[(1.0, 5.0), (1.0, 5.0), (3.0, 5.0)]), 10.0);
    }
}
