//! joulebench-inference: one small [`Backend`] trait and its engines.
//!
//! * [`TractBackend`] — tract-onnx, optimized plan, one thread;
//! * [`OrtBackend`] — ONNX Runtime (CPU or CUDA execution provider), explicit threads;
//! * [`NativeBackend`] — the project's own dense f32 kernels on `ModelSpec` + weights;
//! * [`open_backend`] opens any of them by [`BackendKind`].
//!
//! The native and event engines run kernels compiled per instruction set; [`Isa`] names them
//! and detects the CPU's.

pub mod activity;
pub mod backend;
pub mod error;
pub mod event;
pub mod isa;
pub mod native;
pub mod onnx_check;
pub mod options;
pub mod ort_backend;
mod pool;
pub mod registry;
pub mod source;
pub mod tract_backend;

pub use activity::{Activity, LayerActivity};
pub use backend::Backend;
pub use error::InferenceError;
pub use event::{EventEngine, ExecMode};
pub use isa::Isa;
pub use native::NativeBackend;
pub use options::BackendOptions;
pub use ort_backend::{ort_available, OrtBackend, OrtDevice};
pub use registry::{expected_dims, open_backend, register, BackendKind, Opener};
pub use source::{ModelSource, ResolvedModel};
pub use tract_backend::TractBackend;
