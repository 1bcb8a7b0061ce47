//! joulebench-training: every `ModelSpec` as a libtorch (tch) module, trained with Adam or SGD on
//! CPU or CUDA; sweeps over grids of runs; and the `tch` inference backend (the reference the
//! other engines are compared against).
//!
//! * [`Net`] builds a spec with parameters named as in `ModelSpec::parameters()`;
//! * [`lif`] holds the LIF dynamics and surrogate gradients (equations in its docs);
//! * [`train`] trains one run into a [`joulebench_models::RunDir`];
//! * [`sweep`] runs grids of runs from a TOML file, resumable after a kill;
//! * [`TchBackend`] implements `joulebench_inference::Backend`.

pub mod batches;
pub mod config;
pub mod device;
pub mod error;
pub mod heap;
pub mod lif;
pub mod metrics;
pub mod net;
pub mod rnn;
pub mod sweep;
pub mod sweep_lock;
pub mod sweep_slurm;
pub mod tch_backend;
pub mod trainer;
pub mod weights_io;

pub use config::{TrainConfig, TrainOverrides};
pub use device::{device_name, DeviceChoice};
pub use error::{Result, TrainError};
pub use metrics::{EpochEnergy, EpochHook, EpochMetrics, Metrics};
pub use net::{Net, NetOutput};
pub use sweep::{run_sweep, SweepFile, SweepOptions, SweepReport};
pub use tch_backend::{open_tch_backend, register_engines, TchBackend};
pub use trainer::{
    augment_batch, evaluate, load_dataset, load_net, spec_for, train, TrainOptions, TrainOutcome,
};
