//! Calibration of this machine's CPU power curve against a real energy counter
//! (`joulebench meters calibrate`).
//!
//! For `k = 0, 1, …, max_busy` busy logical CPUs ([`BusyLoad`], in practice [`SpinLoad`]: `k`
//! threads spinning on an integer/float kernel) the package power is measured over one meter
//! window after a settling pause. Level 0 is the idle power; the *dynamic* power of level `k` is
//! its package power minus idle. The measured points are kept (the modelled energy interpolates
//! them, [`Calibration::watts_at`]) and a [`FittedCurve`] is fitted to them
//! ([`power_model::fit_curve`]) with its median and largest relative error, so how well the
//! spec-sheet curve's shape describes this machine is on record.
//!
//! A calibration is saved as JSON in the user's config directory ([`calibration_dir`]), one file
//! per CPU model ([`calibration_path`]), written atomically; [`load_calibration`] reads it back
//! and rejects a garbled, truncated or implausible file with an error naming the file.

use std::ffi::OsString;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::ProfileError;
use crate::meter::EnergyMeter;
use crate::power_model::{self, FittedCurve};

/// Version of the calibration file layout; files of another version are refused.
pub const CALIBRATION_SCHEMA_VERSION: u32 = 1;

/// Something that keeps `k` logical CPUs busy.
pub trait BusyLoad {
    /// Keeps exactly `k` CPUs busy from now on (0: none).
    fn set_busy(&mut self, k: usize);
}

/// Iterations of the spin kernel between two looks at the stop flag (a few µs of work).
const SPIN_BLOCK: u64 = 4096;

/// The spin kernel: an integer LCG and a float recurrence, kept alive with `black_box`, until
/// `stop` is set.
fn spin(stop: &AtomicBool) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut f: f64 = 1.0;
    while !stop.load(Ordering::Relaxed) {
        for i in 0..SPIN_BLOCK {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
            // converges to 1e4: never overflows, never denormal
            f = black_box(f * 0.999_999_9 + 1e-3);
        }
    }
    black_box((x, f));
}

struct Worker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// Decrements the live-thread count when a worker ends, however it ends.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A [`BusyLoad`] of real threads spinning on a fixed arithmetic kernel. Lowering the level stops
/// and joins the surplus threads (each has its own stop flag, checked every few thousand
/// iterations); `set_busy(0)` and drop leave no thread behind.
#[derive(Default)]
pub struct SpinLoad {
    workers: Vec<Worker>,
    live: Arc<AtomicUsize>,
}

impl SpinLoad {
    pub fn new() -> Self {
        Self::default()
    }

    /// Threads asked to spin now.
    pub fn busy(&self) -> usize {
        self.workers.len()
    }

    /// Spin threads of this load that are still running (started and not yet returned).
    pub fn live_threads(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    fn stop_all_above(&mut self, k: usize) {
        let surplus: Vec<Worker> = self.workers.drain(k.min(self.workers.len())..).collect();
        for w in &surplus {
            w.stop.store(true, Ordering::Relaxed);
        }
        for w in surplus {
            // a spin thread cannot panic short of a bug; nothing to report to the caller then
            let _ = w.handle.join();
        }
    }
}

impl BusyLoad for SpinLoad {
    fn set_busy(&mut self, k: usize) {
        self.stop_all_above(k);
        while self.workers.len() < k {
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            self.live.fetch_add(1, Ordering::SeqCst);
            let guard = LiveGuard(self.live.clone());
            let handle = std::thread::Builder::new()
                .name(format!("jb-spin-{}", self.workers.len()))
                .spawn(move || {
                    let _guard = guard;
                    spin(&flag);
                })
                .expect("the OS refused to start a spin thread");
            self.workers.push(Worker { stop, handle });
        }
    }
}

impl Drop for SpinLoad {
    fn drop(&mut self) {
        self.stop_all_above(0);
    }
}

/// How a calibration measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationConfig {
    /// Meter window per level, seconds.
    pub window_seconds: f64,
    /// Pause after changing the load before the window starts, seconds.
    pub settle_seconds: f64,
    /// Highest number of busy logical CPUs measured (default: all visible logical CPUs).
    pub max_busy: Option<usize>,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        CalibrationConfig {
            window_seconds: 3.0,
            settle_seconds: 0.5,
            max_busy: None,
        }
    }
}

