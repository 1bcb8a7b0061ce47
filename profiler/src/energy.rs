//! Measuring energy per inference with a meter: idle before and after, a warm-up window, then
//! repeated windows of work.
//!
//! 1. Settle, then idle: after `settle_seconds` with nothing running (so the power of the
//!    latency phase has died down), one window of `idle_seconds` → idle power. Skipped when
//!    `idle_seconds` is 0 (then nothing is reported "above idle"). "Idle" is the whole
//!    package/device with this process idle: other processes are included.
//! 2. Warm-up: one window of work, measured and discarded (caches, clocks, GPU kernels), kept in
//!    the result as `warmup_window`.
//! 3. Windows: at least `windows` (≥ 5) windows, each at least
//!    `max(min_window_seconds, 100 × slowest counter update period)` long, each running whole
//!    batches back to back, the backend synchronized (GPU work finished) before the window
//!    ends. A window that reads 0 J (the counter did not move) is rejected and re-run, at most
//!    [`MAX_RERUNS`] times in all; rejected windows are kept in `rejected_windows`, never
//!    averaged in; fewer than [`MIN_WINDOWS`] valid windows is an error.
//! 4. Settle and idle again after the windows; the idle power used is the mean of before and
//!    after (a note when they differ by more than [`IDLE_DRIFT_NOTE`]).
//! 5. Per window: `E_total / n` and `(E_total − P_idle · t) / n` per inference (`n` = samples
//!    run in the window). Reported: mean ± sample std over the valid windows, the counter
//!    resolution and its share of one window's energy.

use std::time::Duration;

use joulebench_models::{EnergyFigure, EnergyKind};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::ProfileError;
use crate::meter::{DomainInfo, EnergyMeter, EnergyReading, ReadingSource};
use crate::stats::Summary;

/// Default seconds to wait before each idle measurement.
pub const DEFAULT_SETTLE_SECONDS: f64 = 2.0;

fn default_settle_seconds() -> f64 {
    DEFAULT_SETTLE_SECONDS
}

/// How to measure energy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyConfig {
    /// Seconds of idle measurement before and after the windows (0 skips both).
    pub idle_seconds: f64,
    /// Lower bound on a window's length, seconds.
    pub min_window_seconds: f64,
    /// Number of windows (at least 5 is enforced).
    pub windows: usize,
    /// Seconds to wait with nothing running before each idle measurement, so that the power of
    /// the work before it has settled (default 2 s; only used when idle is measured).
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: f64,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            idle_seconds: 5.0,
            min_window_seconds: 1.0,
            windows: 5,
            settle_seconds: DEFAULT_SETTLE_SECONDS,
        }
    }
}

/// Minimum number of valid windows.
pub const MIN_WINDOWS: usize = 5;

/// Most extra windows run to replace windows that read 0 J.
pub const MAX_RERUNS: usize = 3;

/// Relative difference between idle before and after above which a note is added.
pub const IDLE_DRIFT_NOTE: f64 = 0.10;

/// What "idle" covers, said in a note whenever idle is measured.
pub const IDLE_WHAT: &str =
    "idle = the whole package/device with this process idle: other processes included";

/// One measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub seconds: f64,
    /// Joules per domain (meter order).
    pub joules: Vec<f64>,
    /// Sum of the domains counted in the total.
    pub total_j: f64,
    /// Samples (inferences) run in the window.
    pub inferences: u64,
    /// CPU time of the process (all threads) during the window, seconds.
    #[serde(default)]
    pub cpu_seconds: f64,
}

/// The idle measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleRecord {
    pub seconds: f64,
    pub total_j: f64,
    /// `total_j / seconds`.
    pub power_w: f64,
}

