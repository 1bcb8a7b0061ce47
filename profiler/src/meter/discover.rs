//! Finding meters (what `joulebench meters` lists) and choosing one for `--meter`.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::MeterError;
use crate::meter::hwmon::{HwmonMeter, HWMON_ROOT};
use crate::meter::nvml::{NvmlMeter, NvmlMeterInfo};
use crate::meter::rapl::{RaplMeter, RealFs};
use crate::meter::{DomainInfo, DomainKind, EnergyMeter, MeterChoice};

/// One meter and whether it can be used here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeterStatus {
    pub name: String,
    pub available: bool,
    /// Domains with resolution and update period (empty when unavailable).
    pub domains: Vec<DomainInfo>,
    /// Why it is unavailable (None when available).
    pub reason: Option<String>,
    /// Caveats of an available meter: devices skipped (the file and the fix) or ignored (hwmon).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// NVML: the GPU `--gpu N` (CUDA device N) was mapped onto, its counter and the update period
    /// measured at open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvml: Option<NvmlMeterInfo>,
}

fn status(name: &str, r: Result<Box<dyn EnergyMeter>, MeterError>) -> MeterStatus {
    match r {
        Ok(m) => MeterStatus {
            name: name.into(),
            available: true,
            domains: m.domains(),
            reason: None,
            notes: vec![],
            nvml: None,
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
                notes: vec![],
                nvml: None,
            }
        }
    }
}

/// Probes RAPL under `powercap_root`, NVML GPU `gpu_index` and hwmon under [`HWMON_ROOT`].
pub fn discover(powercap_root: &Path, gpu_index: u32) -> Vec<MeterStatus> {
    discover_at(powercap_root, Path::new(HWMON_ROOT), gpu_index)
}

/// [`discover`] with the hwmon root given (`--hwmon-root`).
pub fn discover_at(powercap_root: &Path, hwmon_root: &Path, gpu_index: u32) -> Vec<MeterStatus> {
    let hwmon = match HwmonMeter::open_at(hwmon_root, Arc::new(RealFs)) {
        Ok(m) => MeterStatus {
            name: "hwmon".into(),
            available: true,
            domains: m.domains(),
            reason: None,
            notes: m.notes().to_vec(),
            nvml: None,
        },
        Err(e) => status("hwmon", Err(e)),
    };
    vec![
        status(
            "rapl",
            RaplMeter::open_at(powercap_root, Arc::new(RealFs))
                .map(|m| Box::new(m) as Box<dyn EnergyMeter>),
        ),
        nvml_status(gpu_index),
        hwmon,
    ]
}

/// NVML's status for CUDA device `gpu_index`, with the mapped GPU and the mapping's notes.
fn nvml_status(gpu_index: u32) -> MeterStatus {
    let m = NvmlMeter::open(gpu_index);
    let info = m.as_ref().ok().map(|m| m.info());
    let mut s = status("nvml", m.map(|m| Box::new(m) as Box<dyn EnergyMeter>));
    if let Some(i) = &info {
        s.notes.extend(i.device.notes.iter().cloned());
    }
    s.nvml = info;
    s
}

/// The hwmon meter `--meter auto` falls back to: only devices of the backend's kind are counted —
/// CPU backends: the CPU sockets ([`DomainKind::Package`]), else the whole module
/// ([`DomainKind::Module`]); GPU backends: the GPU ([`DomainKind::Gpu`]), else the whole module.
/// `Err`: why hwmon does not qualify.
pub fn hwmon_for_auto(
    gpu_backend: bool,
    hwmon_root: &Path,
) -> Result<(HwmonMeter, String), String> {
    let m = HwmonMeter::open_at(hwmon_root, Arc::new(RealFs)).map_err(|e| match e {
        MeterError::Unavailable { reason, .. } => reason,
        other => other.to_string(),
    })?;
    let (part, what) = if gpu_backend {
        (DomainKind::Gpu, "GPU")
    } else {
        (DomainKind::Package, "CPU socket")
    };
    let domains = m.domains();
    let counted = |k: DomainKind| domains.iter().any(|d| d.in_total && d.kind == k);
    let kind = if counted(part) {
        part
    } else if counted(DomainKind::Module) {
        DomainKind::Module
    } else {
        return Err(format!(
            "no counted hwmon device covers a {what} or a whole module under {}",
            hwmon_root.display()
        ));
    };
    let backend = if gpu_backend { "GPU" } else { "CPU" };
    let m = m.count_only(
        &[kind],
        &format!("auto counts only the {what} for a {backend} backend"),
    );
    let names: Vec<String> = m
        .domains()
        .into_iter()
        .filter(|d| d.in_total)
        .map(|d| d.name)
        .collect();
    Ok((m, names.join(" + ")))
}

