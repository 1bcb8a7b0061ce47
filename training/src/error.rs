//! Errors of the training crate.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while building, training, saving or running a model.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] joulebench_models::ModelError),
    #[error(transparent)]
    Data(#[from] joulebench_data::DataError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A bad setting (learning rate, batch size, device, …), with what was wrong.
    #[error("{0}")]
    Config(String),
    /// The requested device cannot be used.
    #[error("device: {0}")]
    Device(String),
    /// A sweep file that cannot be read or parsed.
    #[error("sweep file {}: {what}", path.display())]
    Sweep { path: PathBuf, what: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Training produced a non-finite loss.
    #[error("training diverged: {0}")]
    Diverged(String),
}

impl TrainError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;
