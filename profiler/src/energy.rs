//! Measuring energy per inference with a meter: idle first, then repeated windows of work.
//!
//! 1. Idle: one window of `idle_seconds` with nothing running → idle power per domain
//!    (measured by the meter). Skipped when `idle_seconds` is 0 (then nothing "above idle").
//! 2. Windows: at least `windows` (≥ 5) windows, each at least
//!    `max(min_window_seconds, 100 × slowest counter update period)` long, each running whole
//!    batches back to back. Per window: `E_total / n` and `(E_total − P_idle · t) / n` per inference
//!    (`n` = samples run in the window).
//! 3. Reported: mean ± sample std over the windows, the counter resolution and its share of one
//!    window's energy.

use std::time::Duration;

use joulebench_models::{EnergyFigure, EnergyKind};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::ProfileError;
use crate::meter::{DomainInfo, EnergyMeter, EnergyReading, ReadingSource};
use crate::stats::Summary;

/// How to measure energy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyConfig {
    /// Seconds of idle measurement before the windows (0 skips it).
    pub idle_seconds: f64,
    /// Lower bound on a window's length, seconds.
    pub min_window_seconds: f64,
    /// Number of windows (at least 5 is enforced).
    pub windows: usize,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            idle_seconds: 5.0,
            min_window_seconds: 1.0,
            windows: 5,
        }
    }
}

/// Minimum number of windows.
pub const MIN_WINDOWS: usize = 5;

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
    pub idle: Option<IdleRecord>,
    /// Target length of each window, seconds.
    pub window_seconds: f64,
    pub windows: Vec<WindowRecord>,
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
                "{} counter, {what}; {} windows × {:.2} s at batch {}, mean ± std{}{}",
                self.meter,
                self.windows.len(),
                self.window_seconds,
                self.batch,
                if self.notes.is_empty() { "" } else { "; " },
                self.notes.join("; ")
            ),
        );
        f.std_joules = Some(s.std);
        f.total_joules = Some(self.joules_per_inference.mean);
        f.windows = Some(self.windows.len());
        f.window_s = Some(self.window_seconds);
        f.idle_power_w = self.idle.as_ref().map(|i| i.power_w);
        f.resolution_j = Some(self.resolution_j_per_inference);
        f
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

/// Measures energy per inference of `run_batch` (which runs one batch of `batch` samples).
pub fn measure_energy<C: Clock>(
    clock: &C,
    meter: &mut dyn EnergyMeter,
    cfg: &EnergyConfig,
    batch: usize,
    mut run_batch: impl FnMut() -> Result<(), ProfileError>,
) -> Result<EnergyMeasurement, ProfileError> {
    let domains = meter.domains();
    let mut notes = vec![];
    let idle = if cfg.idle_seconds > 0.0 {
        let s = meter.begin_window()?;
        clock.sleep(Duration::from_secs_f64(cfg.idle_seconds));
        let r = meter.end_window(s)?;
        let w = record(&r, &domains, 0)?;
        Some(IdleRecord {
            seconds: w.seconds,
            total_j: w.total_j,
            power_w: w.total_j / w.seconds.max(1e-9),
        })
    } else {
        notes.push("idle not measured (--idle 0): no energy above idle".into());
        None
    };
    let target = window_seconds(cfg, &domains);
    let n_windows = cfg.windows.max(MIN_WINDOWS);
    let mut windows = Vec::with_capacity(n_windows);
    let mut source = None;
    for _ in 0..n_windows {
        let s = meter.begin_window()?;
        let t0 = clock.now();
        let cpu0 = clock.cpu_time();
        let mut n = 0u64;
        while n == 0 || (clock.now() - t0).as_secs_f64() < target {
            run_batch()?;
            n += batch as u64;
        }
        let cpu = clock.cpu_time().saturating_sub(cpu0).as_secs_f64();
        let r = meter.end_window(s)?;
        source = Some(r.source.clone());
        let mut w = record(&r, &domains, n)?;
        w.cpu_seconds = cpu;
        if w.total_j == 0.0 {
            notes.push(format!(
                "a {:.2} s window read 0 J: the counter did not move (too coarse or not updating)",
                w.seconds
            ));
        }
        windows.push(w);
    }
    let idle_w = idle.as_ref().map(|i| i.power_w);
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
        source: source.expect("at least one window"),
        domains,
        batch,
        idle,
        window_seconds: target,
        windows,
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
