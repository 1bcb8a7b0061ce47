//! [`SweepRow`]: one run of a sweep as a sweep folder's `summary.json` lists it — written by the
//! training crate's sweep runner, read by the report (without libtorch).

use serde::{Deserialize, Serialize};

/// One run of a sweep (accuracies as fractions, MACs per inference of one sample). Every field
/// but `name` and `model` may be missing when read (older summaries lack `schedule`, hand-made
/// ones may list less).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub name: String,
    /// `done`, `pending` or `failed`.
    #[serde(default)]
    pub status: String,
    pub model: String,
    #[serde(default)]
    pub dataset: String,
    #[serde(default)]
    pub optimizer: String,
    #[serde(default)]
    pub lr: f64,
    #[serde(default)]
    pub batch: usize,
    #[serde(default)]
    pub epochs: usize,
    #[serde(default)]
    pub depth: Option<usize>,
    #[serde(default)]
    pub width: Option<usize>,
    /// Input transform (`identity`, `resize14`, `crop14`, `resize8`).
    #[serde(default)]
    pub input: String,
    #[serde(default)]
    pub steps: usize,
    #[serde(default)]
    pub seed: u64,
    /// Learning-rate schedule (`constant`, `cosine`; empty in summaries written before it).
    #[serde(default)]
    pub schedule: String,
    /// Learnable parameters (from the `ModelSpec`).
    #[serde(default)]
    pub params: u64,
    /// MACs per inference of one sample over all steps ([`crate::OpCounts`], counted from the
    /// `ModelSpec`).
    #[serde(default)]
    pub macs: u64,
    #[serde(default)]
    pub test_acc: Option<f64>,
    #[serde(default)]
    pub test_loss: Option<f64>,
    /// What `test_acc` / `test_loss` were measured on: `test`, or `validation (last N training
    /// samples)`; empty until the run finished.
    #[serde(default)]
    pub eval_split: Option<String>,
    #[serde(default)]
    pub train_acc: Option<f64>,
    /// Training-loop wall seconds summed over epochs.
    #[serde(default)]
    pub train_seconds: Option<f64>,
    #[serde(default)]
    pub device: Option<String>,
    /// The error of a failed run.
    #[serde(default)]
    pub error: Option<String>,
}