/// One measured level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPoint {
    /// Busy logical CPUs.
    pub busy: usize,
    /// Power of the meter's summed domains over the window, watts.
    pub package_w: f64,
    /// `package_w` − idle, watts (0 where the level read below idle).
    pub dynamic_w: f64,
    /// Window length, seconds.
    pub seconds: f64,
}

/// One machine's measured CPU power curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub schema_version: u32,
    pub cpu_model: String,
    pub logical_cpus: u32,
    /// UTC, ISO 8601.
    pub created: String,
    /// The meter's name (`rapl`).
    pub meter: String,
    /// The domains summed into the package power.
    pub domains: Vec<String>,
    pub window_seconds: f64,
    /// Power of the summed domains with nothing of ours busy, watts.
    pub idle_w: f64,
    /// Every level, idle (busy 0) first, in increasing `busy`.
    pub points: Vec<CalibrationPoint>,
    /// The saturating curve fitted to the busy levels.
    pub curve: FittedCurve,
    /// Median of |curve − measured| / measured over the busy levels.
    pub fit_median_error: f64,
    /// Largest of the same.
    pub fit_max_error: f64,
    /// What happened that a reader should know (levels below idle, levels not measured…).
    pub notes: Vec<String>,
}

impl Calibration {
    /// Dynamic watts at `busy` busy logical CPUs: linear interpolation between the measured
    /// levels, with (0, 0) first; beyond the last measured level, that level's value (a process
    /// cannot keep more CPUs busy than the machine shows).
    pub fn watts_at(&self, busy: f64) -> f64 {
        let mut prev = (0.0_f64, 0.0_f64);
        if busy.is_nan() || busy <= 0.0 {
            return 0.0;
        }
        for p in self.points.iter().filter(|p| p.busy > 0) {
            let (k, w) = (p.busy as f64, p.dynamic_w);
            if busy <= k {
                if k <= prev.0 {
                    return w;
                }
                return prev.1 + (w - prev.1) * (busy - prev.0) / (k - prev.0);
            }
            prev = (k, w);
        }
        prev.1
    }

    /// Busy levels measured (idle not counted).
    pub fn busy_levels(&self) -> usize {
        self.points.iter().filter(|p| p.busy > 0).count()
    }

    /// One line for tables and an energy figure's method.
    pub fn method(&self) -> String {
        format!(
            "calibration of {} on {} with {} ({}): idle {:.1} W, {} levels, fit median error {:.1} %",
            self.cpu_model,
            self.created,
            self.meter,
            self.domains.join(" + "),
            self.idle_w,
            self.busy_levels(),
            self.fit_median_error * 100.0
        )
    }

    /// Writes the calibration to [`calibration_path`]`(dir, cpu_model)` atomically (temp file and
    /// rename), creating `dir`. Returns the path written.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, ProfileError> {
        std::fs::create_dir_all(dir).map_err(|e| ProfileError::Calibration {
            path: dir.to_path_buf(),
            what: format!("cannot create the calibration folder: {e}"),
        })?;
        let path = calibration_path(dir, &self.cpu_model);
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| ProfileError::Calibration {
            path: path.clone(),
            what: format!("cannot encode the calibration: {e}"),
        })?;
        bytes.push(b'\n');
        joulebench_models::write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Why this calibration cannot be used, if it cannot.
    fn problem(&self, cpu_model: &str) -> Option<String> {
        if self.schema_version != CALIBRATION_SCHEMA_VERSION {
            return Some(format!(
                "calibration schema version {}, this joulebench reads version {}; run \
                 `joulebench meters calibrate` again",
                self.schema_version, CALIBRATION_SCHEMA_VERSION
            ));
        }
        if cpu_slug(&self.cpu_model) != cpu_slug(cpu_model) {
            return Some(format!(
                "calibration of CPU `{}`, not of this CPU `{cpu_model}`",
                self.cpu_model
            ));
        }
        let bad = |name: &str, v: f64| {
            (!(v.is_finite() && v >= 0.0))
                .then(|| format!("{name} is {v}, not a finite number ≥ 0"))
        };
        let mut checks = vec![
            bad("window_seconds", self.window_seconds),
            bad("idle_w", self.idle_w),
            bad("curve.pmax_w", self.curve.pmax_w),
            bad("curve.scale", self.curve.scale),
            bad("fit_median_error", self.fit_median_error),
            bad("fit_max_error", self.fit_max_error),
        ];
        for (i, p) in self.points.iter().enumerate() {
            checks.push(bad(&format!("points[{i}].package_w"), p.package_w));
            checks.push(bad(&format!("points[{i}].dynamic_w"), p.dynamic_w));
            checks.push(bad(&format!("points[{i}].seconds"), p.seconds));
        }
        if let Some(p) = checks.into_iter().flatten().next() {
            return Some(p);
        }
        if self.busy_levels() == 0 {
            return Some("no busy level measured".into());
        }
        if self.points.windows(2).any(|w| w[1].busy <= w[0].busy) {
            return Some("levels are not in increasing order of busy CPUs".into());
        }
        None
    }
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let s = 10f64.powi(decimals);
    let r = (x * s).round() / s;
    if r.is_finite() {
        r
    } else {
        x
    }
}

