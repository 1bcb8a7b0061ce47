//! joulebench-profiler: what one prediction costs — latency, operation counts and energy.
//!
//! * [`latency`]: MLPerf-SingleStream-style latency per batch size and Offline throughput, with
//!   the harness overhead measured;
//! * [`counts`] / [`onnx_counts`]: parameters, MACs and FLOPs from a `ModelSpec` or any ONNX graph;
//! * [`meter`]: measured energy (RAPL via powercap, NVML, hwmon) over windows; [`energy`]: the method
//!   (settled idle before and after, a discarded warm-up window, ≥ 5 windows, mean ± std);
//!   [`estimate`](mod@estimate): the op-count energy *estimate* (an ideal 45 nm accelerator's, memory charged at the [`caches`] level that holds it);
//! * [`system`]: the machine; [`profile()`]: all of it for one model on one backend;
//!   [`table`]: the one-screen summary. JSON layout: `docs/profile-schema.md`.

pub mod caches;
pub mod calibration;
pub mod clock;
pub mod counts;
pub mod cpu_spec;
pub mod cpu_time;
pub mod energy;
pub mod error;
pub mod estimate;
pub mod inputs;
pub mod latency;
pub mod meter;
pub mod modelled;
pub mod onnx_counts;
pub mod power_model;
pub mod process;
pub mod profile;
pub mod stats;
pub mod system;
pub mod table;

pub use caches::{read_caches, CacheLevel, CPU_CACHE_ROOT};
pub use calibration::{
    calibrate, calibration_dir, calibration_path, load_calibration, BusyLoad, Calibration,
    CalibrationConfig, CalibrationPoint, SpinLoad,
};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use counts::{
    spec_counts, ActivityAccumulator, ProfileCounts, ProfileLayerCounts, ProfiledActivity,
};
pub use energy::{measure_energy, EnergyConfig, EnergyMeasurement};
pub use error::{MeterError, ProfileError};
pub use estimate::{estimate, EnergyEstimate, EnergyTable, Precision, Work, ESTIMATE_WHAT};
pub use inputs::{InputGenerator, InputsInfo, SampleSource};
pub use latency::{
    measure, measure_offline, LatencyConfig, LatencyResult, OfflineResult, StopReason,
};
pub use meter::discover::{
    discover, discover_at, hwmon_for_auto, select, select_at, MeterStatus, Selection,
};
pub use meter::hwmon::HwmonMeter;
pub use meter::nvml::NvmlMeter;
pub use meter::rapl::RaplMeter;
pub use meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, MeterChoice, ReadingSource, WindowStart,
};
pub use modelled::{modelled_energy, resolve_power, PowerBasis, PowerOptions};
pub use onnx_counts::{count_onnx, count_onnx_bytes, OnnxCounts};
pub use process::{measure_process, ExitInfo, PerPrediction, ProcessMeasurement};
pub use profile::{
    profile, BackendInfo, EnergyResult, ModelInfo, ProfileConfig, ProfileRequest, ProfileResult,
    SCHEMA_VERSION,
};
pub use stats::Summary;
pub use system::{fmt_load, load_average, Machine, SystemInfo, UtcTime};
