//! joulebench-models: one description of every architecture ([`ModelSpec`]), the reference
//! presets, weights by name, analytic operation counts and the ONNX writer. No libtorch here.

pub mod error;
pub mod preset;
pub mod recipe;
pub mod spec;

pub use error::ModelError;
pub use preset::{
    build_preset, check_beta, check_threshold, is_mnist1d, preset_info, DataShape, PresetInfo,
    PresetOptions, MNIST1D_STEPS, PRESETS,
};
pub use recipe::{
    check_dropout, check_label_smoothing, check_weight_decay, Augment, Loss, LrSchedule,
    OptimizerKind, TrainDefaults,
};
pub use spec::{
    Encoding, InputTransform, Layer, LifParams, ModelSpec, Normalize, Op, ParamInfo, Preprocess,
    Readout, Reset, Surrogate,
};
pub mod neurons;
pub use neurons::LifNeurons;
pub mod tensor;
pub use tensor::Tensor;
pub mod atomic;
pub mod weights;
pub use atomic::write_atomic;
pub use weights::Weights;
pub mod run_dir;
pub use run_dir::RunDir;
pub mod counts;
pub mod energy;
pub use counts::{LayerCounts, OpCounts, OtherOps};
pub use energy::{EnergyFigure, EnergyKind};
pub mod memory;
pub mod nir;
pub mod onnx;
pub use memory::MemoryEstimate;
pub mod sweep_spec;
pub use onnx::{export_onnx, write_onnx};
pub use sweep_spec::{OneOrMany, SweepSpec};
pub mod sweep_row;
pub use sweep_row::SweepRow;
pub mod sweep_merge;
pub mod sweep_shard;
pub mod sweep_summary;
pub use sweep_merge::{merge_dirs, merge_summaries, MergedSweep};
pub use sweep_shard::{grid_hash, Shard};
pub use sweep_summary::{summary_csv, summary_files, summary_stem, SweepSummaryFile};
