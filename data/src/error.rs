//! Errors of the data crate. Every variant about a file names it; format errors also name the
//! byte offset (IDX) or the 1-based line (CSV) where the problem was found.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of the data crate.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The file is empty.
    #[error("{}: empty file (0 bytes{})", path.display(), if *.decompressed { " after gunzip" } else { "" })]
    Empty { path: PathBuf, decompressed: bool },

    /// A gzip stream that is truncated or corrupt.
    #[error("{}: gzip stream is truncated or corrupt after {decompressed} decompressed bytes ({compressed} bytes on disk): {reason}", path.display())]
    Gzip {
        path: PathBuf,
        compressed: u64,
        decompressed: u64,
        reason: String,
    },

    /// A structural problem in an IDX or raw-array file, at a byte offset of the (decompressed) content.
    #[error("{}: at byte {offset}: {problem}", path.display())]
    Format {
        path: PathBuf,
        offset: u64,
        problem: String,
    },

    /// A problem in one line of a CSV file (`line` is 1-based, counting a header line).
    #[error("{}: line {line}: {problem}", path.display())]
    Csv {
        path: PathBuf,
        line: usize,
        problem: String,
    },

    /// Two files that must agree (images and labels) do not.
    #[error("{} and {} disagree: {problem}", first.display(), second.display())]
    Mismatch {
        first: PathBuf,
        second: PathBuf,
        problem: String,
    },

    /// A file whose SHA-256 is not the published one.
    #[error("{}: checksum mismatch: expected sha256 {expected}, got {actual}", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// The dataset's folder or files are missing.
    #[error("{what}; run `joulebench data fetch {dataset}` or pass --data-dir DIR")]
    Missing { dataset: String, what: String },

    /// A required file is absent (`hint` says what was expected).
    #[error("{}: not found; {hint}", path.display())]
    NotFound { path: PathBuf, hint: String },

    /// A download failed on every mirror.
    #[error("could not download {file}: {}", tried.join("; "))]
    Download { file: String, tried: Vec<String> },

    /// An unknown dataset name.
    #[error("unknown dataset `{0}` (expected mnist, fashion-mnist or mnist1d)")]
    UnknownDataset(String),

    /// A request that does not fit the data (shapes, indices, parameters).
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn format(path: &Path, offset: u64, problem: impl Into<String>) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            offset,
            problem: problem.into(),
        }
    }
    pub(crate) fn csv(path: &Path, line: usize, problem: impl Into<String>) -> Self {
        DataError::Csv {
            path: path.to_path_buf(),
            line,
            problem: problem.into(),
        }
    }
}

/// Result with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
