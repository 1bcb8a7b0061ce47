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