/// Measures the power curve: for `k = 0..=max_busy`, sets the load, settles, and reads one meter
/// window; idle = level 0; then stops the load (also on error) and fits the curve. `on_level` sees
/// each level as it is measured. Stored numbers are rounded (µW, ns, 1e-9 for errors) so they
/// survive a JSON round trip exactly.
pub fn calibrate<C: Clock>(
    clock: &C,
    meter: &mut dyn EnergyMeter,
    load: &mut dyn BusyLoad,
    cfg: &CalibrationConfig,
    cpu_model: &str,
    logical_cpus: u32,
    on_level: &mut dyn FnMut(&CalibrationPoint),
) -> Result<Calibration, ProfileError> {
    let config = |m: String| Err(ProfileError::Config(m));
    if !(cfg.window_seconds.is_finite() && cfg.window_seconds > 0.0) {
        return config(format!(
            "calibration window must be a positive number of seconds, got {}",
            cfg.window_seconds
        ));
    }
    if !(cfg.settle_seconds.is_finite() && cfg.settle_seconds >= 0.0) {
        return config(format!(
            "calibration settle time must be a number of seconds ≥ 0, got {}",
            cfg.settle_seconds
        ));
    }
    if logical_cpus == 0 {
        return config("calibration needs at least one logical CPU, got 0".into());
    }
    let max_busy = cfg.max_busy.unwrap_or(logical_cpus as usize);
    if max_busy == 0 || max_busy > logical_cpus as usize {
        return config(format!(
            "--max-busy must be between 1 and the {logical_cpus} logical CPUs of this machine, got {max_busy}"
        ));
    }
    let domains_info = meter.domains();
    let domains: Vec<String> = domains_info
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.name.clone())
        .collect();
    if domains.is_empty() {
        return Err(ProfileError::CalibrationFailed(format!(
            "meter {} has no domain that counts into its total",
            meter.name()
        )));
    }

    let mut measure = || -> Result<Vec<(usize, f64, f64)>, ProfileError> {
        let mut raw = vec![];
        let mut idle = 0.0;
        for k in 0..=max_busy {
            load.set_busy(k);
            clock.sleep(Duration::from_secs_f64(cfg.settle_seconds));
            let start = meter.begin_window()?;
            clock.sleep(Duration::from_secs_f64(cfg.window_seconds));
            let reading = meter.end_window(start)?;
            if !(reading.seconds.is_finite() && reading.seconds > 0.0) {
                return Err(ProfileError::CalibrationFailed(format!(
                    "meter {} reported a window of {} s at {k} busy CPUs",
                    meter.name(),
                    reading.seconds
                )));
            }
            let watts = reading.total_j(&domains_info) / reading.seconds;
            if k == 0 {
                idle = watts;
            }
            on_level(&CalibrationPoint {
                busy: k,
                package_w: round_to(watts, 6),
                dynamic_w: round_to((watts - idle).max(0.0), 6),
                seconds: round_to(reading.seconds, 9),
            });
            raw.push((k, watts, reading.seconds));
        }
        Ok(raw)
    };
    let measured = measure();
    load.set_busy(0);
    let raw = measured?;

    let idle_w = raw[0].1;
    let mut notes = vec![];
    let mut points = vec![];
    for &(k, w, s) in &raw {
        let dynamic = w - idle_w;
        if k > 0 && dynamic < 0.0 {
            notes.push(format!(
                "{k} busy CPUs read {w:.2} W, below idle {idle_w:.2} W; dynamic power set to 0 \
                 (was the machine busy with something else during the idle window?)"
            ));
        }
        points.push(CalibrationPoint {
            busy: k,
            package_w: round_to(w, 6),
            dynamic_w: round_to(dynamic.max(0.0), 6),
            seconds: round_to(s, 9),
        });
    }
    if max_busy < logical_cpus as usize {
        notes.push(format!(
            "measured up to {max_busy} of {logical_cpus} logical CPUs; beyond {max_busy} the \
             last measured level is used"
        ));
    }
    let fit_points: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.busy > 0)
        .map(|p| (p.busy as f64, p.dynamic_w))
        .collect();
    for w in fit_points.windows(2) {
        if w[1].1 < w[0].1 {
            notes.push(format!(
                "dynamic power fell from {:.2} W at {} to {:.2} W at {} busy CPUs (noise, or \
                 other load on the machine; a longer --window helps)",
                w[0].1, w[0].0, w[1].1, w[1].0
            ));
        }
    }
    if fit_points.iter().filter(|(_, w)| *w > 0.0).count() == 1 {
        notes.push(
            "only one busy level drew more than idle: the curve's shape is not determined by \
             the measurement (the measured levels are used as they are)"
                .into(),
        );
    }
    let (curve, median) = power_model::fit_curve(&fit_points, logical_cpus).ok_or_else(|| {
        ProfileError::CalibrationFailed(format!(
            "no busy level drew more power than idle ({idle_w:.2} W) on {} ({}); the meter may \
             not cover these CPUs, or something else kept the machine busy",
            meter.name(),
            domains.join(" + ")
        ))
    })?;
    let max_error = fit_points
        .iter()
        .filter(|(_, y)| *y > 0.0)
        .map(|(k, y)| ((curve.watts(*k) - y) / y).abs())
        .fold(0.0, f64::max);
    let curve = FittedCurve {
        pmax_w: round_to(curve.pmax_w, 6),
        ..curve
    };
    Ok(Calibration {
        schema_version: CALIBRATION_SCHEMA_VERSION,
        cpu_model: cpu_model.to_string(),
        logical_cpus,
        created: crate::system::UtcTime::now().iso(),
        meter: meter.name().to_string(),
        domains,
        window_seconds: cfg.window_seconds,
        idle_w: round_to(idle_w, 6),
        points,
        curve,
        fit_median_error: round_to(median, 9),
        fit_max_error: round_to(max_error, 9),
        notes,
    })
}