/// The outcome of `--meter`: a meter, or none (then energy is estimated) and why.
pub struct Selection {
    pub meter: Option<Box<dyn EnergyMeter>>,
    /// Human-readable account of the choice (printed, and stored in the result).
    pub note: String,
}

/// Picks a meter, hwmon read under [`HWMON_ROOT`]: see [`select_at`].
pub fn select(
    choice: MeterChoice,
    gpu_backend: bool,
    powercap_root: &Path,
    gpu_index: u32,
) -> Result<Selection, MeterError> {
    select_at(
        choice,
        gpu_backend,
        powercap_root,
        Path::new(HWMON_ROOT),
        gpu_index,
    )
}

/// Picks a meter. `auto`: NVML when `gpu_backend`, else RAPL; when that is unavailable, hwmon
/// when it has a counted device of the backend's kind ([`hwmon_for_auto`]); else no meter
/// (estimate) with the reason. An explicitly requested meter that is unavailable is an error
/// (for hwmon also when nothing it found would be counted).
pub fn select_at(
    choice: MeterChoice,
    gpu_backend: bool,
    powercap_root: &Path,
    hwmon_root: &Path,
    gpu_index: u32,
) -> Result<Selection, MeterError> {
    let open_rapl = || {
        RaplMeter::open_at(powercap_root, Arc::new(RealFs))
            .map(|m| Box::new(m) as Box<dyn EnergyMeter>)
    };
    let mut nvml_about = String::new();
    let mut open_nvml = || {
        NvmlMeter::open(gpu_index).map(|m| {
            nvml_about = m.selection_note();
            Box::new(m) as Box<dyn EnergyMeter>
        })
    };
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
            note: format!("nvml requested (--gpu {gpu_index}): {nvml_about}"),
        }),
        MeterChoice::Hwmon => {
            let m = HwmonMeter::open_at(hwmon_root, Arc::new(RealFs))?;
            if !m.has_total() {
                return Err(MeterError::Unavailable {
                    meter: "hwmon".into(),
                    reason: format!(
                        "the channels under {} are all parts or of unknown coverage, so nothing \
                         would be counted (see `joulebench meters --hwmon-root {}`)",
                        hwmon_root.display(),
                        hwmon_root.display()
                    ),
                });
            }
            let mut note = format!("hwmon requested ({})", hwmon_root.display());
            for n in m.notes() {
                note.push_str("; ");
                note.push_str(n);
            }
            Ok(Selection {
                meter: Some(Box::new(m)),
                note,
            })
        }
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
                        "auto: {name} ({} backend){}",
                        if gpu_backend { "GPU" } else { "CPU" },
                        if gpu_backend {
                            format!(": {nvml_about}")
                        } else {
                            String::new()
                        }
                    ),
                },
                Err(e) => match hwmon_for_auto(gpu_backend, hwmon_root) {
                    Ok((m, counted)) => Selection {
                        meter: Some(Box::new(m)),
                        note: format!("auto: no {name} meter ({e}); hwmon instead ({counted})"),
                    },
                    Err(why) => Selection {
                        meter: None,
                        note: format!("auto: no {name} meter ({e}); no hwmon fallback ({why})"),
                    },
                },
            })
        }
    }
}
