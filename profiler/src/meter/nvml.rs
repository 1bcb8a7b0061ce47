//! NVIDIA GPUs through NVML: whole-board energy of the GPU that CUDA calls device N.
//!
//! The meter works over an [`NvmlDevice`] (the real one over nvml-wrapper, or
//! [`FakeNvmlDevice`](crate::meter::nvml_device::FakeNvmlDevice) in tests) and a shared clock.
//!
//! * **Which GPU.** `--gpu N` is CUDA device N. NVML ignores `CUDA_VISIBLE_DEVICES` and numbers
//!   GPUs its own way, so N is mapped onto an NVML device by [`nvml_index_for_cuda`] (UUIDs and PCI
//!   bus ids, `CUDA_VISIBLE_DEVICES` and `CUDA_DEVICE_ORDER`). Under CUDA's default order,
//!   `FASTEST_FIRST`, CUDA's numbering of several GPUs cannot be known from NVML: PCI bus order is
//!   assumed and a note says so (not an error: on the usual machine of identical GPUs the two
//!   orders agree; `CUDA_DEVICE_ORDER=PCI_BUS_ID` or a `GPU-…` UUID makes the mapping exact).
//! * **Energy counter** (Volta and newer): difference of `nvmlDeviceGetTotalEnergyConsumption`
//!   (mJ since the driver loaded; no wrap-around in practice, so a decrease is an error, never a
//!   negative energy). Its update period is **measured at open**: the counter is read every
//!   [`PROBE_STEP`] for at most [`PROBE_MAX`] and the median interval between changes is the
//!   domain's `update_period_s` (energy windows are ≥ 100 × that long); the median step seen is its
//!   `resolution_j` (the energy of one update at the power drawn at open: a window's two edges are
//!   uncertain by about one step). A window over which the counter did not move reads a valid
//!   0 J (the energy measurement rejects and re-runs such windows).
//! * **Older boards**: `nvmlDeviceGetPowerUsage` (mW) polled every `poll_period` in a background
//!   thread and integrated with the trapezoid rule over exactly the window (linear interpolation
//!   at its edges).
//! * **MIG**: with MIG mode enabled the counter is still the whole GPU's (every MIG instance on
//!   it). The meter is not refused — the reading is a true whole-board energy — but the domain
//!   note, the selection note and `joulebench meters --json` warn that it is not this instance's.
//!
//! Caveat shown with every reading: NVML reports the **whole device** (every process on the
//! GPU, memory, fans), not just this model.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};

use crate::clock::MonotonicClock;
use crate::error::MeterError;
pub use crate::meter::integrate::trapezoid_j;
use crate::meter::nvml_device::{DeviceError, DeviceIdentity, NvmlDevice, RealNvmlDevice};
use crate::meter::rapl::SharedClock;
use crate::meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, ReadingSource, WindowStart,
};

/// Default power polling period.
pub const DEFAULT_POLL_PERIOD: Duration = Duration::from_millis(20);
/// Longest the energy counter is watched at open to measure its update period.
pub const PROBE_MAX: Duration = Duration::from_millis(500);
/// Pause between two reads of the counter while probing (a near-tight loop: NVML's counter
/// updates every few to ~100 ms).
pub const PROBE_STEP: Duration = Duration::from_millis(1);
/// The probe stops early after this many counter changes (five intervals).
pub const PROBE_CHANGES: usize = 6;
/// Upper bound on the probe's reads, whatever the clock does.
pub const PROBE_MAX_READS: usize = 5_000;
/// The energy counter's unit, joules (1 mJ).
pub const COUNTER_UNIT_J: f64 = 1e-3;

/// The environment variables of the CUDA runtime that decide which GPU is CUDA device N.
pub const CUDA_VISIBLE_DEVICES: &str = "CUDA_VISIBLE_DEVICES";
/// See [`CUDA_VISIBLE_DEVICES`].
pub const CUDA_DEVICE_ORDER: &str = "CUDA_DEVICE_ORDER";

/// A clear sentence for an NVML error, saying what is missing.
pub fn describe_nvml_error(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(inner) => format!(
            "the NVIDIA management library (libnvidia-ml.so) could not be loaded — no NVIDIA driver is \
             installed on this machine ({inner})"
        ),
        NvmlError::LibraryNotFound => {
            "the NVIDIA management library (libnvidia-ml.so) was not found — no NVIDIA driver installed".into()
        }
        NvmlError::DriverNotLoaded => "libnvidia-ml is present but the NVIDIA kernel driver is not loaded \
             (no GPU in this machine, or the nvidia module failed to load)"
            .into(),
        NvmlError::NoPermission => "no permission to talk to the NVIDIA driver (check the \
             permissions of /dev/nvidia*, or run in the video group)"
            .into(),
        NvmlError::NotFound => "no such GPU: NVML does not see a device at this index".into(),
        NvmlError::GpuLost => "the GPU has fallen off the bus or is otherwise inaccessible".into(),
        NvmlError::FailedToLoadSymbol(s) => format!("libnvidia-ml is too old or broken (missing symbol {s})"),
        other => other.to_string(),
    }
}

fn unavailable(reason: String) -> MeterError {
    MeterError::Unavailable {
        meter: "nvml".into(),
        reason,
    }
}

