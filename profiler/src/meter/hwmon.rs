//! Energy and power sensors of the Linux hwmon class (`/sys/class/hwmon`): AMD CPUs
//! (`amd_energy`), AMD GPUs (`amdgpu`), Intel discrete GPUs (`i915`, `xe`), NVIDIA Jetson boards
//! (`ina3221`) and any other driver that exposes energy or power.
//!
//! Layout read (entries `hwmonN` of `ROOT`, default [`HWMON_ROOT`]; a device whose `name` is not
//! in `hwmonN/` but in `hwmonN/device/`, as with some older drivers, is read there):
//! ```text
//! ROOT/hwmonN/name                          the driver: amd_energy, amdgpu, i915, xe, ina3221…
//! ROOT/hwmonN/energyK_input                 cumulative energy, µJ (difference over the window)
//! ROOT/hwmonN/powerK_input | powerK_average power, µW (polled and integrated)
//! ROOT/hwmonN/inK_input × currK_input       bus voltage mV × current mA = µW (ina3221 on kernels
//!                                           without powerK_input; polled and integrated)
//! ROOT/hwmonN/{energy,power,in,curr}K_label what channel K measures (e.g. VDD_IN, Esocket0)
//! ROOT/hwmonN/device                        link to the device (named in the domain note)
//! ```
//! Per device, energy counters are used when there are any; otherwise power channels
//! (`powerK_input`, else `powerK_average`); otherwise `inK_input` × `currK_input` pairs. One
//! device's power and energy channels are two views of the same thing and are never both read.
//!
//! What each device covers, so that a total never adds a part to its whole (`in_total`):
//! * `amd_energy`: `EsocketN` is a CPU socket ([`DomainKind::Package`], counted); `EcoreNNN`
//!   is one core *inside* its socket ([`DomainKind::Core`], listed, not counted).
//! * `amdgpu`, `i915`, `xe`: the GPU ([`DomainKind::Gpu`]); one channel per device is counted —
//!   the one labelled `card` (xe: `card` contains `pkg`), else the first — and the others are
//!   other views of the same device. (On an AMD APU, amdgpu's power is the whole APU socket.)
//! * `ina3221` (Jetson): the module input rail — label `VDD_IN`, `POM_5V_IN`, any label with an
//!   `IN` word — is the whole module ([`DomainKind::Module`], counted); the other rails (CPU, GPU,
//!   SOC…) are inside it ([`DomainKind::Rail`], listed, not counted).
//! * any other driver: [`DomainKind::Unknown`], listed with "unknown coverage", never counted.
//!
//! Devices are not assumed to contain one another (an `ina3221` input rail and an `amdgpu` are
//! both counted when both are present; a note says they may overlap).
//!
//! Counters: `energyK_input` has no published wrap range, so a decrease is an error
//! ([`MeterError::CounterBackwards`]), never a negative or invented energy. Resolution: the file
//! unit, 1 µJ (stated); `amd_energy` steps in the AMD RAPL unit 2⁻¹⁶ J ≈ 15.3 µJ.
//!
//! Power-only channels: a background thread started by `begin_window` reads every power channel
//! every `poll_period` (default [`DEFAULT_POLL_PERIOD`], 20 ms); `begin_window` and `end_window`
//! each take one sample themselves, so the integral spans exactly the window; `end_window` stops
//! and joins the thread and integrates each channel with the trapezoid rule
//! ([`trapezoid_j`]). Sample times come from the meter's clock ([`HwmonMeter::with_clock`]); the
//! thread waits on real time. A negative power or current reading (sensor noise around 0 on an
//! idle rail) counts as 0 W. Dropping the meter stops and joins the thread.
//!
//! Unreadable files (decided: skip the device, say so): a device is used whole or not at all. If
//! its `name` or any channel file cannot be read at open (EACCES for non-root users — `amd_energy`
//! makes its counters root-only on purpose — or another I/O error) or does not hold a number, the
//! whole device is skipped, and the meter's [`notes`](HwmonMeter::notes) name the file and the fix;
//! the other devices are still used. A channel that answers ENODATA, or an `ina3221` input disabled
//! by `inK_enable = 0`, is skipped alone (a note). With no usable device left, the meter is
//! unavailable and the reason says why for each device. A read failing mid-measurement is an error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::MonotonicClock;
use crate::error::MeterError;
use crate::meter::integrate::trapezoid_j;
use crate::meter::rapl::{RealFs, SharedClock, SysfsRead};
use crate::meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, ReadingSource, WindowStart,
};

