use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of the report crate.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {what}", path.display())]
    Parse { path: PathBuf, what: String },
    #[error("plot `{plot}`: {what}")]
    Plot { plot: String, what: String },
    #[error(transparent)]
    Model(#[from] joulebench_models::ModelError),
}

impl ReportError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
