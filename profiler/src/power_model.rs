//! The CPU power model: dynamic package power (above idle) drawn when `K` logical CPUs are busy.
//!
//! Real packages are strongly concave in load (the first busy thread wakes the uncore and runs at
//! the highest boost clock; later threads share a power budget), so a linear "TDP × utilisation"
//! model is worst exactly where a batch-1 inference on one thread runs. The curve here is a
//! saturating exponential in the busy fraction `u = K / logical CPUs`:
//!
//! `P(K) = P_max · (1 − e^(−u/s)) / (1 − e^(−1/s))`, with `P_max` the dynamic power at full load
//! and `s` the shape (small `s`: the package saturates early).
//!
//! From spec-sheet facts, `P_max = saturation × TDP × sockets`. The shape and saturation were fitted
//! on measured RAPL profiles of two real machines (AMD EPYC 8024P, 2× Intel Xeon E5-2620 v3; the
//! `cpu-power` data set, see docs/measurements.md). The two machines differ a lot at low load
//! (first busy thread 18 W on the EPYC, 8 W on the Xeon), so the shipped model gives the
//! [`CENTRAL`] curve (fitted to both, minimising the worse machine's median error) with a band from
//! the curves fitted to each machine alone ([`PER_MACHINE`]). The test
//! `power_model_fits_the_shared_profiles` refits all three from the data and checks these
//! constants.

use serde::{Deserialize, Serialize};

/// Facts about a CPU from its spec sheet (whole machine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSpec {
    /// `/proc/cpuinfo` model name (or what the user named).
    pub model: String,
    /// Vendor TDP of one socket, watts.
    pub tdp_w_per_socket: f64,
    pub sockets: u32,
    /// Physical cores of the whole machine.
    pub cores: u32,
    /// Logical CPUs (hardware threads) of the whole machine.
    pub logical_cpus: u32,
    /// Where the facts come from (spec table row and its source, command line, /proc/cpuinfo).
    pub source: String,
}

impl CpuSpec {
    pub fn tdp_total_w(&self) -> f64 {
        self.tdp_w_per_socket * f64::from(self.sockets.max(1))
    }
}

/// The curve's two numbers, relative to the spec: `P_max = saturation × TDP total`, shape `s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Dynamic power at full load as a fraction of the machine's total TDP.
    pub saturation: f64,
    /// Busy fraction at which the curve reaches 63 % of its rise (before normalisation).
    pub scale: f64,
}

/// Fitted to both shared profiles, minimising the larger of the two machines' median relative
/// errors (grid: saturation 0.200…1.000 step 0.005, scale 0.020…2.000 step 0.005).
pub const CENTRAL: Shape = Shape {
    saturation: 0.505,
    scale: 0.275,
};

/// Fitted to each shared profile alone (median relative error); their spread is the model's band.
pub const PER_MACHINE: [(&str, Shape); 2] = [
    (
        "AMD EPYC 8024P 8-Core Processor",
        Shape {
            saturation: 0.56,
            scale: 0.145,
        },
    ),
    (
        "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz",
        Shape {
            saturation: 0.46,
            scale: 0.395,
        },
    ),
];

/// The normalised curve: 0 at `u = 0`, 1 at `u = 1`, concave; `u` is clamped to [0, 1].
pub fn curve(u: f64, scale: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    let s = scale.max(1e-6);
    (1.0 - (-u / s).exp()) / (1.0 - (-1.0 / s).exp())
}

/// Dynamic package power of `spec` with `shape` at `busy` busy logical CPUs, watts.
pub fn spec_watts(spec: &CpuSpec, shape: Shape, busy: f64) -> f64 {
    let n = f64::from(spec.logical_cpus.max(1));
    shape.saturation * spec.tdp_total_w() * curve(busy / n, shape.scale)
}

/// Power at one load: central value, band, and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerAt {
    /// Busy logical CPUs the power is for.
    pub busy: f64,
    /// Dynamic power (above idle), watts.
    pub watts: f64,
    pub low: f64,
    pub high: f64,
    pub method: String,
}