/// Default hwmon root.
pub const HWMON_ROOT: &str = "/sys/class/hwmon";

/// Default polling period of power-only channels.
pub const DEFAULT_POLL_PERIOD: Duration = Duration::from_millis(20);

/// Typical update period stated for hwmon energy counters, seconds (not measured).
pub const ENERGY_UPDATE_PERIOD_S: f64 = 1e-3;

/// The AMD RAPL energy unit behind `amd_energy`, 2⁻¹⁶ J.
const AMD_ENERGY_UNIT_J: f64 = 1.0 / 65536.0;

/// `ENODATA` on Linux: what `ina3221` answers for an input that is not connected.
const ENODATA: i32 = 61;

/// How one channel is read.
#[derive(Debug, Clone)]
enum Source {
    /// `energyK_input`: cumulative µJ.
    Energy(PathBuf),
    /// `powerK_input` or `powerK_average`: µW.
    Power(PathBuf),
    /// `inK_input` (mV) × `currK_input` (mA) = µW.
    VoltCurrent { mv: PathBuf, ma: PathBuf },
}

impl Source {
    fn files(&self) -> Vec<&Path> {
        match self {
            Source::Energy(p) | Source::Power(p) => vec![p.as_path()],
            Source::VoltCurrent { mv, ma } => vec![mv.as_path(), ma.as_path()],
        }
    }
}

#[derive(Debug, Clone)]
struct Channel {
    name: String,
    kind: DomainKind,
    in_total: bool,
    /// What it covers (and whether it is counted), first part of the domain note.
    coverage: String,
    source: Source,
    /// Driver name (for the stated resolution).
    driver: String,
    /// The `device` link's target, when there is one.
    device: Option<String>,
}

struct Poller {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<Result<Vec<Sample>, MeterError>>,
}

/// A time (seconds on the meter's clock) and one power per power channel, watts.
type Sample = (f64, Vec<f64>);

/// hwmon meter: every usable energy or power channel under a root.
pub struct HwmonMeter {
    root: PathBuf,
    channels: Vec<Channel>,
    notes: Vec<String>,
    fs: Arc<dyn SysfsRead>,
    clock: Arc<dyn SharedClock>,
    poll_period: Duration,
    poller: Option<Poller>,
}

/// `energy12_input` → `("energy", 12, "input")`.
fn parse_attr(name: &str) -> Option<(&str, u32, &str)> {
    let (head, suffix) = name.split_once('_')?;
    let digits = head.find(|c: char| c.is_ascii_digit())?;
    let (prefix, n) = head.split_at(digits);
    if prefix.is_empty() {
        return None;
    }
    Some((prefix, n.parse().ok()?, suffix))
}

/// The `hwmonN` number, for sorting (`hwmon10` after `hwmon9`).
fn hwmon_index(name: &str) -> Option<u32> {
    name.strip_prefix("hwmon")?.parse().ok()
}

/// Whether an `ina3221` label names the module input rail: a word `IN` (`VDD_IN`, `POM_5V_IN`).
pub fn is_module_input(label: &str) -> bool {
    label
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .any(|w| w.eq_ignore_ascii_case("IN"))
}

/// The permission problem on `path`, with the fix.
fn permission_advice(path: &Path, driver: Option<&str>) -> String {
    let why = if driver == Some("amd_energy") {
        " (amd_energy makes its counters root-only on purpose since CVE-2020-12912: fine-grained \
         energy can leak what other processes compute, so opening them is a trade-off)"
    } else {
        ""
    };
    format!(
        "{p}: permission denied{why}. Fix: run as root, or `sudo chmod o+r {p}` (until reboot), \
         or a udev rule such as `SUBSYSTEM==\"hwmon\", ACTION==\"add\", RUN+=\"/bin/sh -c 'chmod o+r \
         /sys%p/energy*_input /sys%p/power*_input /sys%p/power*_average /sys%p/in*_input \
         /sys%p/curr*_input'\"`",
        p = path.display()
    )
}

/// A read error at open, in words (with the fix for EACCES).
fn describe_read_error(path: &Path, e: &std::io::Error, driver: Option<&str>) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        permission_advice(path, driver)
    } else {
        format!("{}: {e}", path.display())
    }
}