/// The folder of saved calibrations: `$JOULEBENCH_CONFIG_DIR/calibration`, else
/// `$XDG_CONFIG_HOME/joulebench/calibration`, else `$HOME/.config/joulebench/calibration`
/// (empty variables count as unset). `None` without any of them.
pub fn calibration_dir() -> Option<PathBuf> {
    calibration_dir_from(|k| std::env::var_os(k))
}

/// [`calibration_dir`] with the environment given as a function (tests).
pub fn calibration_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("JOULEBENCH_CONFIG_DIR") {
        return Some(d.join("calibration"));
    }
    if let Some(d) = var("XDG_CONFIG_HOME") {
        return Some(d.join("joulebench").join("calibration"));
    }
    var("HOME").map(|h| h.join(".config").join("joulebench").join("calibration"))
}

/// A CPU model as a file name: lower case, runs of anything but `[a-z0-9]` as one `-`, no `-`
/// at either end (`Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz` → `intel-r-xeon-r-cpu-e5-2620-v3-2-40ghz`);
/// `unknown-cpu` when nothing is left.
pub fn cpu_slug(cpu_model: &str) -> String {
    let mut s = String::with_capacity(cpu_model.len());
    for c in cpu_model.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    s.truncate(120);
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        "unknown-cpu".into()
    } else {
        s
    }
}

/// The file of `cpu_model`'s calibration in `dir`: `<slug>.json`.
pub fn calibration_path(dir: &Path, cpu_model: &str) -> PathBuf {
    dir.join(format!("{}.json", cpu_slug(cpu_model)))
}

