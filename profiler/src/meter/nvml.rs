//! NVIDIA GPUs through NVML (nvml-wrapper): whole-board energy.
//!
//! * Volta and newer: difference of `nvmlDeviceGetTotalEnergyConsumption` (mJ since the driver
//!   loaded; no wrap-around in practice, so a decrease is an error).
//! * Older boards: `nvmlDeviceGetPowerUsage` (mW) polled every `poll_period` in a background
//!   thread and integrated with the trapezoid rule over the window.
//!
//! Caveat shown with every reading: NVML reports the **whole device** (every process on the
//! GPU, memory, fans), not just this model.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};

use crate::error::MeterError;
use crate::meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, ReadingSource, WindowStart,
};

/// Typical update period of the energy counter (stated, not measured).
pub const ENERGY_COUNTER_PERIOD_S: f64 = 0.02;
/// Default power polling period.
pub const DEFAULT_POLL_PERIOD: Duration = Duration::from_millis(20);

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

/// GPU facts for the system report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub driver: String,
    /// Enforced power limit, watts (None when NVML does not report it).
    pub power_limit_w: Option<f64>,
    /// Whether the board has the total-energy counter (Volta+).
    pub energy_counter: bool,
}

/// Lists the GPUs NVML sees; `Err` with a clear reason when NVML is unusable.
pub fn gpu_info() -> Result<Vec<GpuInfo>, String> {
    let nvml = Nvml::init().map_err(|e| describe_nvml_error(&e))?;
    let driver = nvml
        .sys_driver_version()
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let n = nvml.device_count().map_err(|e| describe_nvml_error(&e))?;
    let mut out = vec![];
    for i in 0..n {
        let d = nvml
            .device_by_index(i)
            .map_err(|e| describe_nvml_error(&e))?;
        out.push(GpuInfo {
            index: i,
            name: d.name().unwrap_or_else(|e| format!("unknown ({e})")),
            driver: driver.clone(),
            power_limit_w: d.enforced_power_limit().ok().map(|mw| mw as f64 / 1000.0),
            energy_counter: d.total_energy_consumption().is_ok(),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    EnergyCounter,
    PowerPolling,
}

struct Poller {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<f64, String>>,
}

/// Energy of one GPU (selected by index) through NVML.
pub struct NvmlMeter {
    nvml: Arc<Nvml>,
    index: u32,
    gpu_name: String,
    mode: Mode,
    poll_period: Duration,
    poller: Option<Poller>,
    origin: Instant,
}

impl NvmlMeter {
    /// Opens GPU `index`. Errors (never panics) when the library, the driver or the device is
    /// missing, or the device reports neither energy nor power.
    pub fn open(index: u32) -> Result<Self, MeterError> {
        let nvml = Nvml::init().map_err(|e| unavailable(describe_nvml_error(&e)))?;
        let count = nvml
            .device_count()
            .map_err(|e| unavailable(describe_nvml_error(&e)))?;
        check_gpu_index(count, index)?;
        let (gpu_name, mode) = {
            let d = nvml
                .device_by_index(index)
                .map_err(|e| unavailable(describe_nvml_error(&e)))?;
            let name = d.name().unwrap_or_else(|_| format!("GPU {index}"));
            let mode = match d.total_energy_consumption() {
                Ok(_) => Mode::EnergyCounter,
                Err(NvmlError::NotSupported) => {
                    d.power_usage().map_err(|e| {
                        unavailable(format!(
                            "GPU {index} reports neither energy nor power: {}",
                            describe_nvml_error(&e)
                        ))
                    })?;
                    Mode::PowerPolling
                }
                Err(e) => return Err(unavailable(describe_nvml_error(&e))),
            };
            (name, mode)
        };
        Ok(NvmlMeter {
            nvml: Arc::new(nvml),
            index,
            gpu_name,
            mode,
            poll_period: DEFAULT_POLL_PERIOD,
            poller: None,
            origin: Instant::now(),
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

    fn read_energy_mj(&self) -> Result<u64, MeterError> {
        let d = self
            .nvml
            .device_by_index(self.index)
            .map_err(|e| MeterError::Nvml(describe_nvml_error(&e)))?;
        d.total_energy_consumption()
            .map_err(|e| MeterError::Nvml(describe_nvml_error(&e)))
    }
}

/// Checks `index` against the number of GPUs NVML reports: zero GPUs (the library and driver
/// are present but no device is visible, e.g. a container without `--gpus`) and an index out of
/// range are `Unavailable` errors saying so.
pub fn check_gpu_index(count: u32, index: u32) -> Result<(), MeterError> {
    if count == 0 {
        return Err(unavailable(
            "libnvidia-ml is loaded and the driver answers, but it reports no GPU (0 devices): \
             none is installed, or it is hidden from this process (CUDA_VISIBLE_DEVICES, a \
             container started without --gpus)"
                .into(),
        ));
    }
    if index >= count {
        return Err(unavailable(format!(
            "GPU index {index} out of range: NVML sees {count} GPU(s) (0..{count})"
        )));
    }
    Ok(())
}

/// Trapezoid integral of `(seconds, watts)` samples, joules. Fewer than two samples → 0.
pub fn trapezoid_j(samples: &[(f64, f64)]) -> f64 {
    samples
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

impl EnergyMeter for NvmlMeter {
    fn name(&self) -> &str {
        "nvml"
    }

    fn domains(&self) -> Vec<DomainInfo> {
        let (res, period, how) = match self.mode {
            Mode::EnergyCounter => (
                1e-3,
                ENERGY_COUNTER_PERIOD_S,
                "total_energy_consumption (mJ)".to_string(),
            ),
            Mode::PowerPolling => (
                // 1 mW resolution over one polling period
                1e-3 * self.poll_period.as_secs_f64(),
                self.poll_period.as_secs_f64(),
                format!(
                    "power_usage (mW) polled every {:?}, trapezoid rule",
                    self.poll_period
                ),
            ),
        };
        vec![DomainInfo {
            name: format!("gpu{}", self.index),
            kind: DomainKind::Gpu,
            resolution_j: res,
            update_period_s: period,
            in_total: true,
            note: format!(
                "{}: {how}; whole device (all processes, memory, fans), not this model alone",
                self.gpu_name
            ),
        }]
    }

    fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
        let t = self.origin.elapsed().as_secs_f64();
        match self.mode {
            Mode::EnergyCounter => Ok(WindowStart {
                t,
                raw: vec![self.read_energy_mj()?],
            }),
            Mode::PowerPolling => {
                if let Some(p) = self.poller.take() {
                    p.stop.store(true, Ordering::SeqCst);
                    let _ = p.handle.join();
                }
                let stop = Arc::new(AtomicBool::new(false));
                let (nvml, index, period, stop2) = (
                    self.nvml.clone(),
                    self.index,
                    self.poll_period,
                    stop.clone(),
                );
                let handle = std::thread::spawn(move || -> Result<f64, String> {
                    let t0 = Instant::now();
                    let dev = nvml
                        .device_by_index(index)
                        .map_err(|e| describe_nvml_error(&e))?;
                    let mut samples = vec![];
                    loop {
                        let mw = dev.power_usage().map_err(|e| describe_nvml_error(&e))?;
                        samples.push((t0.elapsed().as_secs_f64(), mw as f64 / 1000.0));
                        // at least two samples: one sample integrates to a silent 0 J
                        if stop2.load(Ordering::SeqCst) && samples.len() >= 2 {
                            break;
                        }
                        std::thread::sleep(period);
                    }
                    Ok(trapezoid_j(&samples))
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
                let seconds = self.origin.elapsed().as_secs_f64() - start.t;
                let &[s] = start.raw.as_slice() else {
                    return Err(MeterError::ForeignWindow(
                        "expected one NVML counter".into(),
                    ));
                };
                if end < s {
                    return Err(MeterError::CounterBackwards {
                        domain: format!("gpu{}", self.index),
                        start: s,
                        end,
                        range: u64::MAX,
                        seconds,
                        implied_watts: f64::INFINITY,
                    });
                }
                Ok(EnergyReading {
                    joules: vec![(end - s) as f64 * 1e-3],
                    seconds,
                    source: ReadingSource::Measured {
                        counter: "nvml:total_energy_consumption".into(),
                    },
                })
            }
            Mode::PowerPolling => {
                let p = self
                    .poller
                    .take()
                    .ok_or_else(|| MeterError::ForeignWindow("no window open".into()))?;
                p.stop.store(true, Ordering::SeqCst);
                let j = p
                    .handle
                    .join()
                    .map_err(|_| MeterError::Nvml("power polling thread panicked".into()))?
                    .map_err(MeterError::Nvml)?;
                let seconds = self.origin.elapsed().as_secs_f64() - start.t;
                Ok(EnergyReading {
                    joules: vec![j],
                    seconds,
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
    fn trapezoid_on_known_samples() {
        // 100 W for 1 s then a ramp to 200 W over 1 s: 100 + 150 = 250 J
        assert!((trapezoid_j(&[(0.0, 100.0), (1.0, 100.0), (2.0, 200.0)]) - 250.0).abs() < 1e-12);
        assert_eq!(trapezoid_j(&[(0.0, 100.0)]), 0.0);
    }

    #[test]
    fn nvml_errors_read_clearly() {
        assert!(describe_nvml_error(&NvmlError::DriverNotLoaded).contains("driver is not loaded"));
        assert!(describe_nvml_error(&NvmlError::LibraryNotFound).contains("libnvidia-ml"));
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
        let e = check_gpu_index(2, 2).unwrap_err();
        assert!(e.to_string().contains("GPU index 2 out of range"), "{e}");
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