/// A read error mid-measurement (never the RAPL-specific permission advice).
fn read_error(path: &Path, source: std::io::Error) -> MeterError {
    MeterError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_int(fs: &dyn SysfsRead, path: &Path) -> Result<i64, MeterError> {
    let s = fs.read(path).map_err(|e| read_error(path, e))?;
    s.trim().parse::<i64>().map_err(|_| MeterError::Parse {
        path: path.to_path_buf(),
        content: s.trim().to_string(),
    })
}

fn read_counter(fs: &dyn SysfsRead, path: &Path) -> Result<u64, MeterError> {
    let s = fs.read(path).map_err(|e| read_error(path, e))?;
    s.trim().parse::<u64>().map_err(|_| MeterError::Parse {
        path: path.to_path_buf(),
        content: s.trim().to_string(),
    })
}

/// Power of one power channel, watts (negative readings count as 0 W).
fn read_watts(fs: &dyn SysfsRead, src: &Source) -> Result<f64, MeterError> {
    let uw = match src {
        Source::Power(p) => read_int(fs, p)? as f64,
        Source::VoltCurrent { mv, ma } => read_int(fs, mv)? as f64 * read_int(fs, ma)? as f64,
        Source::Energy(p) => {
            return Err(MeterError::ForeignWindow(format!(
                "{} is an energy counter, not a power channel",
                p.display()
            )))
        }
    };
    Ok((uw * 1e-6).max(0.0))
}

fn sample(
    fs: &dyn SysfsRead,
    clock: &dyn SharedClock,
    sources: &[Source],
) -> Result<Sample, MeterError> {
    let w = sources
        .iter()
        .map(|s| read_watts(fs, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((clock.now().as_secs_f64(), w))
}

/// A channel found in a device, before classification.
struct Candidate {
    /// `energy1`, `power2`, `channel3` (unlabelled name).
    chan: String,
    label: Option<String>,
    source: Source,
}

/// What scanning one device gave: its channels and notes, or why it is skipped.
struct DeviceScan {
    driver: String,
    channels: Vec<Channel>,
    notes: Vec<String>,
}

/// Reads one `hwmonN` device. `Err`: the device is skipped, with the reason.
fn scan_device(fs: &dyn SysfsRead, dir: &Path, dir_name: &str) -> Result<DeviceScan, String> {
    let name_path = dir.join("name");
    let (attr_dir, driver) = match fs.read(&name_path) {
        Ok(s) => (dir.to_path_buf(), s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let alt = dir.join("device").join("name");
            match fs.read(&alt) {
                Ok(s) => (dir.join("device"), s.trim().to_string()),
                Err(_) => return Err(format!("{dir_name}: no `name` file ({e})")),
            }
        }
        Err(e) => {
            return Err(format!(
                "{dir_name} skipped: {}",
                describe_read_error(&name_path, &e, None)
            ))
        }
    };
    let drv = driver.as_str();
    let files: BTreeSet<String> = std::fs::read_dir(&attr_dir)
        .map_err(|e| format!("{dir_name} ({drv}) skipped: {}: {e}", attr_dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let indices = |prefix: &str, suffix: &str| -> BTreeSet<u32> {
        files
            .iter()
            .filter_map(|f| parse_attr(f))
            .filter(|(p, _, s)| *p == prefix && *s == suffix)
            .map(|(_, n, _)| n)
            .collect()
    };
    let (mut notes, mut label_notes) = (vec![], vec![]);
    let mut label = |names: &[String]| -> Option<String> {
        for n in names {
            if !files.contains(n) {
                continue;
            }
            let p = attr_dir.join(n);
            match fs.read(&p) {
                Ok(s) if !s.trim().is_empty() => return Some(s.trim().to_string()),
                Ok(_) => {}
                Err(e) => label_notes.push(format!(
                    "{dir_name} ({drv}): label {} unreadable ({e}); the channel's coverage is \
                     then unknown",
                    p.display()
                )),
            }
        }
        None
    };
    let energies = indices("energy", "input");
    let powers: BTreeSet<u32> = indices("power", "input")
        .union(&indices("power", "average"))
        .copied()
        .collect();
    let mut candidates = vec![];
    if !energies.is_empty() {
        for n in energies {
            candidates.push(Candidate {
                chan: format!("energy{n}"),
                label: label(&[format!("energy{n}_label")]),
                source: Source::Energy(attr_dir.join(format!("energy{n}_input"))),
            });
        }
    } else if !powers.is_empty() {
        for n in powers {
            let input = format!("power{n}_input");
            let file = if files.contains(&input) {
                input
            } else {
                format!("power{n}_average")
            };
            candidates.push(Candidate {
                chan: format!("power{n}"),
                label: label(&[format!("power{n}_label")]),
                source: Source::Power(attr_dir.join(file)),
            });
        }
    } else {
        let volts = indices("in", "input");
        for n in indices("curr", "input").intersection(&volts) {
            let enable = attr_dir.join(format!("in{n}_enable"));
            if files.contains(&format!("in{n}_enable")) {
                if let Ok(s) = fs.read(&enable) {
                    if s.trim() == "0" {
                        notes.push(format!(
                            "{dir_name} ({drv}): channel {n} skipped: disabled ({} = 0)",
                            enable.display()
                        ));
                        continue;
                    }
                }
            }
            candidates.push(Candidate {
                chan: format!("channel{n}"),
                label: label(&[format!("in{n}_label"), format!("curr{n}_label")]),
                source: Source::VoltCurrent {
                    mv: attr_dir.join(format!("in{n}_input")),
                    ma: attr_dir.join(format!("curr{n}_input")),
                },
            });
        }
    }
    notes.append(&mut label_notes);
    // Every file once now: a permission or format problem skips the device here, with the fix.
    let mut kept = vec![];
    'candidates: for c in candidates {
        for p in c.source.files() {
            match fs.read(p) {
                Ok(s) if s.trim().parse::<i64>().is_ok() => {}
                Ok(s) => {
                    return Err(format!(
                        "{dir_name} ({drv}) skipped: {} holds `{}`, not a number",
                        p.display(),
                        s.trim()
                    ))
                }
                Err(e) if e.raw_os_error() == Some(ENODATA) => {
                    notes.push(format!(
                        "{dir_name} ({drv}): {} skipped: no data (input not connected)",
                        c.label.as_deref().unwrap_or(&c.chan)
                    ));
                    continue 'candidates;
                }
                Err(e) => {
                    return Err(format!(
                        "{dir_name} ({drv}) skipped: {}",
                        describe_read_error(p, &e, Some(drv))
                    ))
                }
            }
        }
        kept.push(c);
    }
    let device = std::fs::read_link(dir.join("device"))
        .ok()
        .and_then(|t| t.file_name().map(|f| f.to_string_lossy().to_string()));
    let channels = classify(dir_name, drv, device, kept);
    Ok(DeviceScan {
        driver,
        channels,
        notes,
    })
}

/// Domain name part for a channel: its label (spaces and slashes as `_`), else `energy1`…
fn channel_part(c: &Candidate) -> String {
    match &c.label {
        Some(l) => l
            .chars()
            .map(|ch| {
                if ch.is_whitespace() || ch == '/' {
                    '_'
                } else {
                    ch
                }
            })
            .collect(),
        None => c.chan.clone(),
    }
}

/// What each channel of a device covers (see the module doc).
fn classify(
    dir_name: &str,
    driver: &str,
    device: Option<String>,
    cands: Vec<Candidate>,
) -> Vec<Channel> {
    let gpu = matches!(driver, "amdgpu" | "i915" | "xe");
    let counted_gpu = cands
        .iter()
        .position(|c| {
            c.label
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("card"))
        })
        .unwrap_or(0);
    let module_rails: Vec<String> = cands
        .iter()
        .filter_map(|c| c.label.clone())
        .filter(|l| driver == "ina3221" && is_module_input(l))
        .collect();
    let counted_gpu_name = cands.get(counted_gpu).map(channel_part).unwrap_or_default();
    cands
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let part = channel_part(&c);
            let label = c.label.as_deref().unwrap_or("");
            let (kind, in_total, coverage) = match driver {
                "amd_energy" if label.starts_with("Esocket") => (
                    DomainKind::Package,
                    true,
                    format!(
                        "CPU socket {} (amd_energy): cores, caches, uncore",
                        &label[7..]
                    ),
                ),
                "amd_energy" if label.starts_with("Ecore") => (
                    DomainKind::Core,
                    false,
                    format!(
                        "core {} (amd_energy), inside its socket counter; listed, not added to \
                         the total",
                        &label[5..]
                    ),
                ),
                _ if gpu && i == counted_gpu => (
                    DomainKind::Gpu,
                    true,
                    format!(
                        "GPU ({driver}): the whole device (all processes, memory){}",
                        if driver == "amdgpu" {
                            "; on an APU, the whole APU socket (CPU cores included)"
                        } else {
                            ""
                        }
                    ),
                ),
                _ if gpu => (
                    DomainKind::Gpu,
                    false,
                    format!(
                        "another reading of the same GPU ({driver}, counted as \
                         {dir_name}/{driver}/{counted_gpu_name}); listed, not added to the total"
                    ),
                ),
                "ina3221" if is_module_input(label) => (
                    DomainKind::Module,
                    true,
                    format!("module input rail {label} (ina3221): the whole module or board"),
                ),
                "ina3221" if !module_rails.is_empty() => (
                    DomainKind::Rail,
                    false,
                    format!(
                        "rail {part} (ina3221), inside the module input {}; listed, not added to \
                         the total",
                        module_rails.join(", ")
                    ),
                ),
                "ina3221" => (
                    DomainKind::Rail,
                    false,
                    format!(
                        "rail {part} (ina3221); no module input rail (a label with an `IN` word) \
                         on this chip, so unknown coverage; listed, not added to the total"
                    ),
                ),
                _ => (
                    DomainKind::Unknown,
                    false,
                    format!(
                        "unknown coverage (driver `{driver}`{}); listed, not added to the total",
                        if label.is_empty() {
                            String::new()
                        } else {
                            format!(", label `{label}`")
                        }
                    ),
                ),
            };
            Channel {
                name: format!("{dir_name}/{driver}/{part}"),
                kind,
                in_total,
                coverage,
                source: c.source,
                driver: driver.to_string(),
                device: device.clone(),
            }
        })
        .collect()
}

impl HwmonMeter {
    /// Opens `/sys/class/hwmon` with the real file system.
    pub fn open() -> Result<Self, MeterError> {
        Self::open_at(Path::new(HWMON_ROOT), Arc::new(RealFs))
    }

    /// Opens the hwmon tree at `root`, reading files through `fs`. Every channel file is read
    /// once, so a permission problem is found here: the device is skipped and a note names the
    /// file and the fix (see the module doc). `Unavailable` when no device has a usable energy or
    /// power channel, with the reason for each device.
    pub fn open_at(root: &Path, fs: Arc<dyn SysfsRead>) -> Result<Self, MeterError> {
        let unavailable = |reason: String| MeterError::Unavailable {
            meter: "hwmon".into(),
            reason,
        };
        let entries = std::fs::read_dir(root).map_err(|e| {
            unavailable(format!(
                "no hwmon interface at {} ({e}); hwmon needs Linux with a sensor driver loaded \
                 (amd_energy for AMD CPUs, amdgpu, i915/xe for Intel GPUs, ina3221 on Jetson)",
                root.display()
            ))
        })?;
        let mut dirs: Vec<(u32, String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                hwmon_index(&name).map(|n| (n, name, e.path()))
            })
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(unavailable(format!(
                "{} has no hwmonN devices",
                root.display()
            )));
        }
        let (mut channels, mut notes, mut skipped, mut ignored) = (vec![], vec![], vec![], vec![]);
        for (_, name, dir) in &dirs {
            match scan_device(fs.as_ref(), dir, name) {
                Ok(s) if s.channels.is_empty() => {
                    ignored.push(format!("{name} ({})", s.driver));
                    notes.extend(s.notes);
                }
                Ok(s) => {
                    channels.extend(s.channels);
                    notes.extend(s.notes);
                }
                Err(why) => {
                    tracing::warn!("hwmon: {why}");
                    skipped.push(why);
                }
            }
        }
        if channels.is_empty() {
            let mut why = vec![];
            if !ignored.is_empty() {
                why.push(format!(
                    "no energy or power channels on {}",
                    ignored.join(", ")
                ));
            }
            why.extend(skipped);
            why.extend(notes);
            return Err(unavailable(format!(
                "no usable hwmon energy or power channel under {}: {}",
                root.display(),
                why.join("; ")
            )));
        }
        notes.extend(skipped);
        if !ignored.is_empty() {
            notes.push(format!(
                "no energy or power channels (ignored): {}",
                ignored.join(", ")
            ));
        }
        let counted_kinds: BTreeSet<String> = channels
            .iter()
            .filter(|c| c.in_total)
            .map(|c| format!("{:?}", c.kind).to_lowercase())
            .collect();
        if counted_kinds.contains("module") && counted_kinds.len() > 1 {
            notes.push(
                "a module input rail and other devices are all counted: if those devices are on \
                 that module, the total counts them twice"
                    .into(),
            );
        }
        Ok(HwmonMeter {
            root: root.to_path_buf(),
            channels,
            notes,
            fs,
            clock: Arc::new(MonotonicClock::new()),
            poll_period: DEFAULT_POLL_PERIOD,
            poller: None,
        })
    }

    /// Replaces the clock that times windows and power samples (tests).
    pub fn with_clock(mut self, clock: Arc<dyn SharedClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Polling period of power-only channels (default 20 ms).
    pub fn with_poll_period(mut self, p: Duration) -> Self {
        self.poll_period = p;
        self
    }

    /// Counts only the domains of `kinds`: every other counted domain is taken out of the total,
    /// its note saying `why` (used by `--meter auto`, which wants the CPU or the GPU only).
    pub fn count_only(mut self, kinds: &[DomainKind], why: &str) -> Self {
        for c in &mut self.channels {
            if c.in_total && !kinds.contains(&c.kind) {
                c.in_total = false;
                c.coverage = format!("{}; not added to the total: {why}", c.coverage);
            }
        }
        self
    }

    /// Whether any domain is counted in the total.
    pub fn has_total(&self) -> bool {
        self.channels.iter().any(|c| c.in_total)
    }

    /// Devices skipped or ignored, channels left out, and caveats, one sentence each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn poll_period(&self) -> Duration {
        self.poll_period
    }

    fn power_sources(&self) -> Vec<Source> {
        self.channels
            .iter()
            .filter(|c| !matches!(c.source, Source::Energy(_)))
            .map(|c| c.source.clone())
            .collect()
    }

    fn stop_poller(&mut self) -> Option<Result<Vec<Sample>, MeterError>> {
        let p = self.poller.take()?;
        {
            let (lock, cv) = &*p.stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
        Some(p.handle.join().unwrap_or_else(|_| {
            Err(MeterError::ForeignWindow(
                "hwmon power polling thread panicked".into(),
            ))
        }))
    }

    fn read_counters(&self) -> Result<Vec<u64>, MeterError> {
        self.channels
            .iter()
            .map(|c| match &c.source {
                Source::Energy(p) => read_counter(self.fs.as_ref(), p),
                _ => Ok(0),
            })
            .collect()
    }

    fn source(&self) -> ReadingSource {
        let counter = format!("hwmon:{}", self.root.display());
        if self.power_sources().is_empty() {
            ReadingSource::Measured { counter }
        } else {
            ReadingSource::MeasuredPowerIntegration {
                counter,
                period_s: self.poll_period.as_secs_f64(),
            }
        }
    }
}

