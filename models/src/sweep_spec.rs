//! The sweep file (`experiments/*.toml`) as data: TOML parsing and the checks that need no
//! dataset and no libtorch. The training crate expands it into runs (`joulebench_training::sweep`).
//!
//! ```toml
//! description = "Adam vs SGD at three learning rates"
//! dataset = "mnist"                 # or a list; mnist, fashion-mnist, mnist1d
//! model = "mlp"                     # preset(s)
//! optimizer = ["adam", "sgd"]
//! lr = [0.001, 0.01, 0.1]
//! batch = [64]
//! epochs = 1
//! ```
//!
//! Unknown keys (a misspelt `learning_rate`) and wrong types are rejected by [`SweepSpec::parse`]
//! with the TOML position; [`SweepSpec::check`] then rejects empty lists, unknown presets,
//! optimizers and input transforms, non-positive or non-finite numbers and grids larger than
//! [`MAX_GRID_RUNS`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::preset::{check_beta, check_threshold, preset_info};
use crate::recipe::{
    check_dropout, check_label_smoothing, check_weight_decay, Augment, Loss, LrSchedule,
    OptimizerKind,
};
use crate::spec::{InputTransform, Readout, Reset, Surrogate};

/// Largest grid a sweep file may describe (product of the axis lengths).
pub const MAX_GRID_RUNS: u64 = 100_000;

/// A value or a list of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    /// The values, in file order (a scalar gives one value).
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }

    /// Number of values (a scalar counts 1).
    pub fn len(&self) -> usize {
        match self {
            OneOrMany::One(_) => 1,
            OneOrMany::Many(v) => v.len(),
        }
    }

    /// True for an empty list.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sweep file: every key except `description`, `model` and `dataset` is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub description: Option<String>,
    pub dataset: OneOrMany<String>,
    pub model: OneOrMany<String>,
    pub optimizer: Option<OneOrMany<String>>,
    pub lr: Option<OneOrMany<f64>>,
    pub batch: Option<OneOrMany<usize>>,
    pub epochs: Option<OneOrMany<usize>>,
    pub depth: Option<OneOrMany<usize>>,
    pub width: Option<OneOrMany<usize>>,
    pub input: Option<OneOrMany<String>>,
    pub steps: Option<OneOrMany<usize>>,
    pub seed: Option<OneOrMany<u64>>,
    /// Learning-rate schedule(s): `constant`, `cosine`.
    #[serde(default)]
    pub schedule: Option<OneOrMany<String>>,
    pub device: Option<String>,
    pub threads: Option<usize>,
    pub data_dir: Option<PathBuf>,
    pub limit_train: Option<usize>,
    pub limit_test: Option<usize>,
    /// LIF decay of every run (spiking presets), `--beta`.
    #[serde(default)]
    pub beta: Option<f32>,
    /// Firing threshold of every run's LIF layers (spiking presets), `--threshold`.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Surrogate gradient of every run, `--surrogate` syntax (`fast-sigmoid:25`).
    #[serde(default)]
    pub surrogate: Option<String>,
    /// Readout of every run (`membrane-mean`, `membrane-last`, `spike-count`).
    #[serde(default)]
    pub readout: Option<String>,
    /// Reset of every run's LIF layers, `--reset` syntax (`subtract`, `zero`, `to:V`, `none`).
    #[serde(default)]
    pub reset: Option<String>,
    /// Training augmentation of every run (`none`, `flip`, `shift:N`).
    #[serde(default)]
    pub augment: Option<String>,
    /// Hold out the last N training samples of every run as its evaluation split instead of
    /// the test set (`--validation N`).
    #[serde(default)]
    pub validation: Option<usize>,
    /// Training loss of every run (`readout`, `per-step`).
    #[serde(default)]
    pub loss: Option<String>,
    /// Training-only classifier dropout of every run, in [0, 1).
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Weight decay of every run (`--weight-decay`, ≥ 0; default: the optimizer's).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Label smoothing of every run's cross-entropy, in [0, 1).
    #[serde(default)]
    pub label_smoothing: Option<f64>,
}

