//! Energy per inference as every result reports it (profile JSON, run results, report): what
//! kind of figure it is, the value with its band, and how it was obtained. One type, so a
//! modelled or estimated number can never travel as a measured one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an energy figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyKind {
    /// Read from a hardware energy counter (RAPL, NVML) over timed windows.
    Measured,
    /// Measured CPU time × a CPU power model (a calibration, given watts, a spec-sheet model or
    /// a generic range).
    Modelled,
    /// Operation counts × an energy-per-operation table (an ideal 45 nm accelerator).
    Estimate,
}

impl EnergyKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EnergyKind::Measured => "measured",
            EnergyKind::Modelled => "modelled",
            EnergyKind::Estimate => "estimate",
        }
    }
}

impl fmt::Display for EnergyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One energy figure per inference (one sample). Joules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyFigure {
    pub kind: EnergyKind,
    /// Short name of the source: `rapl (package-0, dram)`, `spec-sheet power model`,
    /// `horowitz-isscc2014-45nm`.
    pub source: String,
    /// Measured: above idle when idle was measured, else the whole counted domains; modelled:
    /// dynamic power above idle × time; estimate: the low end of the table's range.
    pub joules_per_inference: f64,
    pub low: f64,
    pub high: f64,
    /// How the number was obtained, in words (counter and windows, power model and its inputs,
    /// table and memory model).
    pub method: String,
    /// Measured: standard deviation over the windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_joules: Option<f64>,
    /// Measured: whole counted domains, idle included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_joules: Option<f64>,
    /// Measured: number of windows and their length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Measured: idle power subtracted (mean of the idle before and after the windows), watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_power_w: Option<f64>,
    /// Measured: counter resolution per inference, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_j: Option<f64>,
    /// Modelled: measured CPU time per inference (all threads), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds_per_inference: Option<f64>,
    /// Modelled: average busy logical CPUs (CPU time / wall time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_cpus: Option<f64>,
    /// Modelled: dynamic power the model gives at that load, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watts: Option<f64>,
}

impl EnergyFigure {
    /// A figure with only the common fields set.
    pub fn new(
        kind: EnergyKind,
        source: impl Into<String>,
        joules: f64,
        low: f64,
        high: f64,
        method: impl Into<String>,
    ) -> Self {
        EnergyFigure {
            kind,
            source: source.into(),
            joules_per_inference: joules,
            low,
            high,
            method: method.into(),
            std_joules: None,
            total_joules: None,
            windows: None,
            window_s: None,
            idle_power_w: None,
            resolution_j: None,
            cpu_seconds_per_inference: None,
            busy_cpus: None,
            watts: None,
        }
    }

    /// `measured: rapl (package-0)`, `modelled: spec-sheet power model`, …
    pub fn label(&self) -> String {
        format!("{}: {}", self.kind, self.source)
    }
}

/// The figure to lead with: measured over modelled over estimate (first of each kind).
pub fn best(figures: &[EnergyFigure]) -> Option<&EnergyFigure> {
    figures.iter().min_by_key(|f| f.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_leads_then_modelled_then_estimate() {
        let e = EnergyFigure::new(EnergyKind::Estimate, "t", 1.0, 1.0, 2.0, "");
        let m = EnergyFigure::new(EnergyKind::Modelled, "p", 3.0, 2.0, 4.0, "");
        let r = EnergyFigure::new(EnergyKind::Measured, "rapl", 5.0, 4.0, 6.0, "");
        assert_eq!(
            best(&[e.clone(), m.clone()]).unwrap().kind,
            EnergyKind::Modelled
        );
        assert_eq!(best(&[e.clone(), m, r]).unwrap().kind, EnergyKind::Measured);
        assert_eq!(best(&[e]).unwrap().kind, EnergyKind::Estimate);
        assert!(best(&[]).is_none());
        let json = serde_json::to_value(EnergyFigure::new(
            EnergyKind::Modelled,
            "p",
            3.0,
            2.0,
            4.0,
            "x",
        ))
        .unwrap();
        assert_eq!(json["kind"], "modelled");
        assert_eq!(json["joules_per_inference"], 3.0);
        assert!(json.get("std_joules").is_none());
    }
}
