//! joulebench-report: the results model ([`ReportData`], saved as `results.json` and
//! `results.csv`), its plots (each as SVG and PNG, drawn with plotters and an embedded font)
//! and a self-contained HTML page (inline SVG, no network) answering one question per section.

pub mod activity;
pub mod csv;
pub mod data;
pub mod energy;
pub mod error;
pub mod figures;
pub mod font;
pub mod html;
pub mod latency_macs;
pub mod machines;
pub mod palette;
pub mod plot;
pub mod spike_rate;
pub mod sweep;
pub mod verdict;
pub mod write;

pub use activity::{LayerSpiking, RasterLayer, SpikingActivity};
pub use data::{
    EpochSummary, FirstLayerWeights, GpuInfo, InferenceResult, LatencyStats, MachineInfo,
    MeasuredEnergy, ModelResult, ReportData, TrainingSummary, SCHEMA_VERSION,
};
pub use energy::{EnergyFigure, EnergyKind};
pub use error::ReportError;
pub use html::{render_page, SECTIONS};
pub use machines::{load_machines, merge_machines, report_machines, MachineEntry};
pub use sweep::{find_sweeps, SweepAxis, SweepSummary};
pub use write::{load_results, merge_sweeps, rebuild_report, write_report, ReportFiles};