impl Drop for HwmonMeter {
    fn drop(&mut self) {
        let _ = self.stop_poller();
    }
}

impl EnergyMeter for HwmonMeter {
    fn name(&self) -> &str {
        "hwmon"
    }

    fn domains(&self) -> Vec<DomainInfo> {
        let period = self.poll_period.as_secs_f64();
        self.channels
            .iter()
            .map(|c| {
                let (resolution_j, update_period_s, how) = match &c.source {
                    Source::Energy(p) if c.driver == "amd_energy" => (
                        AMD_ENERGY_UNIT_J,
                        ENERGY_UPDATE_PERIOD_S,
                        format!(
                            "{} (µJ counter, difference over the window); resolution 15.3 µJ: \
                             stated, the AMD RAPL energy unit 2^-16 J",
                            p.display()
                        ),
                    ),
                    Source::Energy(p) => (
                        1e-6,
                        ENERGY_UPDATE_PERIOD_S,
                        format!(
                            "{} (µJ counter, difference over the window); resolution 1 µJ: the \
                             file unit, stated (the hardware may step coarser)",
                            p.display()
                        ),
                    ),
                    Source::Power(p) => (
                        1e-6 * period,
                        period,
                        format!(
                            "{} (µW) polled every {} ms, trapezoid rule; resolution 1 µW (file \
                             unit) over one poll period",
                            p.display(),
                            period * 1e3
                        ),
                    ),
                    Source::VoltCurrent { mv, ma } => (
                        1e-3 * period,
                        period,
                        format!(
                            "{} (mV) × {} (mA) polled every {} ms, trapezoid rule; resolution \
                             ≈ 1 mW (file units) over one poll period",
                            mv.display(),
                            ma.display(),
                            period * 1e3
                        ),
                    ),
                };
                let device = c
                    .device
                    .as_deref()
                    .map(|d| format!("; device {d}"))
                    .unwrap_or_default();
                DomainInfo {
                    name: c.name.clone(),
                    kind: c.kind,
                    resolution_j,
                    update_period_s,
                    in_total: c.in_total,
                    note: format!("{}; {how}{device}", c.coverage),
                }
            })
            .collect()
    }

    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        let _ = self.stop_poller(); // a window begun again: the old one is abandoned
        let raw = self.read_counters()?;
        let sources = self.power_sources();
        if sources.is_empty() {
            return Ok(WindowStart {
                t: self.clock.now().as_secs_f64(),
                raw,
            });
        }
        let first = sample(self.fs.as_ref(), self.clock.as_ref(), &sources)?;
        let t = first.0;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (fs, clock, period, stop2) = (
            self.fs.clone(),
            self.clock.clone(),
            self.poll_period,
            stop.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("hwmon-poll".into())
            .spawn(move || -> Result<Vec<Sample>, MeterError> {
                let mut samples = vec![first];
                let (lock, cv) = &*stop2;
                loop {
                    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (guard, _) = cv
                        .wait_timeout_while(guard, period, |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *guard {
                        return Ok(samples);
                    }
                    drop(guard);
                    samples.push(sample(fs.as_ref(), clock.as_ref(), &sources)?);
                }
            })
            .map_err(|e| MeterError::Io {
                path: self.root.clone(),
                source: e,
            })?;
        self.poller = Some(Poller { stop, handle });
        Ok(WindowStart { t, raw })
    }

    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
        let sources = self.power_sources();
        let mut samples = if sources.is_empty() {
            vec![]
        } else {
            self.stop_poller()
                .ok_or_else(|| MeterError::ForeignWindow("no hwmon window open".into()))??
        };
        let raw = self.read_counters()?;
        if start.raw.len() != raw.len() {
            return Err(MeterError::ForeignWindow(format!(
                "{} domains vs {}",
                start.raw.len(),
                raw.len()
            )));
        }
        let t = if sources.is_empty() {
            self.clock.now().as_secs_f64()
        } else {
            let last = sample(self.fs.as_ref(), self.clock.as_ref(), &sources)?;
            let t = last.0;
            samples.push(last);
            t
        };
        let seconds = t - start.t;
        let mut joules = Vec::with_capacity(raw.len());
        let mut k = 0; // index among the power channels
        for ((c, &s), &e) in self.channels.iter().zip(&start.raw).zip(&raw) {
            match c.source {
                Source::Energy(_) => {
                    if e < s {
                        return Err(MeterError::CounterBackwards {
                            domain: c.name.clone(),
                            start: s,
                            end: e,
                            range: 0,
                            seconds,
                            implied_watts: f64::INFINITY,
                        });
                    }
                    joules.push((e - s) as f64 * 1e-6);
                }
                _ => {
                    let series: Vec<(f64, f64)> = samples.iter().map(|(t, w)| (*t, w[k])).collect();
                    joules.push(trapezoid_j(&series).max(0.0));
                    k += 1;
                }
            }
        }
        Ok(EnergyReading {
            joules,
            seconds,
            source: self.source(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_parse() {
        assert_eq!(parse_attr("energy1_input"), Some(("energy", 1, "input")));
        assert_eq!(
            parse_attr("power12_average"),
            Some(("power", 12, "average"))
        );
        assert_eq!(parse_attr("in0_input"), Some(("in", 0, "input")));
        assert_eq!(parse_attr("curr3_label"), Some(("curr", 3, "label")));
        assert_eq!(parse_attr("name"), None);
        assert_eq!(parse_attr("update_interval"), None);
        assert_eq!(parse_attr("1_input"), None);
        assert_eq!(hwmon_index("hwmon10"), Some(10));
        assert_eq!(hwmon_index("hwmonx"), None);
    }

    #[test]
    fn module_input_rails() {
        for l in ["VDD_IN", "POM_5V_IN", "vdd_in", "SYS IN"] {
            assert!(is_module_input(l), "{l}");
        }
        for l in [
            "VDD_CPU_GPU_CV",
            "VDD_SOC",
            "VIN_SYS_5V0",
            "VDD_INT",
            "POM_5V_GPU",
        ] {
            assert!(!is_module_input(l), "{l}");
        }
    }
}
