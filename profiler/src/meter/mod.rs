//! Energy meters: hardware counters read over windows (Zeus-style `begin_window`/`end_window`).
//!
//! A meter exposes one or more *domains* (RAPL `package-0`, `dram`; an NVML GPU). A window
//! reading gives joules per domain over the window and its length. Only domains with
//! `in_total = true` are summed into a total, so nested domains (RAPL `core`/`uncore` inside
//! `package`) are never counted twice. Meters measure; the operation-count *estimate* is a
//! different thing and lives in [`crate::estimate`](mod@crate::estimate), never in these types.

pub mod discover;
pub mod hwmon;
pub mod integrate;
pub mod nvml;
pub mod nvml_device;
pub mod rapl;

use serde::{Deserialize, Serialize};

use crate::error::MeterError;

/// What a domain covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainKind {
    /// A CPU socket (RAPL package: cores, caches, uncore).
    Package,
    /// Cores only (inside a package).
    Core,
    /// Uncore / integrated GPU (inside a package).
    Uncore,
    /// DRAM attached to a socket.
    Dram,
    /// The whole platform (RAPL psys), includes the packages.
    Platform,
    /// A whole GPU board (NVML; hwmon amdgpu, i915, xe).
    Gpu,
    /// A whole module or board measured at its power input (hwmon ina3221 `VDD_IN` on Jetson):
    /// includes its CPU, GPU and SOC rails.
    Module,
    /// One power rail inside a module (hwmon ina3221 `VDD_CPU_GPU_CV`, `VDD_SOC`…).
    Rail,
    /// A hwmon channel of a driver whose coverage is not known (never added to a total).
    Unknown,
}

/// One energy domain of a meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainInfo {
    /// Stable name, e.g. `package-0`, `package-0/dram`, `gpu0`.
    pub name: String,
    pub kind: DomainKind,
    /// Smallest energy step the counter reports, joules.
    pub resolution_j: f64,
    /// How often the hardware updates the counter, seconds (RAPL: a typical value, stated;
    /// NVML's energy counter: measured at open, see the note).
    pub update_period_s: f64,
    /// Whether this domain is summed into the meter's total (false for nested domains).
    pub in_total: bool,
    /// Where it is read from and what it covers (caveats such as "whole device").
    pub note: String,
}

/// Start of a window, returned by `begin_window`: a time and raw counter values that only the
/// meter that made it interprets.
#[derive(Debug, Clone)]
pub struct WindowStart {
    /// Monotonic time of the start (seconds since the meter's origin).
    pub(crate) t: f64,
    /// Raw counter values per domain, in the meter's own units.
    pub(crate) raw: Vec<u64>,
}

impl WindowStart {
    /// For meters implemented outside this crate.
    pub fn new(t: f64, raw: Vec<u64>) -> Self {
        WindowStart { t, raw }
    }
    pub fn t(&self) -> f64 {
        self.t
    }
    pub fn raw(&self) -> &[u64] {
        &self.raw
    }
}

/// How a meter obtained an [`EnergyReading`]: a hardware counter (named), never an estimate.
/// (Where a reported energy number comes from — measured, modelled or estimated — is the
/// `kind` of its `joulebench_models::EnergyFigure`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReadingSource {
    /// Read from a hardware energy counter, e.g. `rapl:/sys/class/powercap`,
    /// `nvml:total_energy_consumption`.
    Measured { counter: String },
    /// Power polled at `period_s` and integrated with the trapezoid rule.
    MeasuredPowerIntegration { counter: String, period_s: f64 },
}

/// Energy over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyReading {
    /// Joules per domain, same order as `EnergyMeter::domains`. Never negative.
    pub joules: Vec<f64>,
    /// Window length, seconds (monotonic clock).
    pub seconds: f64,
    pub source: ReadingSource,
}

impl EnergyReading {
    /// Sum of the domains flagged `in_total`.
    pub fn total_j(&self, domains: &[DomainInfo]) -> f64 {
        self.joules
            .iter()
            .zip(domains)
            .filter(|(_, d)| d.in_total)
            .map(|(j, _)| j)
            .sum()
    }
}

/// A source of measured energy.
pub trait EnergyMeter: Send {
    /// Short name: `rapl`, `nvml`, `hwmon`.
    fn name(&self) -> &str;
    /// The domains this meter reports, in reading order.
    fn domains(&self) -> Vec<DomainInfo>;
    /// Starts a window (reads every counter).
    fn begin_window(&mut self) -> Result<WindowStart, MeterError>;
    /// Ends a window started by `begin_window` on this meter; errors rather than returning a
    /// negative, NaN or silently zero energy.
    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError>;
}

/// The meter choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterChoice {
    /// NVML for GPU backends, RAPL for CPU ones; when that is unavailable, hwmon if it has a
    /// counted device of the right kind; else the estimate (with the reason).
    Auto,
    Nvml,
    Rapl,
    /// Linux hwmon energy/power sensors (amd_energy, amdgpu, i915/xe, ina3221…).
    Hwmon,
    /// No meter: energy from operation counts (labelled `estimate`).
    Estimate,
}

impl MeterChoice {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(MeterChoice::Auto),
            "nvml" => Ok(MeterChoice::Nvml),
            "rapl" => Ok(MeterChoice::Rapl),
            "hwmon" => Ok(MeterChoice::Hwmon),
            "estimate" => Ok(MeterChoice::Estimate),
            o => Err(format!(
                "unknown meter `{o}` (expected auto, nvml, rapl, hwmon or estimate)"
            )),
        }
    }
}