/// Pushes the error of every value in `values` that `parse` refuses.
fn parse_errors<T>(
    values: Vec<String>,
    parse: impl Fn(&str) -> Result<T, ModelError>,
    problems: &mut Vec<String>,
) {
    problems.extend(
        values
            .iter()
            .filter_map(|v| parse(v).err().map(|e| e.to_string())),
    );
}

/// Datasets a sweep may name.
pub const SWEEP_DATASETS: &[&str] = &["mnist", "fashion-mnist", "mnist1d"];

impl SweepSpec {
    /// Parses sweep TOML text; the error carries the TOML line/column and the offending key.
    pub fn parse(s: &str) -> Result<SweepSpec, String> {
        toml::from_str(s).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Reads, parses and [`check`](Self::check)s a sweep file; errors name the file.
    pub fn load(path: &Path) -> Result<SweepSpec, ModelError> {
        let s = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let bad = |what: String| ModelError::Invalid(format!("{}: {what}", path.display()));
        let spec = SweepSpec::parse(&s).map_err(bad)?;
        spec.check().map_err(bad)?;
        Ok(spec)
    }

    /// Number of runs in the grid (product of the axis lengths), `None` on overflow.
    pub fn grid_len(&self) -> Option<u64> {
        fn n<T: Clone>(v: &Option<OneOrMany<T>>) -> u64 {
            v.as_ref().map_or(1, |v| v.len() as u64)
        }
        [
            self.dataset.len() as u64,
            self.model.len() as u64,
            n(&self.optimizer),
            n(&self.lr),
            n(&self.batch),
            n(&self.epochs),
            n(&self.depth),
            n(&self.width),
            n(&self.input),
            n(&self.steps),
            n(&self.seed),
            n(&self.schedule),
        ]
        .into_iter()
        .try_fold(1u64, |acc, k| acc.checked_mul(k))
    }

    /// The checks that need neither data nor libtorch: no empty list, known datasets, presets,
    /// optimizers and input transforms, `lr` finite and > 0, counts ≥ 1, at most
    /// [`MAX_GRID_RUNS`] runs. The message lists every problem found.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut at_least_one = |key: &str, v: &Option<OneOrMany<usize>>| {
            if let Some(v) = v {
                if v.to_vec().contains(&0) {
                    problems.push(format!("`{key}` must be at least 1"));
                }
            }
        };
        at_least_one("batch", &self.batch);
        at_least_one("epochs", &self.epochs);
        at_least_one("depth", &self.depth);
        at_least_one("width", &self.width);
        at_least_one("steps", &self.steps);
        for (key, v) in [
            ("threads", self.threads),
            ("limit_train", self.limit_train),
            ("limit_test", self.limit_test),
            ("validation", self.validation),
        ] {
            if v == Some(0) {
                problems.push(format!("`{key}` must be at least 1"));
            }
        }
        for (key, empty) in [
            ("dataset", self.dataset.is_empty()),
            ("model", self.model.is_empty()),
            (
                "optimizer",
                self.optimizer.as_ref().is_some_and(|v| v.is_empty()),
            ),
            ("lr", self.lr.as_ref().is_some_and(|v| v.is_empty())),
            ("batch", self.batch.as_ref().is_some_and(|v| v.is_empty())),
            ("epochs", self.epochs.as_ref().is_some_and(|v| v.is_empty())),
            ("depth", self.depth.as_ref().is_some_and(|v| v.is_empty())),
            ("width", self.width.as_ref().is_some_and(|v| v.is_empty())),
            ("input", self.input.as_ref().is_some_and(|v| v.is_empty())),
            ("steps", self.steps.as_ref().is_some_and(|v| v.is_empty())),
            ("seed", self.seed.as_ref().is_some_and(|v| v.is_empty())),
            (
                "schedule",
                self.schedule.as_ref().is_some_and(|v| v.is_empty()),
            ),
        ] {
            if empty {
                problems.push(format!("`{key}` is an empty list"));
            }
        }
        if let Some(Err(e)) = self.beta.map(check_beta) {
            problems.push(e);
        }
        if let Some(Err(e)) = self.threshold.map(check_threshold) {
            problems.push(e);
        }
        if let Some(Err(e)) = self.dropout.map(check_dropout) {
            problems.push(e);
        }
        if let Some(Err(e)) = self.weight_decay.map(check_weight_decay) {
            problems.push(e);
        }
        if let Some(Err(e)) = self.label_smoothing.map(check_label_smoothing) {
            problems.push(e);
        }
        // every spelled value parses (scalars and lists alike)
        let scalar = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
        let list =
            |v: &Option<OneOrMany<String>>| v.as_ref().map(|v| v.to_vec()).unwrap_or_default();
        parse_errors(scalar(&self.surrogate), Surrogate::parse, &mut problems);
        parse_errors(scalar(&self.readout), Readout::parse, &mut problems);
        parse_errors(scalar(&self.reset), Reset::parse, &mut problems);
        parse_errors(scalar(&self.augment), Augment::parse, &mut problems);
        parse_errors(scalar(&self.loss), Loss::parse, &mut problems);
        parse_errors(list(&self.schedule), LrSchedule::parse, &mut problems);
        parse_errors(list(&self.optimizer), OptimizerKind::parse, &mut problems);
        parse_errors(list(&self.input), InputTransform::parse, &mut problems);
        for d in self.dataset.to_vec() {
            if !SWEEP_DATASETS.contains(&d.as_str()) {
                problems.push(format!(
                    "unknown dataset `{d}` (expected {})",
                    SWEEP_DATASETS.join(", ")
                ));
            }
        }
        for m in self.model.to_vec() {
            if let Err(e) = preset_info(&m) {
                problems.push(e.to_string());
            }
        }
        for lr in self.lr.as_ref().map(|v| v.to_vec()).unwrap_or_default() {
            if !(lr.is_finite() && lr > 0.0) {
                problems.push(format!("`lr` must be a finite number > 0, got {lr}"));
            }
        }
        match self.grid_len() {
            Some(n) if n <= MAX_GRID_RUNS => {}
            Some(n) => problems.push(format!(
                "the grid has {n} runs, more than the {MAX_GRID_RUNS} a sweep may hold"
            )),
            None => problems.push("the grid size overflows 64 bits".into()),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_key_is_named() {
        let e = SweepSpec::parse("dataset = \"mnist\"\nmodel = \"mlp\"\nlearning_rate = 0.1\n")
            .unwrap_err();
        assert!(e.contains("learning_rate"), "{e}");
    }

    #[test]
    fn checks_list_every_problem() {
        let s = SweepSpec::parse(
            "dataset = [\"mnist\", \"cifar\"]\nmodel = [\"mlp\", \"nope\"]\nlr = [0.0, 1e-3]\nbatch = []\n",
        )
        .unwrap();
        let e = s.check().unwrap_err();
        for want in ["cifar", "nope", "`lr` must be", "`batch` is an empty list"] {
            assert!(e.contains(want), "{want}: {e}");
        }
        let ok = SweepSpec::parse(
            "dataset = \"mnist1d\"\nmodel = [\"mlp1d\", \"cnn1d\"]\nseed = [0, 1]\n",
        )
        .unwrap();
        ok.check().unwrap();
        assert_eq!(ok.grid_len(), Some(4));
    }

    #[test]
    fn reset_is_checked() {
        let text =
            |r: &str| format!("dataset = \"mnist1d\"\nmodel = \"snn-temporal\"\nreset = \"{r}\"\n");
        SweepSpec::parse(&text("zero")).unwrap().check().unwrap();
        SweepSpec::parse(&text("to:-0.5")).unwrap().check().unwrap();
        let e = SweepSpec::parse(&text("sideways"))
            .unwrap()
            .check()
            .unwrap_err();
        assert!(e.contains("unknown reset `sideways`"), "{e}");
    }

    #[test]
    fn huge_grid_is_refused() {
        let seeds: Vec<String> = (0..400).map(|i| i.to_string()).collect();
        let text = format!(
            "dataset = \"mnist\"\nmodel = \"mlp\"\nseed = [{s}]\nbatch = [{s}]\n",
            s = seeds.join(",")
        );
        let e = SweepSpec::parse(&text).unwrap().check().unwrap_err();
        assert!(e.contains("160000 runs"), "{e}");
    }
}
