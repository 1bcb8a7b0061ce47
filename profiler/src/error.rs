//! Errors of the profiler crate.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of an energy meter. Each message says what failed and, where there is one, the fix.
#[derive(Debug, Error)]
pub enum MeterError {
    /// The meter cannot be used on this machine (no powercap tree, no NVIDIA driver…).
    #[error("{meter} unavailable: {reason}")]
    Unavailable { meter: String, reason: String },
    /// A counter file exists but may not be read.
    #[error(
        "{}: permission denied. RAPL energy counters are readable by root only on current kernels. \
         Fix: run as root, or `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj \
         /sys/class/powercap/intel-rapl:*:*/energy_uj /sys/class/powercap/intel-rapl:*/max_energy_range_uj \
         /sys/class/powercap/intel-rapl:*:*/max_energy_range_uj` (until reboot; max_energy_range_uj \
         lets a counter wrap be counted), or a udev rule such as `SUBSYSTEM==\"powercap\", \
         ACTION==\"add\", RUN+=\"/bin/chmod o+r /sys%p/energy_uj /sys%p/max_energy_range_uj\"`",
        path.display()
    )]
    PermissionDenied { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A counter file does not hold a number.
    #[error("{}: cannot parse `{content}` as a counter value", path.display())]
    Parse { path: PathBuf, content: String },
    /// A counter went backwards and no counter wrap explains it.
    #[error(
        "{domain}: energy counter went backwards ({start} → {end} µJ in {seconds:.3} s) and a wrap-around \
         (range {range} µJ) would mean {implied_watts:.0} W; refusing to report a negative or invented energy"
    )]
    CounterBackwards {
        domain: String,
        start: u64,
        end: u64,
        range: u64,
        seconds: f64,
        implied_watts: f64,
    },
    /// A window was ended with a start from another meter or domain set.
    #[error("window start does not belong to this meter ({0})")]
    ForeignWindow(String),
    /// NVML reported an error.
    #[error("NVML: {0}")]
    Nvml(String),
}

impl MeterError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            MeterError::PermissionDenied {
                path: path.to_path_buf(),
            }
        } else {
            MeterError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Errors of the profiler as a whole.
#[derive(Debug, Error)]
pub enum ProfileError {
    #[error(transparent)]
    Meter(#[from] MeterError),
    #[error(transparent)]
    Inference(#[from] joulebench_inference::InferenceError),
    #[error(transparent)]
    Model(#[from] joulebench_models::ModelError),
    #[error(transparent)]
    Data(#[from] joulebench_data::DataError),
    /// An ONNX file could not be read, parsed or counted.
    #[error("{}: {what}", path.display())]
    Onnx { path: PathBuf, what: String },
    #[error("invalid profile configuration: {0}")]
    Config(String),
    /// A saved calibration could not be read, parsed or trusted (the file and the problem).
    #[error("{}: {what}", path.display())]
    Calibration { path: PathBuf, what: String },
    /// A calibration run gave no usable curve (the reason and what to check).
    #[error("calibration failed: {0}")]
    CalibrationFailed(String),
    /// A command to measure (`joulebench measure -- CMD`) could not be started or waited for.
    /// (`error` is in the message and deliberately not the `source`, so that a printed chain
    /// does not say it twice.)
    #[error("cannot {action} `{program}`: {error}")]
    Command {
        action: &'static str,
        program: String,
        error: std::io::Error,
    },
}
