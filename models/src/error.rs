use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of the models crate.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("invalid model: {0}")]
    Invalid(String),
    #[error("layer `{layer}`: input shape {input:?} does not fit: {what}")]
    Shape {
        layer: String,
        input: Vec<usize>,
        what: String,
    },
    #[error("unknown preset `{0}` (run `joulebench models` for the list)")]
    UnknownPreset(String),
    #[error("preset `{preset}` does not fit {dataset}: {why}")]
    PresetMismatch {
        preset: String,
        dataset: String,
        why: String,
    },
    #[error("weights: {0}")]
    Weights(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ModelError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The same error, said of the file `path`: the path leads the message, and a message of
    /// the same kind (`invalid model`, `weights`) is not labelled twice.
    pub fn in_file(self, path: &Path) -> Self {
        let p = path.display();
        match self {
            ModelError::Invalid(m) => ModelError::Invalid(format!("{p}: {m}")),
            ModelError::Weights(m) => ModelError::Weights(format!("{p}: {m}")),
            other => ModelError::Invalid(format!("{p}: {other}")),
        }
    }
}