/// The spec-sheet model at `busy`: [`CENTRAL`] with the [`PER_MACHINE`] curves as the band.
pub fn spec_model(spec: &CpuSpec, busy: f64) -> PowerAt {
    let central = spec_watts(spec, CENTRAL, busy);
    let others = PER_MACHINE.iter().map(|(_, s)| spec_watts(spec, *s, busy));
    let (low, high) = others.fold((central, central), |(l, h), w| (l.min(w), h.max(w)));
    PowerAt {
        busy,
        watts: central,
        low,
        high,
        method: format!(
            "spec-sheet power model: {:.0} W TDP × {} socket(s), {} cores / {} logical CPUs ({}); \
             P = {:.3}·TDP·(1−e^(−u/{:.3}))/(1−e^(−1/{:.3})), u = busy/logical; band: the curves \
             fitted to the EPYC 8024P and Xeon E5-2620 v3 RAPL profiles",
            spec.tdp_w_per_socket,
            spec.sockets,
            spec.cores,
            spec.logical_cpus,
            spec.source,
            CENTRAL.saturation,
            CENTRAL.scale,
            CENTRAL.scale
        ),
    }
}

/// One measured point of a power profile: the machine, busy logical CPUs, dynamic watts.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePoint {
    pub spec: CpuSpec,
    pub busy: f64,
    pub watts: f64,
}

/// Median of `|predicted − measured| / measured` over `points` (points with 0 W are skipped).
pub fn median_relative_error(
    points: &[ProfilePoint],
    predict: impl Fn(&ProfilePoint) -> f64,
) -> f64 {
    let mut e: Vec<f64> = points
        .iter()
        .filter(|p| p.watts > 0.0)
        .map(|p| ((predict(p) - p.watts) / p.watts).abs())
        .filter(|e| e.is_finite())
        .collect();
    median(&mut e)
}

pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn grid(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let n = ((hi - lo) / step).round() as usize;
    (0..=n).map(move |i| ((lo + i as f64 * step) * 1e6).round() / 1e6)
}

/// Fits a [`Shape`] to groups of points (one group per machine), minimising the largest of the
/// groups' median relative errors on the fixed grid documented at [`CENTRAL`]. With one group this
/// is the plain median-error fit. Returns the shape and the per-group median errors.
/// Deterministic: ties keep the first grid point.
pub fn fit_shape(groups: &[&[ProfilePoint]]) -> (Shape, Vec<f64>) {
    let mut best: Option<(f64, Shape)> = None;
    for saturation in grid(0.2, 1.0, 0.005) {
        for scale in grid(0.02, 2.0, 0.005) {
            let shape = Shape { saturation, scale };
            let worst = groups
                .iter()
                .map(|g| median_relative_error(g, |p| spec_watts(&p.spec, shape, p.busy)))
                .fold(0.0, f64::max);
            if best.is_none_or(|(b, _)| worst < b) {
                best = Some((worst, shape));
            }
        }
    }
    let shape = best.map(|(_, s)| s).unwrap_or(CENTRAL);
    let errors = groups
        .iter()
        .map(|g| median_relative_error(g, |p| spec_watts(&p.spec, shape, p.busy)))
        .collect();
    (shape, errors)
}

/// A curve fitted to one machine's own measurements (calibration): `P_max` in watts and the
/// shape, no spec sheet needed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FittedCurve {
    pub pmax_w: f64,
    pub scale: f64,
    /// Logical CPUs the busy fraction is taken over.
    pub logical_cpus: u32,
}

impl FittedCurve {
    pub fn watts(&self, busy: f64) -> f64 {
        self.pmax_w * curve(busy / f64::from(self.logical_cpus.max(1)), self.scale)
    }
}

/// Least-squares fit (in relative error) of a [`FittedCurve`] to `(busy, dynamic watts)` points:
/// grid over the shape, closed-form `P_max` for each. Returns the curve and its median relative
/// error over the points. `None` without a point above 0 W.
pub fn fit_curve(points: &[(f64, f64)], logical_cpus: u32) -> Option<(FittedCurve, f64)> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(k, w)| *k > 0.0 && *w > 0.0 && w.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }
    let n = f64::from(logical_cpus.max(1));
    let mut best: Option<(f64, FittedCurve)> = None;
    for scale in grid(0.01, 3.0, 0.005) {
        // minimise Σ ((pmax·f − y)/y)²  →  pmax = Σ(f/y) / Σ(f²/y²)
        let (a, b) = pts.iter().fold((0.0, 0.0), |(a, b), (k, y)| {
            let f = curve(k / n, scale);
            (a + f / y, b + f * f / (y * y))
        });
        if b <= 0.0 {
            continue;
        }
        let c = FittedCurve {
            pmax_w: a / b,
            scale,
            logical_cpus: logical_cpus.max(1),
        };
        let sse: f64 = pts
            .iter()
            .map(|(k, y)| ((c.watts(*k) - y) / y).powi(2))
            .sum();
        if best.is_none_or(|(s, _)| sse < s) {
            best = Some((sse, c));
        }
    }
    let (_, c) = best?;
    let mut e: Vec<f64> = pts
        .iter()
        .map(|(k, y)| ((c.watts(*k) - y) / y).abs())
        .collect();
    Some((c, median(&mut e)))
}