/// The saved calibration of `cpu_model` in `dir`: `Ok(None)` when there is none; an error
/// naming the file when it cannot be read, is not a whole calibration (garbled, truncated), is of
/// another schema version or CPU, or holds non-finite or negative numbers.
pub fn load_calibration(dir: &Path, cpu_model: &str) -> Result<Option<Calibration>, ProfileError> {
    let path = calibration_path(dir, cpu_model);
    let fail = |what: String| ProfileError::Calibration {
        path: path.clone(),
        what,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(format!("cannot read the saved calibration: {e}"))),
    };
    let c: Calibration = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "not a valid calibration file ({e}); delete it or run `joulebench meters calibrate` \
             again"
        ))
    })?;
    if let Some(p) = c.problem(cpu_model) {
        return Err(fail(format!(
            "unusable calibration: {p}; delete it or run `joulebench meters calibrate` again"
        )));
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::MeterError;
    use crate::meter::{DomainInfo, DomainKind, EnergyReading, ReadingSource, WindowStart};

    fn point(busy: usize, dynamic_w: f64) -> CalibrationPoint {
        CalibrationPoint {
            busy,
            package_w: 4.0 + dynamic_w,
            dynamic_w,
            seconds: 1.0,
        }
    }

    fn calibration(points: Vec<CalibrationPoint>) -> Calibration {
        Calibration {
            schema_version: CALIBRATION_SCHEMA_VERSION,
            cpu_model: "Test CPU".into(),
            logical_cpus: 4,
            created: "2026-01-01T00:00:00Z".into(),
            meter: "rapl".into(),
            domains: vec!["package-0".into()],
            window_seconds: 1.0,
            idle_w: 4.0,
            points,
            curve: FittedCurve {
                pmax_w: 20.0,
                scale: 0.3,
                logical_cpus: 4,
            },
            fit_median_error: 0.02,
            fit_max_error: 0.05,
            notes: vec![],
        }
    }

    #[test]
    fn slugs_and_paths() {
        assert_eq!(
            cpu_slug("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz"),
            "intel-r-xeon-r-cpu-e5-2620-v3-2-40ghz"
        );
        assert_eq!(
            cpu_slug("  AMD EPYC 8024P 8-Core Processor  "),
            "amd-epyc-8024p-8-core-processor"
        );
        assert_eq!(cpu_slug(""), "unknown-cpu");
        assert_eq!(cpu_slug("(®)"), "unknown-cpu");
        assert_eq!(cpu_slug("../../etc/passwd"), "etc-passwd");
        assert!(cpu_slug(&"x y ".repeat(200)).len() <= 120);
        assert!(!cpu_slug(&"x y ".repeat(200)).ends_with('-'));
        let p = calibration_path(Path::new("/cfg"), "Ärger Chip 9000");
        assert_eq!(p, Path::new("/cfg/rger-chip-9000.json"));
        let slug = p.file_stem().unwrap().to_str().unwrap();
        assert!(slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }

    #[test]
    fn config_dir_order() {
        fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        }
        let all = [
            ("JOULEBENCH_CONFIG_DIR", "/jb"),
            ("XDG_CONFIG_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            calibration_dir_from(env(&all)),
            Some(PathBuf::from("/jb/calibration"))
        );
        assert_eq!(
            calibration_dir_from(env(&[
                ("JOULEBENCH_CONFIG_DIR", ""),
                ("XDG_CONFIG_HOME", "/xdg")
            ])),
            Some(PathBuf::from("/xdg/joulebench/calibration"))
        );
        assert_eq!(
            calibration_dir_from(env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.config/joulebench/calibration"))
        );
        assert_eq!(calibration_dir_from(env(&[])), None);
    }

    #[test]
    fn watts_at_interpolates_and_holds_the_last_level() {
        let c = calibration(vec![
            point(0, 0.0),
            point(1, 10.0),
            point(2, 16.0),
            point(4, 20.0),
        ]);
        assert_eq!(c.watts_at(0.0), 0.0);
        assert_eq!(c.watts_at(-1.0), 0.0);
        assert_eq!(c.watts_at(f64::NAN), 0.0);
        assert!((c.watts_at(0.5) - 5.0).abs() < 1e-12);
        assert!((c.watts_at(1.0) - 10.0).abs() < 1e-12);
        assert!((c.watts_at(1.5) - 13.0).abs() < 1e-12);
        assert!((c.watts_at(3.0) - 18.0).abs() < 1e-12);
        assert_eq!(c.watts_at(4.0), 20.0);
        assert_eq!(c.watts_at(64.0), 20.0);
        assert_eq!(c.watts_at(f64::INFINITY), 20.0);
        // without an idle point the interpolation still starts at (0, 0)
        let c = calibration(vec![point(2, 16.0)]);
        assert!((c.watts_at(1.0) - 8.0).abs() < 1e-12);
        assert_eq!(c.busy_levels(), 1);
        let m = c.method();
        assert!(
            m.contains("Test CPU") && m.contains("rapl") && m.contains("package-0"),
            "{m}"
        );
        assert!(m.contains("idle 4.0 W") && m.contains("2.0 %"), "{m}");
    }

    /// A meter whose package draws `watts[k]` watts, `k` read from the load.
    struct FakeMeter {
        clock: Arc<ManualClock>,
        busy: Arc<AtomicUsize>,
        watts: Vec<f64>,
        energy_uj: u64,
        last: f64,
        fail_at: Option<usize>,
    }

    impl FakeMeter {
        fn advance(&mut self) -> u64 {
            let t = self.clock.now().as_secs_f64();
            let dt = t - std::mem::replace(&mut self.last, t);
            let w = self.watts[self.busy.load(Ordering::SeqCst)];
            self.energy_uj += (w * dt * 1e6).round() as u64;
            self.energy_uj
        }
    }

    impl EnergyMeter for FakeMeter {
        fn name(&self) -> &str {
            "fake"
        }
        fn domains(&self) -> Vec<DomainInfo> {
            let d = |name: &str, in_total| DomainInfo {
                name: name.into(),
                kind: DomainKind::Package,
                resolution_j: 1e-6,
                update_period_s: 1e-3,
                in_total,
                note: String::new(),
            };
            vec![d("package-0", true), d("package-0/core", false)]
        }
        fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
            let e = self.advance();
            Ok(WindowStart::new(self.clock.now().as_secs_f64(), vec![e]))
        }
        fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
            if self.fail_at == Some(self.busy.load(Ordering::SeqCst)) {
                return Err(MeterError::Nvml("injected".into()));
            }
            let e = self.advance();
            let j = (e - start.raw()[0]) as f64 * 1e-6;
            Ok(EnergyReading {
                joules: vec![j, 1000.0], // the nested domain must not be added
                seconds: self.clock.now().as_secs_f64() - start.t(),
                source: ReadingSource::Measured {
                    counter: "fake".into(),
                },
            })
        }
    }

    struct FakeLoad {
        busy: Arc<AtomicUsize>,
        history: Vec<usize>,
    }

    impl BusyLoad for FakeLoad {
        fn set_busy(&mut self, k: usize) {
            self.busy.store(k, Ordering::SeqCst);
            self.history.push(k);
        }
    }

    fn fake(watts: Vec<f64>, fail_at: Option<usize>) -> (Arc<ManualClock>, FakeMeter, FakeLoad) {
        let clock = Arc::new(ManualClock::default());
        let busy = Arc::new(AtomicUsize::new(0));
        let meter = FakeMeter {
            clock: clock.clone(),
            busy: busy.clone(),
            watts,
            energy_uj: 1_000,
            last: 0.0,
            fail_at,
        };
        let load = FakeLoad {
            busy,
            history: vec![],
        };
        (clock, meter, load)
    }

    #[test]
    fn calibrate_on_a_fake_meter() {
        let (clock, mut meter, mut load) = fake(vec![5.0, 15.0, 21.0, 4.5], None);
        let cfg = CalibrationConfig {
            window_seconds: 2.0,
            settle_seconds: 0.5,
            max_busy: Some(3),
        };
        let mut seen = vec![];
        let c = calibrate(
            &*clock,
            &mut meter,
            &mut load,
            &cfg,
            "Fake CPU",
            8,
            &mut |p| seen.push(p.clone()),
        )
        .unwrap();
        assert_eq!(load.history, [0, 1, 2, 3, 0]);
        assert_eq!(seen, c.points);
        assert_eq!(c.idle_w, 5.0);
        let dynamic: Vec<f64> = c.points.iter().map(|p| p.dynamic_w).collect();
        assert_eq!(dynamic, [0.0, 10.0, 16.0, 0.0]);
        assert!(c.points.iter().all(|p| p.seconds == 2.0));
        assert_eq!(c.domains, ["package-0"]);
        assert_eq!(c.meter, "fake");
        assert_eq!(c.logical_cpus, 8);
        assert!(
            c.notes.iter().any(|n| n.contains("below idle")),
            "{:?}",
            c.notes
        );
        assert!(
            c.notes.iter().any(|n| n.contains("up to 3 of 8")),
            "{:?}",
            c.notes
        );
        assert!(c.fit_max_error >= c.fit_median_error && c.fit_median_error >= 0.0);
        assert_eq!(c.curve.logical_cpus, 8);
        // 4 levels × (0.5 + 2) s
        assert_eq!(clock.now(), Duration::from_secs(10));
        assert!(c.problem("Fake CPU").is_none());
        assert!(c.problem("Other CPU").unwrap().contains("Fake CPU"));
    }

    #[test]
    fn calibrate_refuses_bad_configs_and_stops_the_load_on_errors() {
        let (clock, mut meter, mut load) = fake(vec![5.0, 15.0], None);
        let mut run = |cfg: CalibrationConfig, cpus: u32| {
            calibrate(&*clock, &mut meter, &mut load, &cfg, "x", cpus, &mut |_| {})
        };
        for (cfg, cpus, want) in [
            (
                CalibrationConfig {
                    window_seconds: 0.0,
                    ..Default::default()
                },
                1,
                "window",
            ),
            (
                CalibrationConfig {
                    window_seconds: f64::NAN,
                    ..Default::default()
                },
                1,
                "window",
            ),
            (
                CalibrationConfig {
                    settle_seconds: -1.0,
                    ..Default::default()
                },
                1,
                "settle",
            ),
            (
                CalibrationConfig {
                    max_busy: Some(3),
                    ..Default::default()
                },
                2,
                "max-busy",
            ),
            (
                CalibrationConfig {
                    max_busy: Some(0),
                    ..Default::default()
                },
                2,
                "max-busy",
            ),
            (CalibrationConfig::default(), 0, "logical CPU"),
        ] {
            match run(cfg, cpus) {
                Err(ProfileError::Config(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{want}: expected a config error, got {other:?}"),
            }
        }
        assert!(load.history.is_empty(), "nothing started on a bad config");

        // a meter error mid-way: the load is stopped anyway
        let (clock, mut meter, mut load) = fake(vec![5.0, 15.0, 20.0], Some(1));
        let cfg = CalibrationConfig {
            max_busy: Some(2),
            ..Default::default()
        };
        let e = calibrate(&*clock, &mut meter, &mut load, &cfg, "x", 2, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("injected"), "{e}");
        assert_eq!(load.history, [0, 1, 0]);

        // nothing above idle: no curve, a clear failure
        let (clock, mut meter, mut load) = fake(vec![5.0, 5.0], None);
        let cfg = CalibrationConfig {
            max_busy: Some(1),
            ..Default::default()
        };
        let e = calibrate(&*clock, &mut meter, &mut load, &cfg, "x", 1, &mut |_| {}).unwrap_err();
        assert!(matches!(e, ProfileError::CalibrationFailed(_)), "{e}");
        assert_eq!(load.history.last(), Some(&0));
    }

    #[test]
    fn spin_load_follows_the_level_and_leaves_no_thread() {
        let mut s = SpinLoad::new();
        s.set_busy(3);
        assert_eq!((s.busy(), s.live_threads()), (3, 3));
        s.set_busy(1);
        assert_eq!((s.busy(), s.live_threads()), (1, 1));
        s.set_busy(2);
        assert_eq!(s.busy(), 2);
        s.set_busy(0);
        assert_eq!((s.busy(), s.live_threads()), (0, 0));
        let live = {
            let mut s = SpinLoad::new();
            s.set_busy(2);
            s.live.clone()
        };
        assert_eq!(live.load(Ordering::SeqCst), 0, "drop joins every thread");
    }
}
