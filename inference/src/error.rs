use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum InferenceError {
    #[error(transparent)]
    Model(#[from] joulebench_models::ModelError),
    #[error("input shape {got:?} does not fit the model (expected {expected})")]
    InputShape { got: Vec<usize>, expected: String },
    #[error("{0}")]
    Other(String),
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An ONNX file is malformed or cannot be prepared (the message says what and where).
    #[error("{}: {message}", path.display())]
    Onnx { path: PathBuf, message: String },
    /// The graph uses an operator the chosen engine does not implement.
    #[error("{}: unsupported ONNX operator `{op}` (domain `{domain}`) in node `{node}` for the {engine} backend", path.display())]
    UnsupportedOp {
        path: PathBuf,
        op: String,
        domain: String,
        node: String,
        engine: String,
    },
    /// The backend cannot run here (missing library, no GPU, feature not compiled in); says why.
    #[error("{0}")]
    Unavailable(String),
}

impl InferenceError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InferenceError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn onnx(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        InferenceError::Onnx {
            path: path.into(),
            message: message.into(),
        }
    }
}
