//! Finding meters (what `joulebench meters` lists) and choosing one for `--meter`.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::MeterError;
use crate::meter::nvml::NvmlMeter;
use crate::meter::rapl::{RaplMeter, RealFs};
use crate::meter::{DomainInfo, EnergyMeter, MeterChoice};

/// One meter and whether it can be used here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeterStatus {
    pub name: String,
    pub available: bool,
    /// Domains with resolution and update period (empty when unavailable).
    pub domains: Vec<DomainInfo>,
    /// Why it is unavailable (None when available).
    pub reason: Option<String>,
}

fn status(name: &str, r: Result<Box<dyn EnergyMeter>, MeterError>) -> MeterStatus {
    match r {
        Ok(m) => MeterStatus {
            name: name.into(),
            available: true,
            domains: m.domains(),
            reason: None,
        },
        Err(e) => {
            let reason = match e {
                MeterError::Unavailable { reason, .. } => reason,
                other => other.to_string(),
            };
            MeterStatus {
                name: name.into(),
                available: false,
                domains: vec![],
                reason: Some(reason),
            }
        }
    }
}

/// Probes RAPL under `powercap_root` and NVML GPU `gpu_index`.
pub fn discover(powercap_root: &Path, gpu_index: u32) -> Vec<MeterStatus> {
    vec![
        status(
            "rapl",
            RaplMeter::open_at(powercap_root, Arc::new(RealFs))
                .map(|m| Box::new(m) as Box<dyn EnergyMeter>),
        ),
        status(
            "nvml",
            NvmlMeter::open(gpu_index).map(|m| Box::new(m) as Box<dyn EnergyMeter>),
        ),
    ]
}

/// The outcome of `--meter`: a meter, or none (then energy is estimated) and why.
pub struct Selection {
    pub meter: Option<Box<dyn EnergyMeter>>,
    /// Human-readable account of the choice (printed, and stored in the result).
    pub note: String,
}

/// Picks a meter. `auto`: NVML when `gpu_backend`, else RAPL; when that is unavailable, no meter
/// (estimate) with the reason. An explicitly requested meter that is unavailable is an error.
pub fn select(
    choice: MeterChoice,
    gpu_backend: bool,
    powercap_root: &Path,
    gpu_index: u32,
) -> Result<Selection, MeterError> {
    let open_rapl = || {
        RaplMeter::open_at(powercap_root, Arc::new(RealFs))
            .map(|m| Box::new(m) as Box<dyn EnergyMeter>)
    };
    let open_nvml = || NvmlMeter::open(gpu_index).map(|m| Box::new(m) as Box<dyn EnergyMeter>);
    match choice {
        MeterChoice::Estimate => Ok(Selection {
            meter: None,
            note: "estimate requested (--meter estimate)".into(),
        }),
        MeterChoice::Rapl => Ok(Selection {
            meter: Some(open_rapl()?),
            note: "rapl requested".into(),
        }),
        MeterChoice::Nvml => Ok(Selection {
            meter: Some(open_nvml()?),
            note: format!("nvml requested (GPU {gpu_index})"),
        }),
        MeterChoice::Auto => {
            let (name, r) = if gpu_backend {
                ("nvml", open_nvml())
            } else {
                ("rapl", open_rapl())
            };
            Ok(match r {
                Ok(m) => Selection {
                    meter: Some(m),
                    note: format!(
                        "auto: {name} ({} backend)",
                        if gpu_backend { "GPU" } else { "CPU" }
                    ),
                },
                Err(e) => Selection {
                    meter: None,
                    note: format!("auto: no {name} meter ({e})"),
                },
            })
        }
    }
}
