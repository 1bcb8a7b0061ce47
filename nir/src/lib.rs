//! NIR (Neuromorphic Intermediate Representation) files: read and write the HDF5 `.nir` files
//! of the `nir` Python package (the reference implementation, tested against nir 1.0.8), as a
//! typed, validated graph.
//!
//! # HDF5: a minimal pure-Rust reader and writer
//!
//! NIR files are HDF5. This crate reads and writes them with its own small HDF5 implementation
//! ([`hdf5`], about 1 200 lines with rustfmt) instead of the C library (`hdf5`/`hdf5-metno`
//! crates): no system library to install or build, and a reader written for untrusted input
//! (every offset bounds-checked, no panic, decoded sizes capped by the file length, work capped
//! against self-referencing B-trees, fuzzed by `fuzz/fuzz_targets/nir.rs`). Pure-Rust HDF5
//! crates do exist on crates.io (`hdf5-pure`, `rustyhdf5`, `hdf5-pure-rust`), but they are
//! recent, fast-moving (one release yanked) and far larger than what NIR needs, and none states
//! the hostile-input guarantees the product's readers give; the subset NIR uses is
//! small. The reader handles what h5py writes with default settings: superblock 0–3, object
//! headers 1 and 2, symbol-table groups and compact link groups, contiguous, compact and chunked
//! (B-tree 1) datasets with the deflate (gzip) and shuffle filters — `nir.write` gzips every
//! array —, little-endian integers and floats, fixed-length and variable-length (global heap)
//! strings. Refused with a clear error: big-endian data, other filters, dense (fractal-heap)
//! groups, layout messages 4 and 5 (the chunk indexes of `libver="latest"`; that format's
//! superblock 3, object headers 2 and link messages are read, tested with uncompressed data).
//! The writer emits superblock 0, symbol-table groups, uncompressed contiguous datasets and
//! fixed-length UTF-8 strings, which h5py and `nir.read` accept (checked by the tests).
//!
//! # Node types and their equations
//!
//! [`NirNode`] covers: `Input`, `Output` (shape without batch dimension), `Affine` (y = W x + b,
//! W `(out, in)`), `Linear` (y = W x), `Scale` (y = s ⊙ x), `Flatten`, `Conv1d`, `Conv2d`
//! (PyTorch semantics, weight `(C_out, C_in/groups, k…)`), `SumPool2d`, `AvgPool2d`, the neurons
//! below and `Threshold` (z = 1 if x > θ else 0). Not supported: nested `NIRGraph` nodes,
//! `Delay`, `I` (integrator without reset), `Identity`. Float64 files are narrowed to f32.
//!
//! NIR neurons are continuous-time; every parameter is a tensor with one value per neuron. With
//! input I (the sum of the incoming edges; for Cuba models S, the incoming spikes/values):
//!
//! * **LI**: τ·dv/dt = (v_leak − v) + r·I. Output v.
//! * **LIF**: τ·dv/dt = (v_leak − v) + r·I; spike z = 1 when v > v_threshold, then v ← v_reset.
//!   `v_reset` is absent in files older than nir 1.0: it defaults to 0.
//! * **IF**: dv/dt = r·I; spike when v > v_threshold, then v ← v_reset (default 0).
//! * **CubaLI**: τ_syn·dI/dt = −I + w_in·S; τ_mem·dv/dt = (v_leak − v) + r·I. Output v.
//! * **CubaLIF**: as CubaLI, plus spike when v > v_threshold, then v ← v_reset (default 0).
//!   `w_in` defaults to 1.
//!
//! NIR fixes no time unit: exporters write τ in their own (mostly seconds, with the Δt they
//! simulated at). A simulator with step Δt (same unit) discretizes these, e.g. forward Euler
//! v ← v + Δt/τ·((v_leak − v) + r·I) (a decay factor 1 − Δt/τ), or exactly with e^(−Δt/τ).
//!
//! # Checks
//!
//! [`read`] (and [`NirGraph::validate`], which [`write()`] runs too) refuses, naming the node and
//! field: unknown node types (listing the supported ones), missing, NaN or infinite parameters,
//! τ ≤ 0, neuron parameters of different shapes or not one per neuron of the incoming shape,
//! edges naming missing nodes, shapes that disagree along an edge (each node's output shape is
//! computed from its input: [`NirGraph::shapes`]), and cycles (recurrent graphs, naming the
//! nodes on the cycle). [`NirGraph::chain`] returns an `Input → … → Output` graph as an ordered
//! list, or names the branching node.

pub mod error;
mod graph;
pub mod hdf5;
mod node;

use std::path::Path;

pub use error::NirError;
pub use graph::{output_shape, NirGraph, Shapes, NIR_VERSION};
pub use node::{Conv, NirNode, Padding, Pool, Tensor, SUPPORTED_TYPES};

/// The file name used in errors about a graph that did not come from a file.
pub const IN_MEMORY: &str = "NIR graph";

/// Reads and validates a `.nir` file.
pub fn read(path: &Path) -> Result<NirGraph, NirError> {
    let bytes = std::fs::read(path).map_err(|source| NirError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_bytes(path, &bytes)
}

/// Parses and validates the bytes of a `.nir` file; `path` only names it in errors.
pub fn read_bytes(path: &Path, bytes: &[u8]) -> Result<NirGraph, NirError> {
    let file = path.display().to_string();
    let tree = hdf5::read(path, bytes)?;
    let graph = NirGraph::from_tree(&tree).map_err(|e| e.in_file(&file))?;
    graph.validate().map_err(|e| e.in_file(&file))?;
    Ok(graph)
}

/// The bytes of a `.nir` file for `graph` (validated first).
pub fn to_bytes(graph: &NirGraph) -> Result<Vec<u8>, NirError> {
    graph.validate()?;
    hdf5::write(&graph.to_tree())
        .map_err(|what| NirError::hdf5(Path::new(IN_MEMORY), format!("cannot write: {what}")))
}

/// Writes `graph` (validated first) to `path` atomically: a temporary file in the same folder,
/// synced, then renamed over `path`.
pub fn write(path: &Path, graph: &NirGraph) -> Result<(), NirError> {
    let bytes = to_bytes(graph).map_err(|e| e.in_file(&path.display().to_string()))?;
    write_atomic(path, &bytes)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NirError> {
    use std::io::Write;
    let io = |p: &Path, source| NirError::Io {
        path: p.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    Ok(())
}
