//! The HDF5 subset NIR files use, as a tree of groups and datasets (no attributes: `nir` stores
//! everything in datasets).
//!
//! [`read`] parses what h5py writes with its default settings (superblock 0/1 or 2/3, object
//! headers 1 and 2, symbol-table groups and compact link-message groups, contiguous, compact and
//! chunked datasets with the deflate and shuffle filters, little-endian integers and floats,
//! fixed-length and variable-length strings from the global heap). [`write()`] produces the
//! simplest layout h5py reads: superblock 0, symbol-table groups, contiguous datasets and
//! fixed-length strings.

mod read;
mod write;

use std::collections::BTreeMap;

pub use read::read;
pub use write::write;

/// An HDF5 object: a group of named children or a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Group(BTreeMap<String, Object>),
    Dataset(Dataset),
}

/// A dataset: its shape (empty for a scalar) and its elements in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub shape: Vec<usize>,
    pub value: Value,
}

/// The elements of a dataset, by the kind of number or string stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Any integer type (8 to 64 bits, signed or not) that fits an `i64`.
    Int(Vec<i64>),
    /// Fixed- or variable-length strings (UTF-8, or ASCII).
    Str(Vec<String>),
}

impl Value {
    /// The name of the element type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::F32(_) => "float32",
            Value::F64(_) => "float64",
            Value::Int(_) => "integer",
            Value::Str(_) => "string",
        }
    }
}
