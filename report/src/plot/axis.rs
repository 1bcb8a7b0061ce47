//! An axis: its label (with unit) and whether it is logarithmic.

use std::ops::Range;

/// A linear or log10 axis. Values are mapped with [`Axis::map`] before plotting; tick
/// labels show the original values ([`Axis::tick`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Description with unit, e.g. `latency per inference (µs)`.
    pub label: String,
    pub log: bool,
    /// Force the range to include zero (linear axes only).
    pub include_zero: bool,
    /// Fixed range in value space (overrides the data range).
    pub fixed: Option<(f64, f64)>,
    /// Only integer ticks are labelled (epochs, depths).
    pub integer: bool,
}

impl Axis {
    pub fn linear(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            log: false,
            include_zero: false,
            fixed: None,
            integer: false,
        }
    }

    pub fn log(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            log: true,
            include_zero: false,
            fixed: None,
            integer: false,
        }
    }

    /// Log when the positive values span more than a factor 30, linear otherwise.
    pub fn auto(label: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Self {
        let (lo, hi) = values
            .into_iter()
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if hi > 0.0 && hi / lo > 30.0 {
            Axis::log(label)
        } else {
            Axis::linear(label).zero()
        }
    }

    pub fn zero(mut self) -> Self {
        self.include_zero = true;
        self
    }

    /// Label only integer ticks.
    pub fn integer(mut self) -> Self {
        self.integer = true;
        self
    }

    pub fn fixed(mut self, lo: f64, hi: f64) -> Self {
        self.fixed = Some((lo, hi));
        self
    }

    /// Plot coordinate of a value (`None` when a log axis gets a value ≤ 0 or a value is not finite).
    pub fn map(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    /// Plot-coordinate range covering `values` with a margin.
    pub fn range(&self, values: impl IntoIterator<Item = f64>) -> Range<f64> {
        if let Some((lo, hi)) = self.fixed {
            let (a, b) = (self.map(lo).unwrap_or(0.0), self.map(hi).unwrap_or(1.0));
            return a..b;
        }
        let mapped: Vec<f64> = values.into_iter().filter_map(|v| self.map(v)).collect();
        let (mut lo, mut hi) = mapped
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if !lo.is_finite() {
            return if self.log { -1.0..1.0 } else { 0.0..1.0 };
        }
        if self.include_zero && !self.log {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if self.log {
            // Whole decades around the data, so ticks land on powers of ten.
            let a = lo.floor();
            let b = hi.ceil();
            return if b - a < 1.0 { a..a + 1.0 } else { a..b };
        }
        let span = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
        let pad = span * 0.06;
        let lo2 = if self.include_zero && lo >= 0.0 {
            lo
        } else {
            lo - pad
        };
        lo2..hi + pad
    }

    /// Suggested number of tick labels for a plot-coordinate range.
    pub fn ticks(&self, r: &Range<f64>) -> usize {
        if self.log {
            ((r.end - r.start).round() as usize + 1).clamp(2, 12)
        } else {
            8
        }
    }

    /// Tick label of plot coordinate `t`.
    pub fn tick(&self, t: f64) -> String {
        if self.integer && !self.log && (t - t.round()).abs() > 1e-9 {
            return String::new();
        }
        if self.log {
            let k = t.round();
            if (t - k).abs() < 1e-9 {
                return pow10(k as i32);
            }
            fmt_num(10f64.powf(t))
        } else {
            fmt_num(t)
        }
    }
}

/// `10^k` as a short label: plain digits for |k| ≤ 3, else `10⁻⁶` style.
pub fn pow10(k: i32) -> String {
    match k {
        -3 => "0.001".into(),
        -2 => "0.01".into(),
        -1 => "0.1".into(),
        0 => "1".into(),
        1 => "10".into(),
        2 => "100".into(),
        3 => "1000".into(),
        _ => {
            const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
            let mut s = String::from("10");
            if k < 0 {
                s.push('⁻');
            }
            for d in k.unsigned_abs().to_string().chars() {
                s.push(SUP[d.to_digit(10).unwrap_or(0) as usize]);
            }
            s
        }
    }
}

/// A number in at most about four significant digits, without trailing zeros; SI suffixes
/// (k, M, G, T) from 10 000 up; scientific below 0.001.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a >= 1e4 {
        for (div, suf) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
            if a >= div {
                return format!("{}{suf}", trim(format!("{:.3}", v / div)));
            }
        }
    }
    if a < 1e-3 {
        return format!("{v:.2e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    trim(format!("{v:.decimals$}"))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(97.1234), "97.12");
        assert_eq!(fmt_num(1_861_632.0), "1.862M");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(pow10(-6), "10⁻⁶");
        assert_eq!(pow10(12), "10¹²");
    }

    #[test]
    fn auto_axis_goes_log_over_decades() {
        assert!(Axis::auto("x", [1.0, 1000.0]).log);
        assert!(!Axis::auto("x", [1.0, 20.0]).log);
        let a = Axis::log("x");
        assert_eq!(a.range([3.0, 4000.0]), 0.0..4.0);
        assert_eq!(a.map(-1.0), None);
    }
}
