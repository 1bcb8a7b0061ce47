//! Opening a backend by name: which engine, which model, which options.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use joulebench_models::{ModelSpec, RunDir};

use crate::backend::Backend;
use crate::error::InferenceError;
use crate::native::NativeBackend;
use crate::options::BackendOptions;
use crate::ort_backend::{OrtBackend, OrtDevice};
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
    pub fn name(&self) -> &'static str {
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

/// Where a model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A run folder (spec.json, weights.safetensors, model.onnx after `joulebench export`).
    Run(RunDir),
    /// Any ONNX classifier, with the shape of one sample (no batch dimension), e.g. `[1, 28, 28]`.
    /// Its input is `[batch, input_shape…]`.
    Onnx {
        path: PathBuf,
        input_shape: Vec<usize>,
    },
}

impl ModelSource {
    /// The run's `ModelSpec`, when the source is a run folder.
    pub fn spec(&self) -> Result<Option<ModelSpec>, InferenceError> {
        match self {
            ModelSource::Run(run) => Ok(Some(run.spec()?)),
            ModelSource::Onnx { .. } => Ok(None),
        }
    }

    /// The ONNX file of this source and the expected input dimensions (`None` = any size, for
    /// the batch dimension). Errors when a run folder has not been exported yet.
    pub fn onnx_file(&self) -> Result<(PathBuf, Vec<Option<usize>>), InferenceError> {
        match self {
            ModelSource::Run(run) => {
                let spec = run.spec()?;
                let path = run.onnx_path();
                if !path.is_file() {
                    return Err(InferenceError::Other(format!(
                        "{} does not exist: run `joulebench export {}` first",
                        path.display(),
                        run.path.display()
                    )));
                }
                Ok((path, expected_dims(&spec)))
            }
            ModelSource::Onnx { path, input_shape } => {
                let mut dims = vec![None];
                dims.extend(input_shape.iter().map(|&d| Some(d)));
                Ok((path.clone(), dims))
            }
        }
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

/// Opens backend `kind` on `source`.
///
/// `Tch` cannot be opened here (libtorch lives in the training crate, which depends on this one):
/// the CLI builds it itself when compiled with the `training` feature.
pub fn open_backend(
    kind: BackendKind,
    source: &ModelSource,
    opts: &BackendOptions,
) -> Result<Box<dyn Backend>, InferenceError> {
    if opts.threads == 0 {
        return Err(InferenceError::Other("threads must be at least 1".into()));
    }
    match kind {
        BackendKind::Tract => {
            let (path, dims) = source.onnx_file()?;
            Ok(Box::new(TractBackend::load(&path, &dims)?))
        }
        BackendKind::Ort => {
            let (path, dims) = source.onnx_file()?;
            Ok(Box::new(OrtBackend::load(&path, &dims, opts, OrtDevice::Cpu)?))
        }
        BackendKind::OrtCuda => {
            let (path, dims) = source.onnx_file()?;
            Ok(Box::new(OrtBackend::load(
                &path,
                &dims,
                opts,
                OrtDevice::Cuda(opts.gpu),
            )?))
        }
        BackendKind::Native => match source {
            ModelSource::Run(run) => {
                let spec = run.spec()?;
                let weights = run.weights(&spec)?;
                Ok(Box::new(NativeBackend::new(&spec, &weights, opts.threads)?))
            }
            ModelSource::Onnx { path, .. } => Err(InferenceError::Unavailable(format!(
                "the native backend reads a run folder (spec.json + weights.safetensors), not an ONNX file ({}); \
                 use --backend tract or ort for ONNX files",
                path.display()
            ))),
        },
        BackendKind::Event | BackendKind::EventInt8 => match source {
            ModelSource::Run(run) => {
                let spec = run.spec()?;
                let weights = run.weights(&spec)?;
                let mut e = crate::event::EventEngine::new(&spec, &weights, opts.threads)?;
                if kind == BackendKind::EventInt8 {
                    e.set_precision(crate::event::Precision::Int8)?;
                }
                Ok(Box::new(e))
            }
            ModelSource::Onnx { path, .. } => Err(InferenceError::Unavailable(format!(
                "the event backend reads a run folder (spec.json + weights.safetensors), not an ONNX file ({})",
                path.display()
            ))),
        },
        BackendKind::Tch => Err(InferenceError::Unavailable(
            "the tch backend needs the `training` feature (build with `--features training`)".into(),
        )),
    }
}