/// Reads power profiles in the `cpu-power` CSV layout (header with `cpu`, `sockets`, `cores`,
/// `logical_cpus`, `tdp_w_per_socket`, `load_type`, `busy_logical_cpus`, `rapl_package_w`):
/// the `some_cores` rows with at least one busy CPU, dynamic watts = reading − the same machine's
/// 0-busy reading. Errors name the line and the problem.
pub fn parse_profiles_csv(text: &str) -> Result<Vec<ProfilePoint>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("empty file")?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or(format!("no `{name}` column in the header"))
    };
    let (c_cpu, c_sock, c_cores, c_log, c_tdp, c_type, c_busy, c_w) = (
        col("cpu")?,
        col("sockets")?,
        col("cores")?,
        col("logical_cpus")?,
        col("tdp_w_per_socket")?,
        col("load_type")?,
        col("busy_logical_cpus")?,
        col("rapl_package_w")?,
    );
    let mut raw: Vec<(CpuSpec, f64, f64)> = vec![];
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: usize| {
            f.get(c)
                .copied()
                .ok_or(format!("line {}: too few fields", i + 1))
        };
        if get(c_type)? != "some_cores" {
            continue;
        }
        let num = |c: usize| -> Result<f64, String> {
            let s = get(c)?;
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or(format!(
                    "line {}: `{s}` is not a non-negative number",
                    i + 1
                ))
        };
        let spec = CpuSpec {
            model: get(c_cpu)?.to_string(),
            tdp_w_per_socket: num(c_tdp)?,
            sockets: num(c_sock)? as u32,
            cores: num(c_cores)? as u32,
            logical_cpus: num(c_log)? as u32,
            source: "power profile CSV".into(),
        };
        raw.push((spec, num(c_busy)?, num(c_w)?));
    }
    let mut out = vec![];
    for (spec, busy, w) in &raw {
        if *busy == 0.0 {
            continue;
        }
        let idle = raw
            .iter()
            .find(|(s, b, _)| s.model == spec.model && *b == 0.0)
            .map(|(_, _, w)| *w)
            .ok_or(format!("{}: no 0-busy (idle) row", spec.model))?;
        out.push(ProfilePoint {
            spec: spec.clone(),
            busy: *busy,
            watts: (w - idle).max(0.0),
        });
    }
    if out.is_empty() {
        return Err("no `some_cores` rows with busy CPUs".into());
    }
    Ok(out)
}

/// The points of `points` grouped by CPU model, in order of first appearance.
pub fn group_by_cpu(points: &[ProfilePoint]) -> Vec<(String, Vec<ProfilePoint>)> {
    let mut groups: Vec<(String, Vec<ProfilePoint>)> = vec![];
    for p in points {
        match groups.iter_mut().find(|(m, _)| *m == p.spec.model) {
            Some((_, g)) => g.push(p.clone()),
            None => groups.push((p.spec.model.clone(), vec![p.clone()])),
        }
    }
    groups
}

/// How the spec-sheet model does on one machine's measured profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub cpu: String,
    pub points: usize,
    /// Median relative error of the central curve.
    pub median_error: f64,
    /// Largest relative error of the central curve.
    pub max_error: f64,
    /// Points inside the model's band (±5 %).
    pub in_band: usize,
    /// Median relative error of the linear `TDP × busy/logical` model, for comparison.
    pub linear_median_error: f64,
}

