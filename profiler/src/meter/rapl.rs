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
    /// read once, so a permission problem is reported here (with the fix), not mid-measurement.
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
        let mut zones = vec![];
        for (_, n, m, dir) in &found {
            let zname = read_name(dir)?;
            let (name, kind, in_total, note) = match m {
                None if zname.starts_with("package") => (
                    zname.clone(),
                    DomainKind::Package,
                    true,
                    format!("CPU socket {n}: cores, caches, uncore"),
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
            let max_range_uj = fs
                .read(&range_path)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            let info = DomainInfo {
                name,
                kind,
                resolution_j: 1e-6,
                update_period_s: 1e-3,
                in_total,
                note: format!(
                    "{note}; {} (µJ; hardware energy unit ≈ 15–61 µJ)",
                    energy_path.display()
                ),
            };
            zones.push(Zone {
                info,
                energy_path,
                max_range_uj,
            });
        }
        let meter = RaplMeter {
            root: root.to_path_buf(),
            zones,
            fs,
            clock: Arc::new(MonotonicClock::new()),
            max_plausible_watts: 2000.0,
        };
        meter.read_all()?; // permission and format problems surface now
        Ok(meter)
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
