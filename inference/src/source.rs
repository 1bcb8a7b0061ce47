//! Where a model comes from: a run folder or an ONNX file, resolved from a path once
//! ([`ModelSource::from_path`]) for every command that takes either.

use std::path::{Path, PathBuf};

use joulebench_models::onnx::{summarize_onnx, SPEC_KEY};
use joulebench_models::{ModelSpec, RunDir, Weights};

use crate::error::InferenceError;
use crate::registry::{expected_dims, BackendKind};

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

/// A model resolved from a path: its source and, when known, its spec (a run folder's spec.json,
/// or the spec a joulebench ONNX export carries in its metadata).
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub source: ModelSource,
    pub spec: Option<ModelSpec>,
}

impl ResolvedModel {
    /// The ONNX file of the model, when there is one (a run folder's export, or the file itself).
    pub fn onnx_path(&self) -> Option<PathBuf> {
        match &self.source {
            ModelSource::Run(run) => Some(run.onnx_path()).filter(|p| p.is_file()),
            ModelSource::Onnx { path, .. } => Some(path.clone()),
        }
    }
}

impl ModelSource {
    /// Resolves `path`: a run folder (a folder with spec.json), or an ONNX file. The shape of one
    /// sample of an ONNX file is `input_shape` when given (it must agree with the graph's declared
    /// input), else the one its embedded joulebench spec declares, else the graph's declared
    /// input without its batch dimension; a graph that leaves a sample dimension open needs
    /// `input_shape`. Spiking ONNX
    /// exports (input `[T, batch, …]`) are refused: their run folder is the way to run them.
    /// Every error names the path.
    pub fn from_path(
        path: &Path,
        input_shape: Option<&[usize]>,
    ) -> Result<ResolvedModel, InferenceError> {
        let named = |what: String| InferenceError::Other(format!("{}: {what}", path.display()));
        if path.is_dir() {
            if !RunDir::exists(path) {
                return Err(named("a folder without spec.json, not a run folder".into()));
            }
            let run = RunDir::new(path);
            let spec = run.spec()?;
            return Ok(ResolvedModel {
                source: ModelSource::Run(run),
                spec: Some(spec),
            });
        }
        if !path.is_file() {
            return Err(named("no such run folder or ONNX file".into()));
        }
        let bytes = std::fs::read(path).map_err(|e| named(format!("cannot read: {e}")))?;
        let summary = summarize_onnx(&bytes).map_err(|e| named(e.to_string()))?;
        let spec = match summary.metadata.get(SPEC_KEY) {
            Some(js) => {
                Some(ModelSpec::from_json(js).map_err(|e| named(format!("embedded spec: {e}")))?)
            }
            None => None,
        };
        if spec.as_ref().is_some_and(|s| s.is_spiking()) {
            return Err(named(
                "spiking ONNX exports take [T, batch, …]; give their run folder instead".into(),
            ));
        }
        let declared = summary.declared_sample_shape().map_err(named)?;
        let input_shape = match (input_shape, &spec, declared) {
            (Some(s), _, Some(d)) if s != d.as_slice() => {
                return Err(named(format!(
                    "--input-shape {s:?} contradicts the graph, whose input `{}` is declared {} \
                     (one sample: {d:?})",
                    summary.inputs[0],
                    summary.declared_input_text()
                )))
            }
            (Some(s), _, _) => s.to_vec(),
            (None, Some(spec), _) => spec.input_shape.clone(),
            (None, None, Some(d)) => d,
            (None, None, None) => {
                return Err(named(format!(
                    "the graph's input `{}` is declared {}: give the shape of one sample with \
                     --input-shape (e.g. 3,224,224)",
                    summary.inputs[0],
                    summary.declared_input_text()
                )))
            }
        };
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(named(format!(
                "input shape {input_shape:?} must list positive dimensions"
            )));
        }
        Ok(ResolvedModel {
            source: ModelSource::Onnx {
                path: path.to_path_buf(),
                input_shape,
            },
            spec,
        })
    }

    /// The run's `ModelSpec`, when the source is a run folder.
    pub fn spec(&self) -> Result<Option<ModelSpec>, InferenceError> {
        match self {
            ModelSource::Run(run) => Ok(Some(run.spec()?)),
            ModelSource::Onnx { .. } => Ok(None),
        }
    }

    /// The spec and weights of a run folder, for engines that read them directly (`kind`);
    /// an ONNX file is `Unavailable` for them, with `hint` appended to the message.
    pub fn spec_and_weights(
        &self,
        kind: BackendKind,
        hint: &str,
    ) -> Result<(ModelSpec, Weights), InferenceError> {
        match self {
            ModelSource::Run(run) => {
                let spec = run.spec()?;
                let weights = run.weights(&spec)?;
                Ok((spec, weights))
            }
            ModelSource::Onnx { path, .. } => Err(InferenceError::Unavailable(format!(
                "the {kind} backend reads a run folder (spec.json + weights.safetensors), not an ONNX file ({}){hint}",
                path.display()
            ))),
        }
    }

    /// The ONNX file of this source and the expected input dimensions (`None` = any size, for
    /// the batch dimension). A run folder not exported yet is exported first (its `model.onnx`,
    /// written atomically, as `joulebench export RUN` would).
    pub fn onnx_file(&self) -> Result<(PathBuf, Vec<Option<usize>>), InferenceError> {
        match self {
            ModelSource::Run(run) => {
                let spec = run.spec()?;
                let path = run.onnx_path();
                if !path.is_file() {
                    // not exported yet: export it now, as `joulebench export RUN` would
                    tracing::info!("{} does not exist: exporting the run", path.display());
                    run.export_onnx_to(&path).map_err(|e| {
                        InferenceError::Other(format!(
                            "{} does not exist and exporting {} failed: {e}",
                            path.display(),
                            run.path.display()
                        ))
                    })?;
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
