//! RAPL energy counters through the Linux powercap sysfs tree (Intel, and AMD on kernels that
//! expose AMD RAPL through the same `intel-rapl` tree or as `amd-rapl`).
//!
//! Layout read (flat entries of `ROOT`, default `/sys/class/powercap`):
//! ```text
//! ROOT/intel-rapl:N/{name,energy_uj,max_energy_range_uj}     top-level zone: package-N (or psys)
//! ROOT/intel-rapl:N:M/{name,energy_uj,max_energy_range_uj}   subzone of N: core, uncore, dram
//! ```
//! `intel-rapl-mmio:*` zones duplicate the package counters through MMIO and are skipped.
//!
//! Totals: `package-N` and `dram` are summed; `core` and `uncore` are *inside* their package and
//! `psys` covers the whole platform (packages included), so they are listed but never added.
//!
//! Mirrors: some AMD parts expose one zone per die, `package-X-die-Y`, and every die zone of a
//! package reads the *same* socket counter (summing them double-counts; CodeCarbon issues
//! #1274, #1379). At open, zones of the same package (and same-named subzones of them) are read
//! [`MIRROR_SNAPSHOTS`] times a few milliseconds apart; a zone whose counter equals an earlier
//! zone's in a snapshot, with the same `max_energy_range_uj`, is a mirror: listed, noted
//! ("mirrors package-0-die-0"), never added. Die zones with distinct counters are all summed.
//!
//! Resolution: powercap reports µJ, but the counter moves in steps of the CPU's energy status
//! unit, 2⁻¹⁴ J ≈ 61 µJ on most Intel parts and 2⁻¹⁶ J ≈ 15.3 µJ on AMD (and some Intel DRAM
//! domains). That unit lives in an MSR that powercap does not expose, and it cannot be measured
//! from the µJ counter cheaply (the smallest step seen over a few reads is the energy of one
//! ~1 ms update, many units; the kernel's µJ rounding hides the unit from a GCD), so the typical
//! value is stated per vendor — from the zone prefix (`amd-rapl`) or `/proc/cpuinfo`'s
//! `vendor_id` — and the domain note says which; an unknown vendor gets the coarser 61 µJ.
//!
//! An unreadable `max_energy_range_uj` leaves the meter usable but unable to recognise a wrap
//! (a window across one fails rather than inventing energy): it is warned about at open
//! (`tracing::warn!` and the domain note), and the permission advice names that file too.
//!
//! Counter arithmetic: `energy_uj` counts µJ and wraps to 0 after `max_energy_range_uj`; a decrease is taken as one wrap, `delta = range − start + end`,
//! only when the implied average power is plausible (≤ `max_plausible_watts`, default 2 kW per
//! domain); any other decrease is an error, never a negative energy. A window longer than
//! `range / power` (≈ 262 kJ / 200 W ≈ 20 min on common parts) could hide a second wrap: keep
//! windows short (the profiler's are seconds).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, MonotonicClock};
use crate::error::MeterError;
use crate::meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, ReadingSource, WindowStart,
};

/// Default powercap root.
pub const POWERCAP_ROOT: &str = "/sys/class/powercap";

/// Where the CPU vendor is read from (through the meter's [`SysfsRead`], so tests can fake it).
pub const CPUINFO: &str = "/proc/cpuinfo";

/// Typical RAPL energy status unit of Intel parts: 2⁻¹⁴ J ≈ 61.0 µJ.
pub const INTEL_ENERGY_UNIT_J: f64 = 1.0 / 16384.0;

/// Typical RAPL energy status unit of AMD parts: 2⁻¹⁶ J ≈ 15.3 µJ.
pub const AMD_ENERGY_UNIT_J: f64 = 1.0 / 65536.0;

/// How many times the zones that could mirror each other are read at open.
pub const MIRROR_SNAPSHOTS: usize = 3;

/// Pause between those reads (bounded: at most `(MIRROR_SNAPSHOTS − 1) ×` this at open, and only
/// on trees with more than one zone per package).
pub const MIRROR_SNAPSHOT_GAP: std::time::Duration = std::time::Duration::from_millis(2);

