//! The engine registry: the one place that turns an engine name ([`BackendKind`]) into an
//! opened [`Backend`] on a [`ModelSource`].
//!
//! The engines of this crate (tract, ONNX Runtime, native dense, event-driven f32 and int8) are
//! built in; an engine that lives in a crate above this one registers its opener once at start
//! with [`register`] — the training crate's `register_engines()` adds tch (libtorch), which the
//! `joulebench` binary calls when built with the `training` feature. Nothing else in the
//! workspace matches on engine names.

use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

use joulebench_models::ModelSpec;

use crate::backend::Backend;
use crate::error::InferenceError;
use crate::native::NativeBackend;
use crate::options::BackendOptions;
use crate::ort_backend::{OrtBackend, OrtDevice};
use crate::source::ModelSource;
use crate::tract_backend::TractBackend;

/// The engines `joulebench` knows, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// tract-onnx, optimized plan, f32, one thread.
    Tract,
    /// ONNX Runtime (CPU execution provider).
    Ort,
    /// ONNX Runtime with the CUDA execution provider.
    OrtCuda,
    /// The project's own dense f32 kernels, reading the `ModelSpec` and weights directly.
    Native,
    /// The event-driven LIF engine (spiking models).
    Event,
    /// The event-driven LIF engine in int8 fixed point (int8 weights, int16 membranes; fully
    /// connected spiking models; see `EventEngine::set_precision`).
    EventInt8,
    /// The trained libtorch module (the reference); lives in the training crate.
    Tch,
}

impl BackendKind {
    pub const ALL: [BackendKind; 7] = [
        BackendKind::Tract,
        BackendKind::Ort,
        BackendKind::OrtCuda,
        BackendKind::Native,
        BackendKind::Event,
        BackendKind::EventInt8,
        BackendKind::Tch,
    ];

    /// Command-line name.
    pub const fn name(&self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
            BackendKind::Ort => "ort",
            BackendKind::OrtCuda => "ort-cuda",
            BackendKind::Native => "native",
            BackendKind::Event => "event",
            BackendKind::EventInt8 => "event-int8",
            BackendKind::Tch => "tch",
        }
    }

    /// True for the event-driven engines, which run spiking (LIF) networks only.
    pub fn spiking_only(&self) -> bool {
        matches!(self, BackendKind::Event | BackendKind::EventInt8)
    }

    /// Worker threads the engine really uses when asked for `requested` (tract runs one).
    pub fn threads_used(&self, requested: usize) -> usize {
        if *self == BackendKind::Tract {
            1
        } else {
            requested
        }
    }

    /// True for engines that read an ONNX file.
    pub fn needs_onnx(&self) -> bool {
        matches!(
            self,
            BackendKind::Tract | BackendKind::Ort | BackendKind::OrtCuda
        )
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = InferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                InferenceError::Other(format!(
                "unknown backend `{s}` (expected one of: tract, ort, ort-cuda, native, event, event-int8, tch)"
            ))
            })
    }
}

/// Input dimensions a run's ONNX export takes: `[batch, sample…]` or `[T, batch, sample…]`.
pub fn expected_dims(spec: &ModelSpec) -> Vec<Option<usize>> {
    let mut dims = Vec::new();
    if spec.is_spiking() {
        dims.push(Some(spec.steps));
    }
    dims.push(None);
    dims.extend(spec.input_shape.iter().map(|&d| Some(d)));
    dims
}

/// Opens an engine on a model source with the given options.
pub type Opener = fn(&ModelSource, &BackendOptions) -> Result<Box<dyn Backend>, InferenceError>;

/// Engines registered by crates above this one (tch), by kind.
static REGISTERED: RwLock<Vec<(BackendKind, Opener)>> = RwLock::new(Vec::new());

/// Registers (or replaces) the opener of engine `kind`, for engines that live outside this crate.
/// Call once at start; later calls for the same kind replace the opener.
pub fn register(kind: BackendKind, opener: Opener) {
    let mut r = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    r.retain(|(k, _)| *k != kind);
    r.push((kind, opener));
}

/// The opener registered for `kind`, if any.
fn registered(kind: BackendKind) -> Option<Opener> {
    let r = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    r.iter().find(|(k, _)| *k == kind).map(|(_, o)| *o)
}

/// Whether engine `kind` can be opened in this process: built in, or registered (tch only after
/// the training crate's `register_engines()`).
pub fn is_available(kind: BackendKind) -> bool {
    kind != BackendKind::Tch || registered(kind).is_some()
}

/// Opens backend `kind` on `source`: the built-in engines directly, others through the opener
/// registered with [`register`] (tch: `Unavailable` unless the training crate registered it).
pub fn open_backend(
    kind: BackendKind,
    source: &ModelSource,
    opts: &BackendOptions,
) -> Result<Box<dyn Backend>, InferenceError> {
    if opts.threads == 0 {
        return Err(InferenceError::Other("threads must be at least 1".into()));
    }
    if let Some(open) = registered(kind) {
        return open(source, opts);
    }
    match kind {
        BackendKind::Tract => {
            let (path, dims) = source.onnx_file()?;
            Ok(Box::new(TractBackend::load(&path, &dims)?))
        }
        BackendKind::Ort | BackendKind::OrtCuda => {
            let (path, dims) = source.onnx_file()?;
            let device = if kind == BackendKind::OrtCuda {
                OrtDevice::Cuda(opts.gpu)
            } else {
                OrtDevice::Cpu
            };
            Ok(Box::new(OrtBackend::load(&path, &dims, opts, device)?))
        }
        BackendKind::Native => {
            let (spec, weights) =
                source.spec_and_weights(kind, "; use --backend tract or ort for ONNX files")?;
            Ok(Box::new(NativeBackend::new(&spec, &weights, opts.threads)?))
        }
        BackendKind::Event | BackendKind::EventInt8 => {
            let (spec, weights) = source.spec_and_weights(kind, "")?;
            let mut e = crate::event::EventEngine::new(&spec, &weights, opts.threads)?;
            if kind == BackendKind::EventInt8 {
                e.set_precision(crate::event::Precision::Int8)?;
            }
            Ok(Box::new(e))
        }
        BackendKind::Tch => Err(InferenceError::Unavailable(
            "the tch backend needs the `training` feature (build with `--features training`)"
                .into(),
        )),
    }
}
