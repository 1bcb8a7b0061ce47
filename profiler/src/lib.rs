//! joulebench-profiler: what one prediction costs — latency, operation counts and energy.
//!
//! * [`latency`]: MLPerf-SingleStream-style latency per batch size and Offline throughput, with
//!   the harness overhead measured;
//! * [`counts`] / [`onnx_counts`]: parameters, MACs and FLOPs from a `ModelSpec` or any ONNX graph;
//! * [`meter`]: measured energy (RAPL via powercap, NVML) over windows; [`energy`]: the method
//!   (idle first, ≥ 5 windows, mean ± std); [`estimate`](mod@estimate): the op-count energy *estimate*;
//! * [`system`]: the machine; [`profile()`]: all of it for one model on one backend;
//!   [`table`]: the one-screen summary. JSON layout: `docs/profile-schema.md`.

pub mod clock;
pub mod counts;
pub mod energy;
pub mod error;
pub mod estimate;
pub mod inputs;
pub mod latency;
pub mod meter;
pub mod onnx_counts;
pub mod profile;
pub mod stats;
pub mod system;
pub mod table;

pub use clock::{Clock, ManualClock, MonotonicClock};
pub use counts::{
    spec_counts, ActivityAccumulator, ProfileCounts, ProfileLayerCounts, ProfiledActivity,
};
pub use energy::{measure_energy, EnergyConfig, EnergyMeasurement};
pub use error::{MeterError, ProfileError};
pub use estimate::{estimate, EnergyEstimate, EnergyTable, Work};
pub use inputs::{InputGenerator, InputsInfo, SampleSource};
pub use latency::{
    measure, measure_offline, LatencyConfig, LatencyResult, OfflineResult, StopReason,
};
pub use meter::discover::{discover, select, MeterStatus, Selection};
pub use meter::nvml::NvmlMeter;
pub use meter::rapl::RaplMeter;
pub use meter::{
    DomainInfo, DomainKind, EnergyMeter, EnergyReading, MeterChoice, ReadingSource, WindowStart,
};
pub use onnx_counts::{count_onnx, count_onnx_bytes, OnnxCounts};
pub use profile::{
    profile, BackendInfo, EnergyResult, ModelInfo, ProfileConfig, ProfileRequest, ProfileResult,
    SCHEMA_VERSION,
};
pub use stats::Summary;
pub use system::{fmt_load, load_average, Machine, SystemInfo, UtcTime};