/// Reads one sysfs file. Injectable so tests can produce errors (e.g. EACCES) that a root
/// user would never see from the real file system.
pub trait SysfsRead: Send + Sync {
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl SysfsRead for RealFs {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

#[derive(Debug, Clone)]
struct Zone {
    info: DomainInfo,
    energy_path: PathBuf,
    /// `None` when `max_energy_range_uj` is missing or unreadable (then no wrap is accepted).
    max_range_uj: Option<u64>,
    /// Package number and subzone name (`None` for the top-level zone) when the zone belongs to
    /// a `package-X` / `package-X-die-Y` zone: zones with equal keys may mirror each other.
    mirror_key: Option<(usize, Option<String>)>,
}

/// The package number of a top-level zone named `package-X` or `package-X-die-Y`.
fn package_index(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("package-")?;
    let (x, die) = match rest.split_once("-die-") {
        Some((x, y)) => (x, Some(y)),
        None => (rest, None),
    };
    if let Some(y) = die {
        y.parse::<usize>().ok()?;
    }
    x.parse().ok()
}

/// The CPU vendor as far as the energy unit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Intel,
    Amd,
    Unknown,
}

/// The vendor: AMD when any zone is `amd-rapl:*`, else `/proc/cpuinfo`'s `vendor_id` (read
/// through `fs`), with where it came from.
fn cpu_vendor(any_amd_prefix: bool, fs: &dyn SysfsRead) -> (Vendor, String) {
    if any_amd_prefix {
        return (Vendor::Amd, "AMD from the amd-rapl zone prefix".into());
    }
    let info = match fs.read(Path::new(CPUINFO)) {
        Ok(s) => s,
        Err(e) => return (Vendor::Unknown, format!("vendor unknown ({CPUINFO}: {e})")),
    };
    let id = info
        .lines()
        .find(|l| l.starts_with("vendor_id"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    match id.as_deref() {
        Some("GenuineIntel") => (Vendor::Intel, format!("Intel from {CPUINFO}")),
        Some(v @ ("AuthenticAMD" | "HygonGenuine")) => {
            (Vendor::Amd, format!("AMD ({v}) from {CPUINFO}"))
        }
        Some(v) => (
            Vendor::Unknown,
            format!("vendor `{v}` in {CPUINFO} has no known RAPL unit"),
        ),
        None => (
            Vendor::Unknown,
            format!("vendor unknown (no vendor_id in {CPUINFO})"),
        ),
    }
}

/// The stated resolution for `vendor` and the sentence that says where it comes from.
fn stated_resolution(vendor: Vendor, why: &str) -> (f64, String) {
    let (unit, what) = match vendor {
        Vendor::Intel => (
            INTEL_ENERGY_UNIT_J,
            "typical Intel energy status unit 2^-14 J",
        ),
        Vendor::Amd => (AMD_ENERGY_UNIT_J, "typical AMD energy status unit 2^-16 J"),
        Vendor::Unknown => (
            INTEL_ENERGY_UNIT_J,
            "the coarser typical unit 2^-14 J (Intel; AMD's is 2^-16 J)",
        ),
    };
    (
        unit,
        format!(
            "resolution {:.1} µJ: stated, not measured — {what}, {why} (the file counts µJ, the \
             counter moves in these steps)",
            unit * 1e6
        ),
    )
}

/// A clock that can be shared with a meter (`Send + Sync`).
pub trait SharedClock: Clock + Send + Sync {}
impl<T: Clock + Send + Sync> SharedClock for T {}

/// RAPL meter over a powercap tree.
pub struct RaplMeter {
    root: PathBuf,
    zones: Vec<Zone>,
    fs: Arc<dyn SysfsRead>,
    clock: Arc<dyn SharedClock>,
    max_plausible_watts: f64,
}

/// A zone directory name parsed: prefix and indices.
fn parse_zone_dir(name: &str) -> Option<(String, usize, Option<usize>)> {
    let (prefix, rest) = name.split_once(':')?;
    if prefix != "intel-rapl" && prefix != "amd-rapl" {
        return None; // intel-rapl-mmio duplicates the package; other control types are not RAPL
    }
    let mut parts = rest.split(':');
    let n = parts.next()?.parse().ok()?;
    let m = match parts.next() {
        Some(s) => Some(s.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((prefix.to_string(), n, m))
}

impl RaplMeter {
    /// Opens `/sys/class/powercap` with the real file system.
    pub fn open() -> Result<Self, MeterError> {
        Self::open_at(Path::new(POWERCAP_ROOT), Arc::new(RealFs))
    }

    /// Opens the powercap tree at `root`, reading files through `fs`. Every zone's counter is
    /// read once, so a permission problem is reported here (with the fix), not mid-measurement;
    /// zones that could mirror each other (several per package) are read a few more times,
    /// a few milliseconds apart, to find the mirrors. An unreadable `max_energy_range_uj` is
    /// warned about (log and domain note), not an error.
    pub fn open_at(root: &Path, fs: Arc<dyn SysfsRead>) -> Result<Self, MeterError> {
        let unavailable = |reason: String| MeterError::Unavailable {
            meter: "rapl".into(),
            reason,
        };
        let entries = std::fs::read_dir(root).map_err(|e| {
            unavailable(format!(
                "no powercap interface at {} ({e}); RAPL needs Linux on bare metal or a VM with RAPL \
                 passed through, and the intel_rapl_common (Intel) or amd energy driver loaded",
                root.display()
            ))
        })?;
        let mut found: Vec<(String, usize, Option<usize>, PathBuf)> = vec![];
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some((prefix, n, m)) = parse_zone_dir(&name) {
                found.push((prefix, n, m, e.path()));
            }
        }
        found.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        if found.is_empty() {
            return Err(unavailable(format!(
                "{} has no intel-rapl/amd-rapl zones (RAPL not exposed on this machine or VM)",
                root.display()
            )));
        }
        let read_name = |dir: &Path| -> Result<String, MeterError> {
            let p = dir.join("name");
            fs.read(&p)
                .map(|s| s.trim().to_string())
                .map_err(|e| MeterError::io(&p, e))
        };
        let any_amd = found.iter().any(|f| f.0 == "amd-rapl");
        let (vendor, vendor_why) = cpu_vendor(any_amd, fs.as_ref());
        let (resolution_j, resolution_note) = stated_resolution(vendor, &vendor_why);
        let mut zones = vec![];
        for (_, n, m, dir) in &found {
            let zname = read_name(dir)?;
            let (name, kind, in_total, note) = match m {
                None if zname.starts_with("package") => (
                    zname.clone(),
                    DomainKind::Package,
                    true,
                    match zname.split_once("-die-") {
                        Some((p, d)) => format!("die {d} of {p} (zone {n}): cores, caches, uncore"),
                        None => format!("CPU socket {n}: cores, caches, uncore"),
                    },
                ),
                None if zname == "psys" => (
                    zname.clone(),
                    DomainKind::Platform,
                    false,
                    "whole platform (includes the packages); listed, not added to the total".into(),
                ),
                None => (
                    zname.clone(),
                    DomainKind::Platform,
                    false,
                    "unknown top-level zone; not added to the total".into(),
                ),
                Some(_) => {
                    let parent = found
                        .iter()
                        .find(|f| f.1 == *n && f.2.is_none())
                        .map(|f| read_name(&f.3))
                        .transpose()?
                        .unwrap_or_else(|| format!("zone-{n}"));
                    let full = format!("{parent}/{zname}");
                    match zname.as_str() {
                        "dram" => (
                            full,
                            DomainKind::Dram,
                            true,
                            format!("DRAM of {parent} (outside the package domain)"),
                        ),
                        "core" => (
                            full,
                            DomainKind::Core,
                            false,
                            format!("inside {parent}; not added to the total"),
                        ),
                        "uncore" => (
                            full,
                            DomainKind::Uncore,
                            false,
                            format!("inside {parent}; not added to the total"),
                        ),
                        _ => (
                            full,
                            DomainKind::Core,
                            false,
                            format!("unknown subzone of {parent}; not added to the total"),
                        ),
                    }
                }
            };
            let energy_path = dir.join("energy_uj");
            let range_path = dir.join("max_energy_range_uj");
            let (max_range_uj, range_problem) = match fs.read(&range_path) {
                Ok(s) => match s.trim().parse::<u64>() {
                    Ok(r) => (Some(r), None),
                    Err(_) => (None, Some(format!("holds `{}`, not a number", s.trim()))),
                },
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => (
                    None,
                    Some("is not readable (permission denied)".to_string()),
                ),
                Err(e) => (None, Some(format!("cannot be read ({e})"))),
            };
            let mut note = format!("{note}; {} (µJ); {resolution_note}", energy_path.display());
            if let Some(problem) = range_problem {
                let warning = format!(
                    "{} {problem}: counter wrap-around is disabled, so a window across a wrap \
                     fails instead of being counted (on AMD the counter wraps every few minutes at \
                     full power); make it readable like energy_uj (e.g. `sudo chmod o+r {}`)",
                    range_path.display(),
                    range_path.display()
                );
                tracing::warn!("rapl {name}: {warning}");
                note.push_str(&format!("; WARNING: {warning}"));
            }
            let mirror_key = match m {
                None => package_index(&zname).map(|x| (x, None)),
                Some(_) => found
                    .iter()
                    .find(|f| f.1 == *n && f.2.is_none())
                    .and_then(|f| read_name(&f.3).ok())
                    .and_then(|p| package_index(&p))
                    .map(|x| (x, Some(zname.clone()))),
            };
            let info = DomainInfo {
                name,
                kind,
                resolution_j,
                update_period_s: 1e-3,
                in_total,
                note,
            };
            zones.push(Zone {
                info,
                energy_path,
                max_range_uj,
                mirror_key,
            });
        }
        let mut meter = RaplMeter {
            root: root.to_path_buf(),
            zones,
            fs,
            clock: Arc::new(MonotonicClock::new()),
            max_plausible_watts: 2000.0,
        };
        meter.read_all()?; // permission and format problems surface now
        meter.mark_mirrors()?;
        Ok(meter)
    }

    /// Finds zones that read the same counter as an earlier zone of the same package (AMD's
    /// `package-X-die-Y`) and takes them out of the total, with a note on both.
    fn mark_mirrors(&mut self) -> Result<(), MeterError> {
        let n = self.zones.len();
        let candidates: Vec<(usize, usize)> = (0..n)
            .flat_map(|j| (0..j).map(move |i| (i, j)))
            .filter(|&(i, j)| {
                let (a, b) = (&self.zones[i], &self.zones[j]);
                a.mirror_key.is_some()
                    && a.mirror_key == b.mirror_key
                    && a.info.kind == b.info.kind
                    && a.max_range_uj == b.max_range_uj
            })
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let mut snapshots = Vec::with_capacity(MIRROR_SNAPSHOTS);
        for k in 0..MIRROR_SNAPSHOTS {
            if k > 0 {
                std::thread::sleep(MIRROR_SNAPSHOT_GAP);
            }
            snapshots.push(self.read_all()?);
        }
        let mut mirror_of: Vec<Option<usize>> = vec![None; n];
        for (i, j) in candidates {
            if mirror_of[j].is_some() || mirror_of[i].is_some() {
                continue; // j already placed, or i is itself a mirror (compare with originals)
            }
            // Equal in any snapshot: two reads a few µs apart can straddle a counter update,
            // while distinct counters of ~10¹¹ µJ range practically never coincide.
            if snapshots.iter().any(|s| s[i] == s[j]) {
                mirror_of[j] = Some(i);
            }
        }
        for (j, orig) in mirror_of.iter().enumerate() {
            let Some(i) = *orig else { continue };
            let (orig_name, mirror_name) = (
                self.zones[i].info.name.clone(),
                self.zones[j].info.name.clone(),
            );
            tracing::info!("rapl: {mirror_name} mirrors {orig_name}; counted once");
            let z = &mut self.zones[j];
            z.info.in_total = false;
            z.info.note = format!(
                "mirrors {orig_name} (the same counter: equal value and range at open); listed, \
                 not added to the total; {}",
                z.info.note
            );
            self.zones[i].info.note.push_str(&format!(
                "; {mirror_name} mirrors this counter (counted once)"
            ));
        }
        Ok(())
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn SharedClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Largest average power per domain that a counter wrap may imply (default 2000 W).
    pub fn with_max_plausible_watts(mut self, w: f64) -> Self {
        self.max_plausible_watts = w;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn read_all(&self) -> Result<Vec<u64>, MeterError> {
        self.zones
            .iter()
            .map(|z| {
                let s = self
                    .fs
                    .read(&z.energy_path)
                    .map_err(|e| MeterError::io(&z.energy_path, e))?;
                s.trim().parse::<u64>().map_err(|_| MeterError::Parse {
                    path: z.energy_path.clone(),
                    content: s.trim().to_string(),
                })
            })
            .collect()
    }
}

/// Energy in µJ between two counter reads of one domain, accepting one wrap-around at `range`
/// when the implied average power over `seconds` is at most `max_watts`.
pub fn counter_delta_uj(
    domain: &str,
    start: u64,
    end: u64,
    range: Option<u64>,
    seconds: f64,
    max_watts: f64,
) -> Result<u64, MeterError> {
    if end >= start {
        return Ok(end - start);
    }
    let wrapped = range.filter(|&r| r >= start).map(|r| r - start + end);
    let implied_watts = match wrapped {
        Some(d) => d as f64 * 1e-6 / seconds.max(1e-9),
        None => f64::INFINITY,
    };
    match wrapped {
        Some(d) if implied_watts <= max_watts => Ok(d),
        _ => Err(MeterError::CounterBackwards {
            domain: domain.to_string(),
            start,
            end,
            range: range.unwrap_or(0),
            seconds,
            implied_watts,
        }),
    }
}

impl EnergyMeter for RaplMeter {
    fn name(&self) -> &str {
        "rapl"
    }

    fn domains(&self) -> Vec<DomainInfo> {
        self.zones.iter().map(|z| z.info.clone()).collect()
    }

    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        let raw = self.read_all()?;
        Ok(WindowStart {
            t: self.clock.now().as_secs_f64(),
            raw,
        })
    }

    fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
        let raw = self.read_all()?;
        let t = self.clock.now().as_secs_f64();
        if start.raw.len() != raw.len() {
            return Err(MeterError::ForeignWindow(format!(
                "{} domains vs {}",
                start.raw.len(),
                raw.len()
            )));
        }
        let seconds = t - start.t;
        let mut joules = Vec::with_capacity(raw.len());
        for ((z, &s), &e) in self.zones.iter().zip(&start.raw).zip(&raw) {
            let d = counter_delta_uj(
                &z.info.name,
                s,
                e,
                z.max_range_uj,
                seconds,
                self.max_plausible_watts,
            )?;
            joules.push(d as f64 * 1e-6);
        }
        Ok(EnergyReading {
            joules,
            seconds,
            source: ReadingSource::Measured {
                counter: format!("rapl:{}", self.root.display()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_parse() {
        assert_eq!(
            parse_zone_dir("intel-rapl:0"),
            Some(("intel-rapl".into(), 0, None))
        );
        assert_eq!(
            parse_zone_dir("intel-rapl:1:0"),
            Some(("intel-rapl".into(), 1, Some(0)))
        );
        assert_eq!(
            parse_zone_dir("amd-rapl:0"),
            Some(("amd-rapl".into(), 0, None))
        );
        assert_eq!(parse_zone_dir("intel-rapl-mmio:0"), None);
        assert_eq!(parse_zone_dir("intel-rapl"), None);
        assert_eq!(parse_zone_dir("intel-rapl:x"), None);
    }

    #[test]
    fn package_numbers_of_zone_names() {
        assert_eq!(package_index("package-0"), Some(0));
        assert_eq!(package_index("package-1-die-0"), Some(1));
        assert_eq!(package_index("package-0-die-12"), Some(0));
        assert_eq!(package_index("package-0-die-x"), None);
        assert_eq!(package_index("psys"), None);
        assert_eq!(package_index("package-"), None);
    }

    #[test]
    fn counter_delta_wraps_only_when_plausible() {
        assert_eq!(
            counter_delta_uj("p", 10, 30, Some(100), 1.0, 2000.0).unwrap(),
            20
        );
        // 90 → 5 with range 100: wrapped 15 µJ in 1 s
        assert_eq!(
            counter_delta_uj("p", 90, 5, Some(100), 1.0, 2000.0).unwrap(),
            15
        );
        // same wrap but it would mean 15 µJ in 1 ns = 15 kW
        assert!(counter_delta_uj("p", 90, 5, Some(100), 1e-9, 2000.0).is_err());
        // no range known: any decrease is an error
        assert!(matches!(
            counter_delta_uj("p", 90, 5, None, 1.0, 2000.0),
            Err(MeterError::CounterBackwards { .. })
        ));
        // start above the range cannot be a wrap
        assert!(counter_delta_uj("p", 200, 5, Some(100), 1.0, 2000.0).is_err());
    }
}