/// Measured energy per inference (hardware counter). Joules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyMeasurement {
    /// Always `"measured"`.
    pub label: String,
    pub meter: String,
    pub source: ReadingSource,
    pub domains: Vec<DomainInfo>,
    pub batch: usize,
    /// Idle before the windows (after settling), or None (`--idle 0`).
    pub idle: Option<IdleRecord>,
    /// Idle after the windows (after settling again), or None (`--idle 0`). The idle power
    /// used above idle is the mean of `idle` and `idle_after` ([`Self::idle_power_w`]).
    #[serde(default)]
    pub idle_after: Option<IdleRecord>,
    /// Target length of each window, seconds.
    pub window_seconds: f64,
    /// The valid windows (the ones averaged).
    pub windows: Vec<WindowRecord>,
    /// The warm-up window run before `windows`: measured, never averaged in.
    #[serde(default)]
    pub warmup_window: Option<WindowRecord>,
    /// Windows that read 0 J (the counter did not move), re-run and never averaged in.
    #[serde(default)]
    pub rejected_windows: Vec<WindowRecord>,
    /// Energy per inference, whole counted domains, mean ± std over the windows.
    pub joules_per_inference: Summary,
    /// Energy per inference minus idle power × window time (None without an idle measurement).
    /// Can be slightly negative when the work is within the idle noise.
    pub joules_per_inference_above_idle: Option<Summary>,
    /// Average power during the windows, watts.
    pub active_power_w: Summary,
    /// Sum of the counted domains' counter resolutions, joules.
    pub counter_resolution_j: f64,
    /// Counter resolution divided by the fewest inferences in one window: the smallest per-inference
    /// difference the measurement can see.
    pub resolution_j_per_inference: f64,
    pub notes: Vec<String>,
}

impl EnergyMeasurement {
    /// As a figure: above idle when idle was measured (the energy the work added, comparable
    /// with the modelled figure), else the whole counted domains; band = mean ± std.
    pub fn figure(&self) -> EnergyFigure {
        let s = self
            .joules_per_inference_above_idle
            .unwrap_or(self.joules_per_inference);
        let domains: Vec<&str> = self
            .domains
            .iter()
            .filter(|d| d.in_total)
            .map(|d| d.name.as_str())
            .collect();
        let what = if self.joules_per_inference_above_idle.is_some() {
            "above idle"
        } else {
            "idle included (no idle measurement)"
        };
        let mut f = EnergyFigure::new(
            EnergyKind::Measured,
            format!("{} ({})", self.meter, domains.join(", ")),
            s.mean,
            s.mean - s.std,
            s.mean + s.std,
            format!(
                "{} counter, {what}; {} windows × {:.2} s at batch {}{}, mean ± std{}{}",
                self.meter,
                self.windows.len(),
                self.window_seconds,
                self.batch,
                if self.warmup_window.is_some() {
                    " after a discarded warm-up window"
                } else {
                    ""
                },
                if self.notes.is_empty() { "" } else { "; " },
                self.notes.join("; ")
            ),
        );
        f.std_joules = Some(s.std);
        f.total_joules = Some(self.joules_per_inference.mean);
        f.windows = Some(self.windows.len());
        f.window_s = Some(self.window_seconds);
        f.idle_power_w = self.idle_power_w();
        f.resolution_j = Some(self.resolution_j_per_inference);
        f
    }

    /// The idle power subtracted for "above idle": the mean of the idle before and after the
    /// windows (either alone when only one exists), None without idle.
    pub fn idle_power_w(&self) -> Option<f64> {
        mean_idle_power(self.idle.as_ref(), self.idle_after.as_ref())
    }

    /// Wall seconds, CPU seconds and inferences summed over the windows.
    pub fn window_totals(&self) -> (f64, f64, u64) {
        self.windows.iter().fold((0.0, 0.0, 0), |(w, c, n), r| {
            (w + r.seconds, c + r.cpu_seconds, n + r.inferences)
        })
    }
}

/// Window length for `domains`: `max(min_window_seconds, 100 × slowest update period)`.
pub fn window_seconds(cfg: &EnergyConfig, domains: &[DomainInfo]) -> f64 {
    let slowest = domains
        .iter()
        .map(|d| d.update_period_s)
        .fold(0.0, f64::max);
    cfg.min_window_seconds.max(100.0 * slowest)
}

/// Per-inference energy of one window: `(total, above idle)`.
pub fn per_inference(w: &WindowRecord, idle_w: Option<f64>) -> (f64, Option<f64>) {
    let n = w.inferences.max(1) as f64;
    (
        w.total_j / n,
        idle_w.map(|p| (w.total_j - p * w.seconds) / n),
    )
}