fn nvml_err(what: &str, e: DeviceError) -> MeterError {
    MeterError::Nvml(format!("{what}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// CUDA device N → NVML device

/// `CUDA_VISIBLE_DEVICES` and `CUDA_DEVICE_ORDER` as this process sees them (None when unset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CudaEnv {
    pub visible: Option<String>,
    pub order: Option<String>,
}

impl CudaEnv {
    /// Reads both variables from this process's environment.
    pub fn from_process() -> Self {
        CudaEnv {
            visible: std::env::var(CUDA_VISIBLE_DEVICES).ok(),
            order: std::env::var(CUDA_DEVICE_ORDER).ok(),
        }
    }
}

/// The GPU that CUDA device N is, as NVML knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedDevice {
    /// The CUDA device number asked for (`--gpu`).
    pub cuda_index: u32,
    /// That GPU's NVML index (nvidia-smi's numbering).
    pub nvml_index: u32,
    pub uuid: String,
    pub pci_bus_id: String,
    /// The `MIG-…` entry of `CUDA_VISIBLE_DEVICES` when CUDA device N is a MIG instance (its
    /// parent GPU is the one above, and NVML's energy is that whole GPU's).
    pub mig_device: Option<String>,
    /// False when the mapping rests on an assumption (CUDA's FASTEST_FIRST order over several
    /// GPUs, an unresolved MIG device); the notes say which.
    pub exact: bool,
    /// How the GPU was found, one phrase.
    pub how: String,
    /// Assumptions and warnings (empty when there is nothing to say).
    pub notes: Vec<String>,
}

impl MappedDevice {
    /// `CUDA device 0 = NVML device 1 (GPU-…, PCI 00000000:3B:00.0)`.
    pub fn summary(&self) -> String {
        format!(
            "CUDA device {} = NVML device {} ({}, PCI {}{})",
            self.cuda_index,
            self.nvml_index,
            self.uuid,
            self.pci_bus_id,
            match &self.mig_device {
                Some(m) => format!(", MIG instance {m}"),
                None => String::new(),
            }
        )
    }
}

/// A PCI bus id as numbers (domain, bus, device, function), so that `0000:3b:00.0` and
/// `00000000:3B:00.0` compare equal; ids that do not parse sort last, by text.
fn pci_key(id: &str) -> (u64, u64, u64, u64, String) {
    let parsed = (|| {
        let mut parts = id.trim().split(':');
        let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (dev, func) = c.split_once('.')?;
        let hex = |s: &str| u64::from_str_radix(s, 16).ok();
        Some((hex(a)?, hex(b)?, hex(dev)?, hex(func)?))
    })();
    match parsed {
        Some((a, b, c, d)) => (a, b, c, d, String::new()),
        None => (u64::MAX, u64::MAX, u64::MAX, u64::MAX, id.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// No CUDA_VISIBLE_DEVICES: every GPU, in CUDA's order.
    All,
    /// An integer entry: an index into CUDA's order of every GPU.
    Index,
    /// A `GPU-…` UUID (prefix) entry.
    Uuid,
    /// A `MIG-…` entry resolved to its parent GPU.
    Mig,
    /// A `MIG-…` entry assumed to be on the only GPU with MIG mode enabled.
    MigAssumed,
}

struct Visible<'a> {
    dev: &'a DeviceIdentity,
    via: Via,
    entry: String,
}

/// Maps CUDA device `cuda_index` onto one of `devices` (NVML's list), the way the CUDA runtime
/// numbers GPUs:
///
/// * the GPUs CUDA can see are every GPU, or those `visible` (`CUDA_VISIBLE_DEVICES`) lists, in
///   its order. Entries are integers (indices into CUDA's order of all GPUs), `GPU-<uuid>` (a
///   prefix is enough, as CUDA allows, when it matches one GPU) or `MIG-…` (a MIG instance: its
///   parent GPU, with a note that the energy is the whole GPU's). As in CUDA, an invalid entry
///   hides itself and every entry after it; an empty value hides every GPU (an error here);
/// * CUDA's order of all GPUs is PCI bus order with `order` (`CUDA_DEVICE_ORDER`) =
///   `PCI_BUS_ID`. Under the default `FASTEST_FIRST`, CUDA's numbering of more than one GPU is
///   its own speed guess, which NVML cannot see: PCI bus order (and, for a list, the listed
///   order) is assumed, `exact` is false and a note says so and how to make it exact.
///
/// Errors (`Unavailable`, with the reason): no GPU at all, every GPU hidden, `cuda_index` past
/// the GPUs CUDA sees.
pub fn nvml_index_for_cuda(
    cuda_index: u32,
    visible: Option<&str>,
    order: Option<&str>,
    devices: &[DeviceIdentity],
) -> Result<MappedDevice, MeterError> {
    if devices.is_empty() {
        return Err(unavailable(no_gpu_reason()));
    }
    let n = devices.len();
    let mut notes = vec![];
    let order_pci = match order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("PCI_BUS_ID") => true,
        Some(o) if o.eq_ignore_ascii_case("FASTEST_FIRST") => false,
        Some(o) => {
            notes.push(format!(
                "{CUDA_DEVICE_ORDER}=`{o}` is neither PCI_BUS_ID nor FASTEST_FIRST: CUDA's \
                 default FASTEST_FIRST assumed"
            ));
            false
        }
    };
    let mut cuda_all: Vec<&DeviceIdentity> = devices.iter().collect();
    cuda_all.sort_by(|a, b| {
        pci_key(&a.pci_bus_id)
            .cmp(&pci_key(&b.pci_bus_id))
            .then(a.nvml_index.cmp(&b.nvml_index))
    });

    let mut list: Vec<Visible> = vec![];
    let mut invalid: Option<(String, String)> = None;
    match visible {
        None => list.extend(cuda_all.iter().map(|d| Visible {
            dev: d,
            via: Via::All,
            entry: String::new(),
        })),
        Some(v) if v.trim().is_empty() => {
            return Err(unavailable(format!(
                "{CUDA_VISIBLE_DEVICES} is set but empty: that hides every GPU from CUDA (NVML \
                 still sees {n}), so there is no CUDA device {cuda_index}; unset it or list the \
                 GPU to use"
            )));
        }
        Some(v) => {
            for raw in v.split(',') {
                match visible_entry(raw.trim(), &cuda_all, devices) {
                    Ok((dev, via)) => list.push(Visible {
                        dev,
                        via,
                        entry: raw.trim().to_string(),
                    }),
                    Err(why) => {
                        invalid = Some((raw.trim().to_string(), why));
                        break;
                    }
                }
            }
        }
    }
    let shown = visible
        .map(|v| format!("{CUDA_VISIBLE_DEVICES}=`{v}`"))
        .unwrap_or_else(|| format!("{CUDA_VISIBLE_DEVICES} unset"));
    let invalid_note = invalid.as_ref().map(|(e, why)| {
        format!(
            "{CUDA_VISIBLE_DEVICES} entry `{e}` is invalid ({why}): CUDA ignores it and every \
             entry after it"
        )
    });
    if list.is_empty() {
        return Err(unavailable(format!(
            "{shown} hides every GPU from CUDA (NVML still sees {n}): {}; so there is no CUDA \
             device {cuda_index}",
            invalid_note.unwrap_or_else(|| "no entry names a GPU".into())
        )));
    }
    let Some(chosen) = list.get(cuda_index as usize) else {
        return Err(unavailable(format!(
            "CUDA device {cuda_index} does not exist: CUDA sees {} GPU(s) ({shown}; NVML sees \
             {n}), numbered 0..{}{}",
            list.len(),
            list.len(),
            invalid_note.map(|s| format!("; {s}")).unwrap_or_default()
        )));
    };
    if let Some(s) = invalid_note {
        notes.push(s);
    }
    let dev = chosen.dev;
    let distinct = {
        let mut ids: Vec<u32> = list.iter().map(|v| v.dev.nvml_index).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    // Under FASTEST_FIRST, CUDA's number for a GPU is known only when CUDA sees one GPU that an
    // entry names by UUID (or there is one GPU in all).
    let ambiguous =
        !order_pci && n > 1 && (distinct > 1 || matches!(chosen.via, Via::All | Via::Index));
    let position = match chosen.via {
        Via::All => format!("PCI bus order of all {n} GPUs"),
        Via::Index => format!(
            "entry `{}` of {CUDA_VISIBLE_DEVICES} (an index into PCI bus order of all {n} GPUs)",
            chosen.entry
        ),
        Via::Uuid => format!("entry `{}` of {CUDA_VISIBLE_DEVICES} (UUID)", chosen.entry),
        Via::Mig | Via::MigAssumed => format!(
            "entry `{}` of {CUDA_VISIBLE_DEVICES} (MIG instance of this GPU)",
            chosen.entry
        ),
    };
    let how = if order_pci {
        format!("{position}, {CUDA_DEVICE_ORDER}=PCI_BUS_ID")
    } else {
        position
    };
    if ambiguous {
        notes.push(format!(
            "{CUDA_DEVICE_ORDER} is not PCI_BUS_ID: CUDA's default FASTEST_FIRST numbers GPUs by \
             its own speed guess, which NVML cannot see, so CUDA device {cuda_index} is assumed \
             to be NVML device {} ({}, PCI {}) by {how}; set {CUDA_DEVICE_ORDER}=PCI_BUS_ID, or \
             name the GPU by UUID in {CUDA_VISIBLE_DEVICES}, to make this exact",
            dev.nvml_index, dev.uuid, dev.pci_bus_id
        ));
    }
    let mig_device = match chosen.via {
        Via::Mig | Via::MigAssumed => {
            if chosen.via == Via::MigAssumed {
                notes.push(format!(
                    "MIG device `{}` could not be looked up: assumed to be on NVML device {}, the \
                     only GPU with MIG mode enabled",
                    chosen.entry, dev.nvml_index
                ));
            }
            notes.push(format!(
                "CUDA device {cuda_index} is MIG instance `{}` of GPU {}: NVML's energy is the \
                 whole GPU's (every MIG instance on it, its memory), not this instance's",
                chosen.entry, dev.uuid
            ));
            Some(chosen.entry.clone())
        }
        _ => None,
    };
    Ok(MappedDevice {
        cuda_index,
        nvml_index: dev.nvml_index,
        uuid: dev.uuid.clone(),
        pci_bus_id: dev.pci_bus_id.clone(),
        mig_device,
        exact: !ambiguous && chosen.via != Via::MigAssumed,
        how,
        notes,
    })
}

/// One `CUDA_VISIBLE_DEVICES` entry → a GPU, or why CUDA would reject it.
fn visible_entry<'a>(
    e: &str,
    cuda_all: &[&'a DeviceIdentity],
    devices: &'a [DeviceIdentity],
) -> Result<(&'a DeviceIdentity, Via), String> {
    let n = cuda_all.len();
    if e.is_empty() {
        return Err("empty entry".into());
    }
    if let Ok(i) = e.parse::<i64>() {
        return match usize::try_from(i) {
            Ok(i) if i < n => Ok((cuda_all[i], Via::Index)),
            Ok(_) => Err(format!(
                "index {i} is past the end: the machine has {n} GPU(s), 0..{n}"
            )),
            Err(_) => Err("a negative index".into()),
        };
    }
    let lower = e.to_ascii_lowercase();
    if lower.starts_with("gpu-") {
        let hits: Vec<&DeviceIdentity> = devices
            .iter()
            .filter(|d| d.uuid.to_ascii_lowercase().starts_with(&lower))
            .collect();
        return match hits.as_slice() {
            [d] => Ok((d, Via::Uuid)),
            [] => Err("no GPU's UUID starts with it".into()),
            more => Err(format!(
                "an ambiguous UUID prefix: {} GPUs match",
                more.len()
            )),
        };
    }
    if let Some(rest) = lower.strip_prefix("mig-") {
        // legacy form MIG-GPU-<gpu uuid>/<gi>/<ci> names its parent
        if rest.starts_with("gpu-") {
            let parent = rest.split('/').next().unwrap_or(rest);
            return match devices.iter().find(|d| d.uuid.eq_ignore_ascii_case(parent)) {
                Some(d) => Ok((d, Via::Mig)),
                None => Err(format!("no GPU has UUID {parent}")),
            };
        }
        if let Some(d) = devices
            .iter()
            .find(|d| d.mig_uuids.iter().any(|m| m.eq_ignore_ascii_case(e)))
        {
            return Ok((d, Via::Mig));
        }
        let mig: Vec<&DeviceIdentity> = devices.iter().filter(|d| d.mig_enabled).collect();
        return match mig.as_slice() {
            [d] => Ok((d, Via::MigAssumed)),
            [] => Err("a MIG device, but no GPU has MIG mode enabled".into()),
            more => Err(format!(
                "a MIG device that could not be found on any of the {} GPUs with MIG mode enabled",
                more.len()
            )),
        };
    }
    Err("neither an index, a GPU-<uuid> nor a MIG-<uuid>".into())
}

fn no_gpu_reason() -> String {
    format!(
        "libnvidia-ml is loaded and the driver answers, but it reports no GPU (0 devices): none \
         is installed, or the container was started without GPUs (--gpus / the NVIDIA runtime). \
         ({CUDA_VISIBLE_DEVICES} does not hide GPUs from NVML, only from CUDA)"
    )
}

/// Checks an NVML index against the number of GPUs NVML reports: zero GPUs (the library and
/// driver are present but no device is visible, e.g. a container without `--gpus`) and an index
/// out of range are `Unavailable` errors saying so.
pub fn check_gpu_index(count: u32, index: u32) -> Result<(), MeterError> {
    if count == 0 {
        return Err(unavailable(no_gpu_reason()));
    }
    if index >= count {
        return Err(unavailable(format!(
            "NVML device index {index} out of range: NVML sees {count} GPU(s) (0..{count})"
        )));
    }
    Ok(())
}

/// The identities of `devices` (NVML order), for [`nvml_index_for_cuda`]: a GPU that cannot
/// report its UUID or PCI bus id gets a placeholder that no entry matches (and sorts last).
pub fn identities(devices: &[Box<dyn NvmlDevice>], visible: Option<&str>) -> Vec<DeviceIdentity> {
    let mig_entries: Vec<&str> = visible
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| e.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("mig-")))
        .collect();
    devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut id = DeviceIdentity::new(
                i as u32,
                d.uuid().unwrap_or_else(|e| format!("(UUID unknown: {e})")),
                d.pci_bus_id()
                    .unwrap_or_else(|e| format!("(PCI bus id unknown: {e})")),
            );
            id.mig_enabled = d.mig_mode_enabled().unwrap_or(false);
            id.mig_uuids = mig_entries
                .iter()
                .filter(|m| d.owns_mig_device(m) == Some(true))
                .map(|m| m.to_string())
                .collect();
            id
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// System report

/// GPU facts for the system report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// NVML index (nvidia-smi's numbering; CUDA's may differ, see [`nvml_index_for_cuda`]).
    pub index: u32,
    pub name: String,
    pub driver: String,
    /// Enforced power limit, watts (None when NVML does not report it).
    pub power_limit_w: Option<f64>,
    /// Whether the board has the total-energy counter (Volta+).
    pub energy_counter: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    /// MIG mode enabled (None when the board has no MIG or NVML does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mig_enabled: Option<bool>,
}

