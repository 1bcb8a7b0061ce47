//! Energy per inference and where it came from: measured by a meter, or estimated from
//! operation counts with a named table. Estimates are never shown as measurements.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an energy number comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnergySource {
    /// Read from a hardware counter: `meter` is `nvml` or `rapl`; `domains` those summed.
    Measured {
        meter: String,
        #[serde(default)]
        domains: Vec<String>,
    },
    /// Computed from operation counts with an energy-per-operation table, e.g.
    /// `horowitz-45nm` (Horowitz, ISSCC 2014: fp32 MAC 4.6 pJ, fp32 add 0.9 pJ, …).
    Estimate { table: String },
}

impl EnergySource {
    pub fn is_estimate(&self) -> bool {
        matches!(self, EnergySource::Estimate { .. })
    }
}

impl fmt::Display for EnergySource {
    /// `measured: rapl (package-0, dram)` or `estimate: horowitz-45nm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnergySource::Measured { meter, domains } if domains.is_empty() => {
                write!(f, "measured: {meter}")
            }
            EnergySource::Measured { meter, domains } => {
                write!(f, "measured: {meter} ({})", domains.join(", "))
            }
            EnergySource::Estimate { table } => write!(f, "estimate: {table}"),
        }
    }
}

/// Energy of one inference (one sample) with its spread and method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyPerInference {
    pub source: EnergySource,
    /// Mean joules per inference, total (idle included) for measurements.
    pub joules: f64,
    /// Standard deviation across windows (0 for estimates).
    #[serde(default)]
    pub std_joules: f64,
    /// Mean joules per inference above idle power (measurements only).
    #[serde(default)]
    pub above_idle_joules: Option<f64>,
    /// Measurement windows (≥ 5 for measurements; 0 for estimates).
    #[serde(default)]
    pub windows: usize,
    /// Seconds per window.
    #[serde(default)]
    pub window_s: Option<f64>,
    /// Idle power measured before the windows, watts.
    #[serde(default)]
    pub idle_power_w: Option<f64>,
    /// Counter resolution in joules.
    #[serde(default)]
    pub resolution_j: Option<f64>,
    /// How the number was obtained, in words (the estimate's formula, the meter's caveat).
    #[serde(default)]
    pub method: String,
}
