//! A run folder: one trained model with everything needed to export, evaluate and profile it.
//!
//! ```text
//! RUN/spec.json             ModelSpec (JSON)
//! RUN/weights.safetensors   weights by name
//! RUN/train.json            training configuration (preset, dataset, optimizer, lr, seed, …)
//! RUN/metrics.json          per-epoch metrics, rewritten atomically after each epoch
//! RUN/model.onnx            ONNX export (`joulebench export RUN`)
//! RUN/done                  written last: the run finished (sweeps skip such folders)
//! ```

use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::ModelError;
use crate::spec::ModelSpec;
use crate::weights::Weights;

#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir { path: path.into() }
    }

    pub fn spec_path(&self) -> PathBuf {
        self.path.join("spec.json")
    }
    pub fn weights_path(&self) -> PathBuf {
        self.path.join("weights.safetensors")
    }
    pub fn train_config_path(&self) -> PathBuf {
        self.path.join("train.json")
    }
    pub fn metrics_path(&self) -> PathBuf {
        self.path.join("metrics.json")
    }
    pub fn onnx_path(&self) -> PathBuf {
        self.path.join("model.onnx")
    }
    pub fn done_path(&self) -> PathBuf {
        self.path.join("done")
    }

    /// True when the folder looks like a run (has a spec).
    pub fn exists(path: &Path) -> bool {
        path.join("spec.json").is_file()
    }

    /// True when training finished (the `done` marker was written).
    pub fn is_done(&self) -> bool {
        self.done_path().is_file()
    }

    pub fn spec(&self) -> Result<ModelSpec, ModelError> {
        let p = self.spec_path();
        let s = std::fs::read_to_string(&p).map_err(|e| ModelError::io(&p, e))?;
        ModelSpec::from_json(&s).map_err(|e| e.in_file(&p))
    }

    /// The weights, checked against the spec.
    pub fn weights(&self, spec: &ModelSpec) -> Result<Weights, ModelError> {
        let w = Weights::load(&self.weights_path())?;
        w.check_against(spec)
            .map_err(|e| e.in_file(&self.weights_path()))?;
        Ok(w)
    }

    pub fn write_spec(&self, spec: &ModelSpec) -> Result<(), ModelError> {
        write_atomic(&self.spec_path(), spec.to_json().as_bytes())
    }

    pub fn mark_done(&self) -> Result<(), ModelError> {
        write_atomic(&self.done_path(), b"ok\n")
    }

    /// Exports the run as ONNX to `out` (atomically), with its training configuration
    /// (`train.json`, when present, as `joulebench.train`) and the weights' own metadata
    /// (`joulebench.weights.KEY`) in the file's metadata. Returns the bytes written. The one
    /// export of a run folder: `joulebench export`, the main job and engines that need the ONNX
    /// file of a run not yet exported all call it.
    pub fn export_onnx_to(&self, out: &Path) -> Result<Vec<u8>, ModelError> {
        let spec = self.spec()?;
        let weights = self.weights(&spec)?;
        let mut metadata = Vec::new();
        let train = self.train_config_path();
        if train.is_file() {
            let text = std::fs::read_to_string(&train).map_err(|e| ModelError::io(&train, e))?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                ModelError::Invalid(format!("{}: not valid JSON: {e}", train.display()))
            })?;
            metadata.push(("joulebench.train".to_string(), text));
        }
        for (k, v) in &weights.metadata {
            metadata.push((format!("joulebench.weights.{k}"), v.clone()));
        }
        let bytes = crate::onnx::export_onnx(&spec, &weights, &metadata)?;
        write_atomic(out, &bytes)?;
        Ok(bytes)
    }
}