/// The spec-sheet model against measured profiles (see [`parse_profiles_csv`]), per machine.
pub fn validate(points: &[ProfilePoint]) -> Vec<Validation> {
    group_by_cpu(points)
        .into_iter()
        .map(|(cpu, pts)| {
            let central = |p: &ProfilePoint| spec_watts(&p.spec, CENTRAL, p.busy);
            let mut errs: Vec<f64> = pts
                .iter()
                .filter(|p| p.watts > 0.0)
                .map(|p| ((central(p) - p.watts) / p.watts).abs())
                .collect();
            let max_error = errs.iter().copied().fold(0.0, f64::max);
            let in_band = pts
                .iter()
                .filter(|p| {
                    let m = spec_model(&p.spec, p.busy);
                    m.low * 0.95 <= p.watts && p.watts <= m.high * 1.05
                })
                .count();
            let linear_median_error = median_relative_error(&pts, |p| {
                p.spec.tdp_total_w() * p.busy / f64::from(p.spec.logical_cpus.max(1))
            });
            Validation {
                cpu,
                points: pts.len(),
                median_error: median(&mut errs),
                max_error,
                in_band,
                linear_median_error,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tdp: f64, sockets: u32, cores: u32, logical: u32) -> CpuSpec {
        CpuSpec {
            model: "test".into(),
            tdp_w_per_socket: tdp,
            sockets,
            cores,
            logical_cpus: logical,
            source: "test".into(),
        }
    }

    #[test]
    fn curve_is_zero_at_idle_full_at_load_and_concave() {
        for s in [0.05, 0.26, 1.0, 3.0] {
            assert_eq!(curve(0.0, s), 0.0);
            assert!((curve(1.0, s) - 1.0).abs() < 1e-12);
            // concave: the first half of the load costs more than the second
            assert!(curve(0.5, s) > 0.5, "scale {s}");
            // clamped beyond the machine
            assert_eq!(curve(2.0, s), curve(1.0, s));
        }
    }

    #[test]
    fn spec_model_band_contains_the_central_value_and_scales_with_tdp() {
        let a = spec(90.0, 1, 8, 16);
        let p = spec_model(&a, 1.0);
        assert!(p.low <= p.watts && p.watts <= p.high && p.low < p.high);
        // first busy thread of an 8-core 90 W part: central saturation·90·curve(1/16, scale)
        let want = CENTRAL.saturation * 90.0 * curve(1.0 / 16.0, CENTRAL.scale);
        assert!((p.watts - want).abs() < 1e-9);
        let b = spec(180.0, 1, 8, 16);
        assert!((spec_model(&b, 1.0).watts - 2.0 * p.watts).abs() < 1e-9);
        // two sockets double the budget
        let c = spec(90.0, 2, 16, 32);
        assert!((spec_watts(&c, CENTRAL, 32.0) - CENTRAL.saturation * 180.0).abs() < 1e-9);
    }

    #[test]
    fn fit_curve_recovers_a_known_curve() {
        let truth = FittedCurve {
            pmax_w: 40.0,
            scale: 0.2,
            logical_cpus: 8,
        };
        let pts: Vec<(f64, f64)> = (1..=8).map(|k| (k as f64, truth.watts(k as f64))).collect();
        let (c, err) = fit_curve(&pts, 8).unwrap();
        assert!((c.scale - 0.2).abs() < 1e-9, "{c:?}");
        assert!((c.pmax_w - 40.0).abs() < 1e-6, "{c:?}");
        assert!(err < 1e-9);
        assert!(fit_curve(&[(0.0, 0.0)], 8).is_none());
    }

    #[test]
    fn profiles_csv_errors_name_the_problem() {
        assert!(parse_profiles_csv("").is_err());
        let e = parse_profiles_csv("cpu,sockets\nx,1\n").unwrap_err();
        assert!(e.contains("cores"), "{e}");
        let head = "cpu,sockets,cores,logical_cpus,tdp_w_per_socket,load_type,busy_logical_cpus,rapl_package_w\n";
        let e = parse_profiles_csv(&format!("{head}x,1,2,4,15,some_cores,1,NaN\n")).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = parse_profiles_csv(&format!("{head}x,1,2,4,15,some_cores,1,5\n")).unwrap_err();
        assert!(e.contains("idle"), "{e}");
        let ok = parse_profiles_csv(&format!(
            "{head}x,1,2,4,15,some_cores,0,0.5\nx,1,2,4,15,some_cores,2,8.5\nx,1,2,4,15,all_cores,,9\n"
        ))
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!((ok[0].busy, ok[0].watts), (2.0, 8.0));
    }
}
