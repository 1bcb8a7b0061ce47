//! The training-recipe vocabulary: optimizers, learning-rate schedules, augmentations, losses,
//! the checks of the recipe's numbers, and a preset's default recipe ([`TrainDefaults`]).

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// `parse` (the spelling on the command line and in sweep files, plus aliases) and `name` of a
/// plain enum; an unknown spelling is an error that lists the accepted names.
macro_rules! spelled {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal $(| $alias:literal)*),+ $(,)?) => {
        impl $ty {
            pub fn parse(s: &str) -> Result<Self, ModelError> {
                match s {
                    $($name $(| $alias)* => Ok($ty::$variant),)+
                    o => {
                        let names = [$($name),+];
                        let expected = match names.split_last() {
                            Some((last, rest)) if !rest.is_empty() => {
                                format!("{} or {last}", rest.join(", "))
                            }
                            _ => names.join(""),
                        };
                        Err(ModelError::Invalid(format!(
                            "unknown {} `{o}` (expected {expected})",
                            $what
                        )))
                    }
                }
            }
            pub fn name(&self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }
    };
}

/// The optimizer of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// `torch.optim.Adam`; a weight decay is an L2 term added to the gradient.
    Adam,
    /// `torch.optim.SGD` with momentum 0.9; a weight decay is an L2 term added to the gradient.
    Sgd,
    /// `torch.optim.AdamW`: Adam with decoupled weight decay (each step shrinks the weights by
    /// `lr · weight_decay` before the Adam update; default weight decay 0.01, as PyTorch's).
    #[serde(rename = "adamw")]
    AdamW,
}

spelled!(OptimizerKind, "optimizer", Adam => "adam", Sgd => "sgd", AdamW => "adamw");

impl OptimizerKind {
    /// The weight decay a run gets when none is given: PyTorch's defaults (0.01 for AdamW,
    /// 0 otherwise).
    pub fn default_weight_decay(&self) -> f64 {
        match self {
            OptimizerKind::AdamW => 0.01,
            OptimizerKind::Adam | OptimizerKind::Sgd => 0.0,
        }
    }
}

/// Learning-rate schedule over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The learning rate stays at its initial value.
    #[default]
    Constant,
    /// Cosine annealing to zero, per mini-batch step: `lr_k = lr · ½ · (1 + cos(π · k / K))`,
    /// `k` = optimizer steps done, `K` = epochs × batches per epoch.
    Cosine,
}

spelled!(LrSchedule, "learning-rate schedule", Constant => "constant", Cosine => "cosine");

impl LrSchedule {
    /// Learning rate of step `k` of `total` (0-based) for the initial rate `lr`.
    pub fn lr_at(&self, lr: f64, k: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let f = k as f64 / total.max(1) as f64;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * f.min(1.0)).cos())
            }
        }
    }
}

/// Data augmentation of training batches (test data is never augmented). Random choices are
/// drawn per sample from the run seed, epoch and batch; 2-D images only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Augment {
    /// Training samples as they are.
    #[default]
    None,
    /// Each training image is mirrored left–right with probability ½.
    Flip,
    /// Each training image is translated by a whole-pixel offset `(dy, dx)` drawn uniformly
    /// from `[−n, n]²`; the pixels shifted in repeat the image's edge.
    Shift(u32),
}

impl From<Augment> for String {
    fn from(a: Augment) -> String {
        a.name()
    }
}

impl TryFrom<String> for Augment {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, ModelError> {
        Augment::parse(&s)
    }
}

/// Largest offset `shift:N` accepts.
pub const MAX_SHIFT: u32 = 8;

impl Augment {
    /// Parses `none`, `flip` (`hflip`), `shift` (= `shift:2`) or `shift:N` (N in 1..=8).
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let bad = |why: String| ModelError::Invalid(format!("augmentation `{s}`: {why}"));
        match s.split_once(':') {
            None => match s {
                "none" => Ok(Augment::None),
                "flip" | "hflip" => Ok(Augment::Flip),
                "shift" => Ok(Augment::Shift(2)),
                _ => Err(ModelError::Invalid(format!(
                    "unknown augmentation `{s}` (expected none, flip, shift or shift:N)"
                ))),
            },
            Some(("shift", n)) => match n.parse::<u32>() {
                Ok(n @ 1..=MAX_SHIFT) => Ok(Augment::Shift(n)),
                _ => Err(bad(format!(
                    "the largest offset must be a whole number of pixels in 1..={MAX_SHIFT}"
                ))),
            },
            Some(_) => Err(bad("only shift takes a value (shift:N)".into())),
        }
    }

    /// The spelling [`Augment::parse`] reads back.
    pub fn name(&self) -> String {
        match self {
            Augment::None => "none".into(),
            Augment::Flip => "flip".into(),
            Augment::Shift(n) => format!("shift:{n}"),
        }
    }
}

/// What the training loss compares with the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Cross-entropy of the network's logits (for a temporal net: of its readout, e.g. the
    /// output membrane averaged over the steps).
    #[default]
    Readout,
    /// Cross-entropy at every time step, averaged over the steps: of the output membrane
    /// `U[t]` (membrane readouts), the output spikes `S[t]` (spike-count readout) or the last
    /// layer's output (other nets) — the loss of snnTorch's tutorials (`ce_rate_loss` for
    /// spikes). Each step must classify on its own, so early steps get a direct gradient. Same
    /// as `readout` for single-step nets; inference and the logits are unchanged.
    PerStep,
}

spelled!(Loss, "loss", Readout => "readout", PerStep => "per-step" | "per_step");

/// `Err("{what} must be in [0, 1), got {p}")` unless `p` is a finite number in [0, 1).
fn check_fraction(what: &str, p: f64) -> Result<(), String> {
    if p.is_finite() && (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{what} must be in [0, 1), got {p}"))
    }
}

/// `Err(message)` unless the dropout probability `p` is a finite number in [0, 1).
pub fn check_dropout(p: f64) -> Result<(), String> {
    check_fraction("dropout", p)
}

/// `Err(message)` unless the label-smoothing factor `e` is a finite number in [0, 1).
pub fn check_label_smoothing(e: f64) -> Result<(), String> {
    check_fraction("label smoothing", e)
}

/// `Err(message)` unless the weight decay `w` is a finite number ≥ 0.
pub fn check_weight_decay(w: f64) -> Result<(), String> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(format!("weight decay must be a finite number ≥ 0, got {w}"))
    }
}

/// A preset's default training recipe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainDefaults {
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Learning-rate schedule (constant unless the preset says otherwise).
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Training-data augmentation (none unless the preset says otherwise).
    #[serde(default)]
    pub augment: Augment,
    /// Training-only dropout before the classifier (0 unless the preset says otherwise).
    #[serde(default)]
    pub dropout: f64,
    /// Training loss (cross-entropy of the readout unless the preset says otherwise).
    #[serde(default)]
    pub loss: Loss,
}
