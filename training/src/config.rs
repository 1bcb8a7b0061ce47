//! The training configuration of one run (`RUN/train.json`), resolved from a preset's defaults
//! and the user's overrides.

use std::path::PathBuf;

use joulebench_models::{
    check_beta, check_dropout, check_label_smoothing, check_threshold, check_weight_decay,
    preset_info, write_atomic, Augment, Loss, LrSchedule, OptimizerKind, PresetOptions, RunDir,
};
use serde::{Deserialize, Serialize};

use crate::device::DeviceChoice;
use crate::error::{Result, TrainError};

/// Everything that defines one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub preset: String,
    /// `mnist`, `fashion-mnist` or `mnist1d`.
    pub dataset: String,
    /// Folder the dataset was read from (`None`: `$JOULEBENCH_DATA/<name>` or generated MNIST-1D).
    pub data_dir: Option<PathBuf>,
    /// Preset knobs (width, depth, input transform, steps, β, θ, surrogate, readout).
    pub options: PresetOptions,
    pub optimizer: OptimizerKind,
    /// Learning rate (> 0). SGD uses momentum 0.9.
    pub lr: f64,
    /// Learning-rate schedule over the run (per mini-batch step).
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Training-data augmentation.
    #[serde(default)]
    pub augment: Augment,
    /// Dropout probability on the classifier's input (the last Linear layer) during training;
    /// 0 = none. Inference is unchanged.
    #[serde(default)]
    pub dropout: f64,
    /// Training loss: cross-entropy of the readout, or averaged over the time steps.
    #[serde(default)]
    pub loss: Loss,
    /// Weight decay, as the optimizer defines it (L2 for `adam` / `sgd`, decoupled for
    /// `adamw`); 0 = none.
    #[serde(default)]
    pub weight_decay: f64,
    /// Label smoothing `ε` of the cross-entropy (the target puts `1 − ε + ε/C` on the label and
    /// `ε/C` on every other class, as PyTorch's); 0 = none.
    #[serde(default)]
    pub label_smoothing: f64,
    pub batch_size: usize,
    pub epochs: usize,
    /// Seeds libtorch (`tch::manual_seed`: initial weights, training spike encoding) and the
    /// mini-batch shuffles (ChaCha8, stream = epoch) and the test-set spike encoding.
    pub seed: u64,
    pub device: DeviceChoice,
    /// libtorch intra-op threads (`None`: libtorch's default, one per core).
    pub threads: Option<usize>,
    /// Use only the first N training samples (quick runs, tests).
    pub limit_train: Option<usize>,
    /// Use only the first N test samples.
    pub limit_test: Option<usize>,
    /// Evaluate on the last N training samples instead of the test set (they are not trained
    /// on); `limit_train` / `limit_test` then apply to the rest and to these N.
    #[serde(default)]
    pub validation: Option<usize>,
}

/// User overrides; `None` keeps the preset's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainOverrides {
    pub data_dir: Option<PathBuf>,
    pub options: PresetOptions,
    pub optimizer: Option<OptimizerKind>,
    pub lr: Option<f64>,
    #[serde(default)]
    pub schedule: Option<LrSchedule>,
    #[serde(default)]
    pub augment: Option<Augment>,
    #[serde(default)]
    pub dropout: Option<f64>,
    #[serde(default)]
    pub loss: Option<Loss>,
    #[serde(default)]
    pub weight_decay: Option<f64>,
    #[serde(default)]
    pub label_smoothing: Option<f64>,
    pub batch_size: Option<usize>,
    pub epochs: Option<usize>,
    pub seed: Option<u64>,
    pub device: Option<DeviceChoice>,
    pub threads: Option<usize>,
    pub limit_train: Option<usize>,
    pub limit_test: Option<usize>,
    #[serde(default)]
    pub validation: Option<usize>,
}

impl TrainConfig {
    /// A preset's recipe on `dataset` (`joulebench_models::PresetInfo::train_defaults`) with
    /// `o` applied.
    pub fn resolve(preset: &str, dataset: &str, o: &TrainOverrides) -> Result<TrainConfig> {
        let info = preset_info(preset)?;
        let d = info.train_defaults(dataset);
        let optimizer = o.optimizer.unwrap_or(d.optimizer);
        let cfg = TrainConfig {
            preset: preset.to_string(),
            dataset: dataset.to_string(),
            data_dir: o.data_dir.clone(),
            options: o.options.clone(),
            optimizer,
            lr: o.lr.unwrap_or(d.lr),
            schedule: o.schedule.unwrap_or(d.schedule),
            augment: o.augment.unwrap_or(d.augment),
            dropout: o.dropout.unwrap_or(d.dropout),
            loss: o.loss.unwrap_or(d.loss),
            weight_decay: o
                .weight_decay
                .unwrap_or_else(|| optimizer.default_weight_decay()),
            label_smoothing: o.label_smoothing.unwrap_or(0.0),
            batch_size: o.batch_size.unwrap_or(d.batch_size),
            epochs: o.epochs.unwrap_or(d.epochs),
            seed: o.seed.unwrap_or(d.seed),
            device: o.device.unwrap_or_default(),
            threads: o.threads,
            limit_train: o.limit_train,
            limit_test: o.limit_test,
            validation: o.validation,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the numbers: lr finite and > 0, batch, epochs, threads, limits ≥ 1, width, depth,
    /// steps ≥ 1.
    pub fn validate(&self) -> Result<()> {
        let bad = |s: String| Err(TrainError::Config(s));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "learning rate must be a finite number > 0, got {}",
                self.lr
            ));
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        check_dropout(self.dropout).map_err(TrainError::Config)?;
        check_weight_decay(self.weight_decay).map_err(TrainError::Config)?;
        check_label_smoothing(self.label_smoothing).map_err(TrainError::Config)?;
        if self.threads == Some(0) {
            return bad("threads must be at least 1".into());
        }
        if self.limit_train == Some(0) || self.limit_test == Some(0) {
            return bad("--limit-train / --limit-test must be at least 1".into());
        }
        if self.validation == Some(0) {
            return bad("--validation must hold out at least 1 training sample".into());
        }
        if self.options.width == Some(0) {
            return bad("width must be at least 1".into());
        }
        if self.options.depth == Some(0) {
            return bad("depth must be at least 1".into());
        }
        if self.options.steps == Some(0) {
            return bad("steps must be at least 1".into());
        }
        if let Some(b) = self.options.beta {
            check_beta(b).map_err(TrainError::Config)?;
        }
        if let Some(t) = self.options.threshold {
            check_threshold(t).map_err(TrainError::Config)?;
        }
        Ok(())
    }

    /// Writes `RUN/train.json` atomically.
    pub fn save(&self, run: &RunDir) -> Result<()> {
        let s = serde_json::to_string_pretty(self)
            .map_err(|e| TrainError::Config(format!("train config JSON: {e}")))?;
        write_atomic(&run.train_config_path(), s.as_bytes())?;
        Ok(())
    }

    pub fn load(run: &RunDir) -> Result<TrainConfig> {
        let p = run.train_config_path();
        let s = std::fs::read_to_string(&p).map_err(|e| TrainError::io(&p, e))?;
        serde_json::from_str(&s)
            .map_err(|e| TrainError::Config(format!("{}: bad train config: {e}", p.display())))
    }
}
