//! The one error type of the crate: every message names the file (or "NIR graph" for a graph
//! built in memory), and where it applies the node and the field.

use std::path::PathBuf;

/// What went wrong reading, validating or writing a NIR file.
#[derive(Debug, thiserror::Error)]
pub enum NirError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No HDF5 signature where one must be.
    #[error("{}: not an HDF5 file (no HDF5 signature at offset 0, 512, 1024, …): a .nir file is HDF5, as written by the `nir` Python package", path.display())]
    NotHdf5 { path: PathBuf },
    /// The HDF5 structure is truncated, inconsistent or uses a feature this reader lacks.
    #[error("{}: HDF5 {what}", path.display())]
    Hdf5 { path: PathBuf, what: String },
    /// The HDF5 file is fine but is not a NIR graph this crate accepts.
    #[error("{file}: {}{problem}", where_(node, field))]
    Graph {
        /// The file name, or `NIR graph` for a graph that did not come from a file.
        file: String,
        node: Option<String>,
        field: Option<String>,
        problem: String,
    },
}

fn where_(node: &Option<String>, field: &Option<String>) -> String {
    match (node, field) {
        (Some(n), Some(f)) => format!("node '{n}', field '{f}': "),
        (Some(n), None) => format!("node '{n}': "),
        (None, Some(f)) => format!("field '{f}': "),
        (None, None) => String::new(),
    }
}

impl NirError {
    pub(crate) fn hdf5(path: &std::path::Path, what: impl Into<String>) -> Self {
        NirError::Hdf5 {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }

    /// Sets the file name of a [`NirError::Graph`] error raised without one (or by a caller that
    /// checks a graph it read from `file`).
    pub fn in_file(self, file: &str) -> Self {
        match self {
            NirError::Graph {
                node,
                field,
                problem,
                ..
            } => NirError::Graph {
                file: file.to_string(),
                node,
                field,
                problem,
            },
            e => e,
        }
    }
}

/// Builds [`NirError::Graph`] values (file name set later by [`NirError::in_file`]).
pub(crate) fn graph_err(
    node: Option<&str>,
    field: Option<&str>,
    problem: impl Into<String>,
) -> NirError {
    NirError::Graph {
        file: crate::IN_MEMORY.to_string(),
        node: node.map(str::to_string),
        field: field.map(str::to_string),
        problem: problem.into(),
    }
}
