//! The machine a result was measured on (sysinfo, plus NVML when present). Included in every
//! profile result.

use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use crate::meter::nvml::{gpu_info, GpuInfo};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    pub hostname: Option<String>,
    pub cpu_model: String,
    pub cpu_arch: String,
    pub physical_cores: Option<usize>,
    pub logical_cpus: usize,
    pub memory_bytes: u64,
    pub os: String,
    pub kernel: Option<String>,
    pub gpus: Vec<GpuInfo>,
    /// Why no GPU is listed (NVML missing, no device), when `gpus` is empty.
    pub gpu_note: Option<String>,
}

impl SystemInfo {
    /// Reads the current machine's description.
    pub fn collect() -> Self {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let (gpus, gpu_note) = match gpu_info() {
            Ok(g) if g.is_empty() => (g, Some("NVML found no GPU".into())),
            Ok(g) => (g, None),
            Err(e) => (vec![], Some(e)),
        };
        SystemInfo {
            hostname: System::host_name(),
            cpu_model,
            cpu_arch: System::cpu_arch(),
            physical_cores: System::physical_core_count(),
            logical_cpus: sys.cpus().len(),
            memory_bytes: sys.total_memory(),
            os: System::long_os_version()
                .or_else(System::name)
                .unwrap_or_else(|| std::env::consts::OS.into()),
            kernel: System::kernel_version(),
            gpus,
            gpu_note,
        }
    }

    /// One line, for tables.
    pub fn one_line(&self) -> String {
        let gpu = match self.gpus.first() {
            Some(g) => format!(
                "{} (driver {}, limit {})",
                g.name,
                g.driver,
                g.power_limit_w
                    .map(|w| format!("{w:.0} W"))
                    .unwrap_or_else(|| "?".into())
            ),
            None => "no GPU".into(),
        };
        format!(
            "{} · {} cores/{} threads · {:.1} GiB · {} · kernel {} · {}",
            self.cpu_model,
            self.physical_cores
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".into()),
            self.logical_cpus,
            self.memory_bytes as f64 / (1u64 << 30) as f64,
            self.os,
            self.kernel.as_deref().unwrap_or("?"),
            gpu
        )
    }
}

/// The machine a benchmark ran on (its [`SystemInfo`]) with its one-line form for tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub line: String,
    pub info: SystemInfo,
}

impl Machine {
    /// Reads the current machine's description.
    pub fn collect() -> Self {
        let info = SystemInfo::collect();
        Machine {
            line: info.one_line(),
            info,
        }
    }
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg` (`None` where unreadable).
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Load average formatted as `1m/5m/15m`, or `n/a`.
pub fn fmt_load(l: Option<[f64; 3]>) -> String {
    match l {
        Some([a, b, c]) => format!("{a:.2}/{b:.2}/{c:.2}"),
        None => "n/a".into(),
    }
}

/// A UTC time of day, from the Unix clock with the proleptic Gregorian calendar (no time-zone
/// data needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    /// The current time.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self::from_unix(secs)
    }

    /// The time `secs` seconds after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(secs: i64) -> Self {
        let (year, month, day) = civil_date(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400) as u32;
        UtcTime {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
        }
    }

    /// ISO 8601: `2026-11-23T20:15:00Z` (benchmark reports).
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// For people: `2026-11-23 20:15:00 UTC` (the main job's report).
    pub fn human(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// (year, month, day) of `days` since 1970-01-01 (H. Hinnant's days→civil algorithm).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_780), (2026, 11, 23));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn time_formats() {
        // 2026-11-23 20:15:07 UTC
        let t = UtcTime::from_unix(20_780 * 86_400 + 20 * 3600 + 15 * 60 + 7);
        assert_eq!(t.iso(), "2026-11-23T20:15:07Z");
        assert_eq!(t.human(), "2026-11-23 20:15:07 UTC");
    }
}
