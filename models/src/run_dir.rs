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
}