fn mean_idle_power(before: Option<&IdleRecord>, after: Option<&IdleRecord>) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) => Some(0.5 * (b.power_w + a.power_w)),
        (Some(x), None) | (None, Some(x)) => Some(x.power_w),
        (None, None) => None,
    }
}

fn record(
    r: &EnergyReading,
    domains: &[DomainInfo],
    inferences: u64,
) -> Result<WindowRecord, ProfileError> {
    let total = r.total_j(domains);
    if !total.is_finite() || total < 0.0 || r.joules.iter().any(|j| !j.is_finite() || *j < 0.0) {
        return Err(ProfileError::Config(format!(
            "meter returned an invalid energy {:?}",
            r.joules
        )));
    }
    Ok(WindowRecord {
        seconds: r.seconds,
        joules: r.joules.clone(),
        total_j: total,
        inferences,
        cpu_seconds: 0.0,
    })
}

/// The work measured in the energy windows.
pub trait WindowWork {
    /// Runs one batch.
    fn run_batch(&mut self) -> Result<(), ProfileError>;
    /// Waits until all work issued so far has finished (a GPU engine's queued kernels); called
    /// before each window ends. No-op by default.
    fn synchronize(&mut self) -> Result<(), ProfileError> {
        Ok(())
    }
}

/// A closure that runs one batch (and needs no synchronization).
impl<F: FnMut() -> Result<(), ProfileError>> WindowWork for F {
    fn run_batch(&mut self) -> Result<(), ProfileError> {
        self()
    }
}

/// Settles for `settle` seconds, then measures idle for `seconds`.
fn measure_idle<C: Clock>(
    clock: &C,
    meter: &mut dyn EnergyMeter,
    domains: &[DomainInfo],
    settle: f64,
    seconds: f64,
) -> Result<IdleRecord, ProfileError> {
    if settle > 0.0 {
        clock.sleep(Duration::from_secs_f64(settle));
    }
    let s = meter.begin_window()?;
    clock.sleep(Duration::from_secs_f64(seconds));
    let r = meter.end_window(s)?;
    let w = record(&r, domains, 0)?;
    Ok(IdleRecord {
        seconds: w.seconds,
        total_j: w.total_j,
        power_w: w.total_j / w.seconds.max(1e-9),
    })
}

/// Runs whole batches for at least `target` seconds inside one meter window, synchronizing the
/// work before the window ends.
fn run_window<C: Clock>(
    clock: &C,
    meter: &mut dyn EnergyMeter,
    domains: &[DomainInfo],
    target: f64,
    batch: usize,
    work: &mut impl WindowWork,
) -> Result<(WindowRecord, ReadingSource), ProfileError> {
    let s = meter.begin_window()?;
    let t0 = clock.now();
    let cpu0 = clock.cpu_time();
    let mut n = 0u64;
    while n == 0 || (clock.now() - t0).as_secs_f64() < target {
        work.run_batch()?;
        n += batch as u64;
    }
    work.synchronize()?;
    let cpu = clock.cpu_time().saturating_sub(cpu0).as_secs_f64();
    let r = meter.end_window(s)?;
    let mut w = record(&r, domains, n)?;
    w.cpu_seconds = cpu;
    Ok((w, r.source))
}

