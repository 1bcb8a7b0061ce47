//! Per-epoch metrics (`RUN/metrics.json`) and the epoch hook energy meters plug into.

use joulebench_models::{write_atomic, RunDir};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Energy of one epoch as measured by a meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochEnergy {
    /// Joules consumed over the epoch window (training loop and test evaluation).
    pub joules: f64,
    /// Which meter and domain measured it (e.g. `nvml:gpu0`, `rapl:package-0`), or `estimate:…`.
    pub source: String,
}

/// Called around every epoch; energy meters implement it (the profiler's meters plug in via the
/// CLI). `epoch_begin` is called right before the epoch's first batch, `epoch_end` right after
/// its test evaluation.
pub trait EpochHook {
    fn epoch_begin(&mut self);
    /// The energy of the epoch just finished, when the hook can measure it.
    fn epoch_end(&mut self) -> Option<EpochEnergy>;
}

/// One epoch's numbers. Losses are mean cross-entropy per sample (`null` when not finite, e.g.
/// a diverged run); accuracies are fractions in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean training objective over the epoch's training batches (with the weights as they were
    /// then): the cross-entropy of the logits, or its per-step mean with `loss = per-step`
    /// (`train.json`). `test_loss` is always the cross-entropy of the logits.
    pub train_loss: Option<f64>,
    pub train_acc: f64,
    pub test_loss: Option<f64>,
    pub test_acc: f64,
    /// Monotonic wall seconds of the training loop (forward, backward, optimizer, data).
    pub train_s: f64,
    /// Wall seconds of the test evaluation.
    pub eval_s: f64,
    /// `train_s + eval_s`.
    pub wall_s: f64,
    /// Training samples per second of `train_s`.
    pub samples_per_s: f64,
    /// Energy of the epoch when a meter was attached.
    pub energy: Option<EpochEnergy>,
}

/// The whole `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub preset: String,
    pub dataset: String,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// libtorch intra-op threads used.
    pub threads: usize,
    pub train_samples: usize,
    /// Samples of the evaluation split (`test_*` figures): the test set, or the held-out
    /// validation samples (see `eval_split`).
    pub test_samples: usize,
    /// What the `test_*` figures were measured on: `test`, or `validation (last N training
    /// samples)` for runs trained with `--validation N`.
    #[serde(default = "test_split")]
    pub eval_split: String,
    pub parameters: usize,
    pub epochs: Vec<EpochMetrics>,
}

fn test_split() -> String {
    "test".into()
}

impl Metrics {
    /// Total training-loop seconds over all epochs.
    pub fn train_seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.train_s).sum()
    }

    pub fn last(&self) -> Option<&EpochMetrics> {
        self.epochs.last()
    }

    /// Writes `RUN/metrics.json` atomically.
    pub fn save(&self, run: &RunDir) -> Result<()> {
        let s = serde_json::to_string_pretty(self)
            .map_err(|e| TrainError::Config(format!("metrics JSON: {e}")))?;
        write_atomic(&run.metrics_path(), s.as_bytes())?;
        Ok(())
    }

    pub fn load(run: &RunDir) -> Result<Metrics> {
        let p = run.metrics_path();
        let s = std::fs::read_to_string(&p).map_err(|e| TrainError::io(&p, e))?;
        serde_json::from_str(&s)
            .map_err(|e| TrainError::Config(format!("{}: bad metrics JSON: {e}", p.display())))
    }
}

/// `Some(v)` when finite.
pub fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}