/// Lists the GPUs NVML sees (NVML order); `Err` with a clear reason when NVML is unusable.
pub fn gpu_info() -> Result<Vec<GpuInfo>, String> {
    let nvml = Arc::new(Nvml::init().map_err(|e| describe_nvml_error(&e))?);
    let driver = nvml
        .sys_driver_version()
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let n = nvml.device_count().map_err(|e| describe_nvml_error(&e))?;
    let mut out = vec![];
    for i in 0..n {
        let d = RealNvmlDevice::new(nvml.clone(), i);
        out.push(GpuInfo {
            index: i,
            name: d.name().unwrap_or_else(|e| format!("unknown ({e})")),
            driver: driver.clone(),
            power_limit_w: d.power_limit_mw().ok().map(|mw| mw as f64 / 1000.0),
            energy_counter: d.total_energy_mj().is_ok(),
            uuid: d.uuid().ok(),
            pci_bus_id: d.pci_bus_id().ok(),
            mig_enabled: d.mig_mode_enabled().ok(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Update period

/// What watching the energy counter at open showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateProbe {
    /// How long the counter was watched, seconds.
    pub seconds: f64,
    /// Reads of the counter.
    pub reads: usize,
    /// Times it changed.
    pub changes: usize,
    /// Median interval between changes, seconds; when fewer than two changes were seen, the
    /// time watched (a lower bound).
    pub update_period_s: f64,
    /// Whether `update_period_s` is a measured interval (false: a lower bound).
    pub measured: bool,
    /// The counter changed at every read: it updates at least this often (`update_period_s` is
    /// then an upper bound set by the read interval).
    pub every_read: bool,
    /// Median change of the counter per update, joules (None when it never changed).
    pub step_j: Option<f64>,
}

impl UpdateProbe {
    /// The resolution that results: one update's step (at least the counter's 1 mJ unit).
    pub fn resolution_j(&self) -> f64 {
        self.step_j.unwrap_or(COUNTER_UNIT_J).max(COUNTER_UNIT_J)
    }

    /// One sentence for the domain note.
    pub fn describe(&self) -> String {
        let period = if !self.measured {
            format!(
                "did not change twice in {:.2} s at open ({} change(s) in {} reads): update \
                 period taken as ≥ {:.0} ms",
                self.seconds,
                self.changes,
                self.reads,
                self.update_period_s * 1e3
            )
        } else if self.every_read {
            format!(
                "changed at every read at open ({} reads in {:.2} s): it updates at least every \
                 {:.1} ms",
                self.reads,
                self.seconds,
                self.update_period_s * 1e3
            )
        } else {
            format!(
                "update period measured at open: {:.1} ms (median of {} intervals between \
                 counter changes, {} reads in {:.2} s)",
                self.update_period_s * 1e3,
                self.changes.saturating_sub(1),
                self.reads,
                self.seconds
            )
        };
        match self.step_j {
            Some(s) => format!(
                "{period}; steps of {s:.3} J then (one update's energy at the power drawn at \
                 open, larger under load): a window's edges are uncertain by about one step"
            ),
            None => format!("{period}; resolution: the counter's 1 mJ unit (stated)"),
        }
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

/// Watches the energy counter of `device`, reading it every `step` for at most `max` (and at
/// most [`PROBE_MAX_READS`] reads, stopping after [`PROBE_CHANGES`] changes), and measures the
/// interval between its changes. A counter that goes backwards is an error.
pub fn probe_update_period(
    device: &dyn NvmlDevice,
    clock: &dyn SharedClock,
    max: Duration,
    step: Duration,
) -> Result<UpdateProbe, MeterError> {
    let read = || {
        device
            .total_energy_mj()
            .map_err(|e| nvml_err("reading the energy counter", e))
    };
    let t0 = clock.now();
    let mut prev = read()?;
    let mut reads = 1;
    let mut change_t = vec![];
    let mut steps = vec![];
    while clock.now().saturating_sub(t0) < max
        && change_t.len() < PROBE_CHANGES
        && reads < PROBE_MAX_READS
    {
        clock.sleep(step);
        let e = read()?;
        reads += 1;
        let t = clock.now().saturating_sub(t0).as_secs_f64();
        if e < prev {
            return Err(MeterError::Nvml(format!(
                "the energy counter went backwards while its update period was measured \
                 ({prev} → {e} mJ): refusing a counter that would give negative energies"
            )));
        }
        if e != prev {
            change_t.push(t);
            steps.push((e - prev) as f64 * COUNTER_UNIT_J);
            prev = e;
        }
    }
    let seconds = clock.now().saturating_sub(t0).as_secs_f64();
    let mut intervals: Vec<f64> = change_t.windows(2).map(|w| w[1] - w[0]).collect();
    let (update_period_s, measured) = match median(&mut intervals) {
        Some(p) => (p, true),
        None => (seconds.max(step.as_secs_f64()), false),
    };
    Ok(UpdateProbe {
        seconds,
        reads,
        changes: change_t.len(),
        update_period_s,
        measured,
        every_read: measured && change_t.len() + 1 == reads,
        step_j: median(&mut steps),
    })
}

// ---------------------------------------------------------------------------------------------
// The meter

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    EnergyCounter,
    PowerPolling,
}

struct Poller {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<Vec<(f64, f64)>, String>>,
}

/// What the NVML meter measures, for `joulebench meters --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NvmlMeterInfo {
    pub gpu_name: String,
    /// The GPU CUDA device N was mapped onto, and how.
    pub device: MappedDevice,
    /// MIG mode (None when the board has no MIG or NVML does not say).
    pub mig_enabled: Option<bool>,
    pub power_limit_w: Option<f64>,
    /// `total_energy_consumption` or `power_usage`.
    pub counter: String,
    /// The domain's update period, seconds (measured for the energy counter, the polling period
    /// otherwise).
    pub update_period_s: f64,
    /// The domain's resolution, joules.
    pub resolution_j: f64,
    /// The measurement of the counter's update period (energy counter only).
    pub probe: Option<UpdateProbe>,
}

/// Energy of one GPU through NVML.
pub struct NvmlMeter {
    device: Arc<dyn NvmlDevice>,
    mapped: MappedDevice,
    gpu_name: String,
    mode: Mode,
    mig_enabled: Option<bool>,
    power_limit_w: Option<f64>,
    probe: Option<UpdateProbe>,
    poll_period: Duration,
    poller: Option<Poller>,
    clock: Arc<dyn SharedClock>,
}

impl NvmlMeter {
    /// Opens the GPU that CUDA calls device `cuda_index` (this process's
    /// `CUDA_VISIBLE_DEVICES` / `CUDA_DEVICE_ORDER`), measuring its counter's update period
    /// (≤ [`PROBE_MAX`]). Errors (never panics) when the library, the driver or the device is
    /// missing, or the device reports neither energy nor power.
    pub fn open(cuda_index: u32) -> Result<Self, MeterError> {
        let nvml = Nvml::init().map_err(|e| unavailable(describe_nvml_error(&e)))?;
        let count = nvml
            .device_count()
            .map_err(|e| unavailable(describe_nvml_error(&e)))?;
        check_gpu_index(count, 0)?;
        let nvml = Arc::new(nvml);
        let devices: Vec<Box<dyn NvmlDevice>> = (0..count)
            .map(|i| Box::new(RealNvmlDevice::new(nvml.clone(), i)) as Box<dyn NvmlDevice>)
            .collect();
        Self::open_with(
            devices,
            cuda_index,
            &CudaEnv::from_process(),
            Arc::new(MonotonicClock::new()),
        )
    }

    /// Opens CUDA device `cuda_index` among `devices` (in NVML order) under `env`: maps it
    /// ([`nvml_index_for_cuda`]), then [`Self::from_device`].
    pub fn open_with(
        devices: Vec<Box<dyn NvmlDevice>>,
        cuda_index: u32,
        env: &CudaEnv,
        clock: Arc<dyn SharedClock>,
    ) -> Result<Self, MeterError> {
        let ids = identities(&devices, env.visible.as_deref());
        let mapped = nvml_index_for_cuda(
            cuda_index,
            env.visible.as_deref(),
            env.order.as_deref(),
            &ids,
        )?;
        check_gpu_index(devices.len() as u32, mapped.nvml_index)?;
        let device = devices
            .into_iter()
            .nth(mapped.nvml_index as usize)
            .expect("index checked");
        Self::from_device(device, mapped, clock)
    }

    /// A meter over one device: finds how it reports energy (counter, else power), reads its
    /// MIG mode and power limit, and measures the counter's update period with `clock`.
    pub fn from_device(
        device: Box<dyn NvmlDevice>,
        mapped: MappedDevice,
        clock: Arc<dyn SharedClock>,
    ) -> Result<Self, MeterError> {
        let device: Arc<dyn NvmlDevice> = Arc::from(device);
        let gpu_name = device
            .name()
            .unwrap_or_else(|_| format!("GPU {}", mapped.nvml_index));
        let mode = match device.total_energy_mj() {
            Ok(_) => Mode::EnergyCounter,
            Err(DeviceError::NotSupported) => {
                device.power_mw().map_err(|e| {
                    unavailable(format!(
                        "{} ({}) reports neither energy nor power: {e}",
                        gpu_name,
                        mapped.summary()
                    ))
                })?;
                Mode::PowerPolling
            }
            Err(DeviceError::Failed(e)) => return Err(unavailable(e)),
        };
        let probe = match mode {
            Mode::EnergyCounter => Some(probe_update_period(
                device.as_ref(),
                clock.as_ref(),
                PROBE_MAX,
                PROBE_STEP,
            )?),
            Mode::PowerPolling => None,
        };
        let mig_enabled = device.mig_mode_enabled().ok();
        let power_limit_w = device.power_limit_mw().ok().map(|mw| mw as f64 / 1000.0);
        Ok(NvmlMeter {
            device,
            mapped,
            gpu_name,
            mode,
            mig_enabled,
            power_limit_w,
            probe,
            poll_period: DEFAULT_POLL_PERIOD,
            poller: None,
            clock,
        })
    }

    /// Power polling period (only used on boards without the energy counter).
    pub fn with_poll_period(mut self, p: Duration) -> Self {
        self.poll_period = p;
        self
    }

    pub fn uses_energy_counter(&self) -> bool {
        self.mode == Mode::EnergyCounter
    }

    /// The GPU CUDA device N was mapped onto.
    pub fn device(&self) -> &MappedDevice {
        &self.mapped
    }

    /// The update-period measurement made at open (energy counter only).
    pub fn update_probe(&self) -> Option<&UpdateProbe> {
        self.probe.as_ref()
    }

    pub fn mig_enabled(&self) -> Option<bool> {
        self.mig_enabled
    }

    fn domain_name(&self) -> String {
        format!("gpu{}", self.mapped.cuda_index)
    }

    fn mig_warning(&self) -> Option<String> {
        (self.mig_enabled == Some(true)).then(|| {
            "MIG mode is enabled on this GPU: the energy is the whole GPU's — every MIG instance \
             on it, whoever runs there — not this process's instance alone"
                .to_string()
        })
    }

    fn resolution_and_period(&self) -> (f64, f64) {
        match (self.mode, &self.probe) {
            (Mode::EnergyCounter, Some(p)) => (p.resolution_j(), p.update_period_s),
            (Mode::EnergyCounter, None) => (COUNTER_UNIT_J, PROBE_MAX.as_secs_f64()),
            // 1 mW resolution over one polling period
            (Mode::PowerPolling, _) => (
                1e-3 * self.poll_period.as_secs_f64(),
                self.poll_period.as_secs_f64(),
            ),
        }
    }

    /// What was selected, for the selection note: the mapping, its assumptions, the counter's
    /// measured update period and the MIG warning.
    pub fn selection_note(&self) -> String {
        let (res, period) = self.resolution_and_period();
        let mut parts = vec![format!(
            "{}: {} via {}",
            self.gpu_name,
            self.mapped.summary(),
            self.mapped.how
        )];
        parts.extend(self.mapped.notes.iter().cloned());
        parts.push(match self.mode {
            Mode::EnergyCounter => format!(
                "energy counter updates every {:.1} ms{} → resolution {:.3} J",
                period * 1e3,
                match &self.probe {
                    Some(p) if p.measured => " (measured at open)",
                    _ => " (lower bound: it barely moved at open)",
                },
                res
            ),
            Mode::PowerPolling => format!(
                "no energy counter: power polled every {:.0} ms",
                period * 1e3
            ),
        });
        parts.extend(self.mig_warning());
        parts.join("; ")
    }

    /// The facts `joulebench meters --json` lists for this meter.
    pub fn info(&self) -> NvmlMeterInfo {
        let (resolution_j, update_period_s) = self.resolution_and_period();
        NvmlMeterInfo {
            gpu_name: self.gpu_name.clone(),
            device: self.mapped.clone(),
            mig_enabled: self.mig_enabled,
            power_limit_w: self.power_limit_w,
            counter: match self.mode {
                Mode::EnergyCounter => "total_energy_consumption",
                Mode::PowerPolling => "power_usage",
            }
            .into(),
            update_period_s,
            resolution_j,
            probe: self.probe.clone(),
        }
    }

    fn read_energy_mj(&self) -> Result<u64, MeterError> {
        self.device
            .total_energy_mj()
            .map_err(|e| nvml_err("reading the energy counter", e))
    }

    fn stop_poller(&mut self) -> Option<Result<Vec<(f64, f64)>, MeterError>> {
        let p = self.poller.take()?;
        p.stop.store(true, Ordering::SeqCst);
        Some(
            p.handle
                .join()
                .map_err(|_| MeterError::Nvml("power polling thread panicked".into()))
                .and_then(|r| r.map_err(MeterError::Nvml)),
        )
    }
}

impl Drop for NvmlMeter {
    fn drop(&mut self) {
        let _ = self.stop_poller();
    }
}

/// Energy over exactly `[t0, t1]` from `(seconds, watts)` samples sorted by time: the power is
/// interpolated linearly between samples and held constant before the first and after the last,
/// then integrated with the trapezoid rule. No samples, or `t1 ≤ t0` → 0.
pub fn integrate_window(samples: &[(f64, f64)], t0: f64, t1: f64) -> f64 {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return 0.0;
    };
    if t1 <= t0 {
        return 0.0;
    }
    let at = |t: f64| -> f64 {
        if t <= first.0 {
            return first.1;
        }
        if t >= last.0 {
            return last.1;
        }
        let i = samples.partition_point(|s| s.0 <= t);
        let (a, b) = (samples[i - 1], samples[i]);
        if b.0 == a.0 {
            b.1
        } else {
            a.1 + (b.1 - a.1) * (t - a.0) / (b.0 - a.0)
        }
    };
    let mut pts = vec![(t0, at(t0))];
    pts.extend(samples.iter().copied().filter(|s| s.0 > t0 && s.0 < t1));
    pts.push((t1, at(t1)));
    trapezoid_j(&pts)
}

impl EnergyMeter for NvmlMeter {
    fn name(&self) -> &str {
        "nvml"
    }

    fn domains(&self) -> Vec<DomainInfo> {
        let (resolution_j, update_period_s) = self.resolution_and_period();
        let how = match (self.mode, &self.probe) {
            (Mode::EnergyCounter, Some(p)) => {
                format!("total_energy_consumption (mJ), {}", p.describe())
            }
            (Mode::EnergyCounter, None) => "total_energy_consumption (mJ)".into(),
            (Mode::PowerPolling, _) => format!(
                "power_usage (mW) polled every {:?}, trapezoid rule",
                self.poll_period
            ),
        };
        let mut note = format!(
            "{} ({}{}): {how}; whole device (all processes, memory, fans), not this model alone",
            self.gpu_name,
            self.mapped.summary(),
            if self.mapped.exact {
                ""
            } else {
                ", mapping assumed: see the selection note"
            }
        );
        if let Some(w) = self.mig_warning() {
            note = format!("{note}; {w}");
        }
        vec![DomainInfo {
            name: self.domain_name(),
            kind: DomainKind::Gpu,
            resolution_j,
            update_period_s,
            in_total: true,
            note,
        }]
    }

    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        match self.mode {
            Mode::EnergyCounter => {
                let raw = vec![self.read_energy_mj()?];
                Ok(WindowStart {
                    t: self.clock.now().as_secs_f64(),
                    raw,
                })
            }
            Mode::PowerPolling => {
                let _ = self.stop_poller();
                let t = self.clock.now().as_secs_f64();
                let stop = Arc::new(AtomicBool::new(false));
                let (device, clock, period, stop2) = (
                    self.device.clone(),
                    self.clock.clone(),
                    self.poll_period,
                    stop.clone(),
                );
                let handle = std::thread::spawn(move || -> Result<Vec<(f64, f64)>, String> {
                    let mut samples = vec![];
                    loop {
                        // stop is read before the sample, so the last sample is taken after
                        // the window's end time was read: the window is covered to its end
                        let stopping = stop2.load(Ordering::SeqCst);
                        let mw = device.power_mw().map_err(|e| format!("power_usage: {e}"))?;
                        samples.push((clock.now().as_secs_f64(), mw as f64 / 1000.0));
                        if stopping && samples.len() >= 2 {
                            break;
                        }
                        clock.sleep(period);
                    }
                    Ok(samples)
                });
                self.poller = Some(Poller { stop, handle });
                Ok(WindowStart { t, raw: vec![] })
            }
        }
    }

    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
        match self.mode {
            Mode::EnergyCounter => {
                let end = self.read_energy_mj()?;
                let seconds = self.clock.now().as_secs_f64() - start.t;
                let &[s] = start.raw.as_slice() else {
                    return Err(MeterError::ForeignWindow(
                        "expected one NVML counter".into(),
                    ));
                };
                if end < s {
                    return Err(MeterError::CounterBackwards {
                        domain: self.domain_name(),
                        start: s.saturating_mul(1000),
                        end: end.saturating_mul(1000),
                        range: u64::MAX,
                        seconds,
                        implied_watts: f64::INFINITY,
                    });
                }
                if end == s {
                    tracing::debug!(
                        "nvml: the energy counter did not move over a {seconds:.3} s window (0 J)"
                    );
                }
                Ok(EnergyReading {
                    joules: vec![(end - s) as f64 * COUNTER_UNIT_J],
                    seconds,
                    source: ReadingSource::Measured {
                        counter: "nvml:total_energy_consumption".into(),
                    },
                })
            }
            Mode::PowerPolling => {
                if !start.raw.is_empty() {
                    return Err(MeterError::ForeignWindow(
                        "a power-polling window has no counter values".into(),
                    ));
                }
                let t1 = self.clock.now().as_secs_f64();
                let samples = self
                    .stop_poller()
                    .ok_or_else(|| MeterError::ForeignWindow("no window open".into()))??;
                Ok(EnergyReading {
                    joules: vec![integrate_window(&samples, start.t, t1)],
                    seconds: t1 - start.t,
                    source: ReadingSource::MeasuredPowerIntegration {
                        counter: "nvml:power_usage".into(),
                        period_s: self.poll_period.as_secs_f64(),
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_integral_clips_and_extends_the_samples() {
        let s = [(1.0, 100.0), (2.0, 200.0), (3.0, 200.0)];
        // [1.5, 2.5]: 150→200 over 0.5 s (87.5 J) + 200 W × 0.5 s (100 J)
        assert!((integrate_window(&s, 1.5, 2.5) - 187.5).abs() < 1e-9);
        // before the first sample and after the last: held constant
        assert!((integrate_window(&s, 0.0, 1.0) - 100.0).abs() < 1e-9);
        assert!((integrate_window(&s, 3.0, 4.0) - 200.0).abs() < 1e-9);
        assert_eq!(integrate_window(&[], 0.0, 1.0), 0.0);
        assert_eq!(integrate_window(&s, 2.0, 2.0), 0.0);
    }

    #[test]
    fn pci_ids_compare_as_numbers() {
        assert_eq!(pci_key("00000000:3B:00.0"), pci_key("0000:3b:00.0"));
        assert!(pci_key("00000000:0A:00.0") < pci_key("00000000:3B:00.0"));
        assert!(pci_key("00000000:FF:00.0") < pci_key("garbage"));
    }

    #[test]
    fn nvml_errors_read_clearly() {
        assert!(describe_nvml_error(&NvmlError::DriverNotLoaded).contains("driver is not loaded"));
        assert!(describe_nvml_error(&NvmlError::LibraryNotFound).contains("libnvidia-ml"));
        assert_eq!(
            DeviceError::from(NvmlError::NotSupported),
            DeviceError::NotSupported
        );
    }

    #[test]
    fn library_present_without_a_device_is_a_clean_error() {
        let e = check_gpu_index(0, 0).unwrap_err();
        assert!(matches!(e, MeterError::Unavailable { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("nvml unavailable:") && msg.contains("reports no GPU (0 devices)"),
            "{msg}"
        );
        // CUDA_VISIBLE_DEVICES hides GPUs from CUDA, not from NVML: the message must not blame it
        assert!(
            msg.contains("does not hide GPUs from NVML, only from CUDA"),
            "{msg}"
        );
        let e = check_gpu_index(2, 2).unwrap_err();
        assert!(e.to_string().contains("index 2 out of range"), "{e}");
        check_gpu_index(2, 1).unwrap();
        // what a driver without the device answers, mapped to a sentence
        assert!(describe_nvml_error(&NvmlError::NotFound).contains("no such GPU"));
        assert!(describe_nvml_error(&NvmlError::NoPermission).contains("/dev/nvidia"));
    }

    #[test]
    fn missing_gpu_is_an_error_not_a_panic() {
        // No machine has 10 000 GPUs: with or without NVML this must be a clean error.
        let e = NvmlMeter::open(10_000)
            .err()
            .expect("index 10000 cannot exist");
        let msg = e.to_string();
        assert!(msg.starts_with("nvml unavailable:"), "{msg}");
    }
}