/// Measures energy per inference of `work` (a closure that runs one batch of `batch` samples,
/// or a [`WindowWork`] that can also synchronize a GPU). Any meter or work error ends the
/// measurement with that error: no partial result.
pub fn measure_energy<C: Clock>(
    clock: &C,
    meter: &mut dyn EnergyMeter,
    cfg: &EnergyConfig,
    batch: usize,
    mut work: impl WindowWork,
) -> Result<EnergyMeasurement, ProfileError> {
    let domains = meter.domains();
    let mut notes = vec![];
    let measure_idle_now = cfg.idle_seconds > 0.0;
    let settle = if cfg.settle_seconds.is_finite() {
        cfg.settle_seconds.max(0.0)
    } else {
        DEFAULT_SETTLE_SECONDS
    };
    let idle = if measure_idle_now {
        Some(measure_idle(
            clock,
            meter,
            &domains,
            settle,
            cfg.idle_seconds,
        )?)
    } else {
        notes.push("idle not measured (--idle 0): no energy above idle".into());
        None
    };
    let target = window_seconds(cfg, &domains);
    let n_windows = cfg.windows.max(MIN_WINDOWS);
    let (warmup, mut source) = run_window(clock, meter, &domains, target, batch, &mut work)?;
    let mut windows = Vec::with_capacity(n_windows);
    let mut rejected = vec![];
    let mut attempts_left = n_windows + MAX_RERUNS;
    while windows.len() < n_windows && attempts_left > 0 {
        attempts_left -= 1;
        let (w, src) = run_window(clock, meter, &domains, target, batch, &mut work)?;
        source = src;
        if w.total_j == 0.0 {
            rejected.push(w);
        } else {
            windows.push(w);
        }
    }
    if !rejected.is_empty() {
        notes.push(format!(
            "{} window(s) of {:.2} s read 0 J (the counter did not move: too coarse or not \
             updating) and were rejected{}",
            rejected.len(),
            target,
            if windows.len() < n_windows {
                format!(
                    "; {} re-runs allowed, {} valid windows of {n_windows} wanted",
                    MAX_RERUNS,
                    windows.len()
                )
            } else {
                " and re-run".to_string()
            }
        ));
    }
    if windows.len() < MIN_WINDOWS {
        return Err(ProfileError::Config(format!(
            "{}: only {} of {} energy windows read a non-zero energy ({} rejected at 0 J after \
             {MAX_RERUNS} re-runs); at least {MIN_WINDOWS} are needed. The counter does not move \
             over {:.2} s windows: use longer windows (--min-window) or another meter",
            meter.name(),
            windows.len(),
            n_windows,
            rejected.len(),
            target
        )));
    }
    let idle_after = if measure_idle_now {
        Some(measure_idle(
            clock,
            meter,
            &domains,
            settle,
            cfg.idle_seconds,
        )?)
    } else {
        None
    };
    if let (Some(b), Some(a)) = (&idle, &idle_after) {
        notes.push(IDLE_WHAT.to_string());
        let mean = 0.5 * (b.power_w + a.power_w);
        let diff = (b.power_w - a.power_w).abs();
        if mean > 0.0 && diff / mean > IDLE_DRIFT_NOTE {
            notes.push(format!(
                "idle power before ({:.2} W) and after ({:.2} W) the windows differ by {:.0} % \
                 (more than {:.0} %): the machine's background load changed; their mean is used, \
                 and the energy above idle is uncertain by about that much",
                b.power_w,
                a.power_w,
                100.0 * diff / mean,
                100.0 * IDLE_DRIFT_NOTE
            ));
        }
    }
    let idle_w = mean_idle_power(idle.as_ref(), idle_after.as_ref());
    let (tot, above): (Vec<f64>, Vec<Option<f64>>) =
        windows.iter().map(|w| per_inference(w, idle_w)).unzip();
    let above: Option<Vec<f64>> = above.into_iter().collect();
    let power: Vec<f64> = windows
        .iter()
        .map(|w| w.total_j / w.seconds.max(1e-9))
        .collect();
    let resolution: f64 = domains
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.resolution_j)
        .sum();
    let min_n = windows
        .iter()
        .map(|w| w.inferences)
        .min()
        .unwrap_or(1)
        .max(1);
    let above_summary = above.as_deref().and_then(Summary::of);
    if let Some(a) = &above_summary {
        if a.mean < 0.0 {
            notes.push(
                "energy above idle is negative on average: the workload is within the idle noise"
                    .into(),
            );
        }
    }
    Ok(EnergyMeasurement {
        label: "measured".into(),
        meter: meter.name().to_string(),
        source,
        domains,
        batch,
        idle,
        idle_after,
        window_seconds: target,
        windows,
        warmup_window: Some(warmup),
        rejected_windows: rejected,
        joules_per_inference: Summary::of(&tot)
            .ok_or_else(|| ProfileError::Config("no finite window energy".into()))?,
        joules_per_inference_above_idle: above_summary,
        active_power_w: Summary::of(&power)
            .ok_or_else(|| ProfileError::Config("no finite window power".into()))?,
        counter_resolution_j: resolution,
        resolution_j_per_inference: resolution / min_n as f64,
        notes,
    })
}
