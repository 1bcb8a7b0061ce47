//! [`ReportData`]: everything a run measured, counted and estimated — exactly what
//! `results.json` holds, and the only input of the plots and the HTML page.
//!
//! Conventions:
//! * accuracies are fractions in `[0, 1]` (the page shows percent);
//! * times are seconds unless the field name says `_us` (microseconds);
//! * energies are joules (`_j`); powers watts (`_w`);
//! * operation counts are per inference (one sample), FLOPs = 2 × MACs for Linear/Conv/RNN.

use serde::{Deserialize, Serialize};

use crate::activity::SpikingActivity;
use crate::energy::{EnergyFigure, EnergyKind};
use crate::sweep::SweepSummary;

/// Version of the `results.json` layout; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole content of `results.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Page title.
    #[serde(default)]
    pub title: String,
    /// When the results were produced (UTC, `YYYY-MM-DD HH:MM:SS`), as the producer wrote it.
    #[serde(default)]
    pub created: String,
    /// The command line that produced the results.
    #[serde(default)]
    pub command: String,
    /// Dataset of the run (`mnist1d`, `mnist`, `fashion-mnist`).
    #[serde(default)]
    pub dataset: String,
    /// True for a `--quick` run (few epochs, small test slice, short profiling windows).
    #[serde(default)]
    pub quick: bool,
    #[serde(default)]
    pub machine: MachineInfo,
    /// The machines of a report merged from several results folders (`joulebench report DIR…`),
    /// each with the label its backends carry (`tract @ label`); empty for one machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<crate::machines::MachineEntry>,
    /// One entry per trained (or loaded) model.
    #[serde(default)]
    pub models: Vec<ModelResult>,
    /// One entry per model × backend × batch size.
    #[serde(default)]
    pub inference: Vec<InferenceResult>,
    /// Sweep studies (depth/width/input size, optimizer/learning rate …).
    #[serde(default)]
    pub sweeps: Vec<SweepSummary>,
    /// Free-form remarks shown at the top of the page (skipped stages, caveats).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The `joulebench bench spike-rate` study found next to the results (`spike_rate.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_rate: Option<crate::spike_rate::SpikeRateStudy>,
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The machine the numbers come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    #[serde(default)]
    pub cpu_model: String,
    #[serde(default)]
    pub physical_cores: Option<usize>,
    #[serde(default)]
    pub logical_cores: usize,
    #[serde(default)]
    pub memory_bytes: u64,
    /// OS name and version, e.g. `Debian GNU/Linux 12`.
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub gpus: Vec<GpuInfo>,
    /// Energy meters found (`rapl: package-0, dram`, `nvml: GPU 0`) or why none was usable.
    #[serde(default)]
    pub meters: Vec<String>,
    /// Other facts worth stating (rustc version, library versions, thread settings).
    #[serde(default)]
    pub extra: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub name: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    #[serde(default)]
    pub power_limit_w: Option<f64>,
}

/// One trained model: what it is, what it costs to run once, how training went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Unique label in this report (usually the preset name).
    pub name: String,
    pub preset: String,
    #[serde(default)]
    pub dataset: String,
    #[serde(default)]
    pub spiking: bool,
    /// Time steps `T` (1 for non-temporal models).
    #[serde(default = "one")]
    pub steps: usize,
    /// Learnable parameters.
    #[serde(default)]
    pub params: u64,
    /// Multiply-accumulates per inference (one sample, all `T` steps), counted from the spec.
    #[serde(default)]
    pub macs: u64,
    /// FLOPs per inference (2 × MACs for Linear/Conv/RNN, plus listed elementwise ops).
    #[serde(default)]
    pub flops: u64,
    /// How `params`/`macs`/`flops` were obtained, e.g. `counted from ModelSpec; FLOPs = 2×MACs`.
    #[serde(default)]
    pub counts_source: String,
    /// Test accuracy of the trained model as evaluated at the end of training (fraction).
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    #[serde(default)]
    pub training: Option<TrainingSummary>,
    /// First learnable layer's weights, for the filter plots.
    #[serde(default)]
    pub first_layer: Option<FirstLayerWeights>,
    /// Where the model's run folder is, relative to the results folder.
    #[serde(default)]
    pub run_dir: Option<String>,
}

fn one() -> usize {
    1
}

/// The training recipe and its per-epoch metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    #[serde(default)]
    pub optimizer: String,
    #[serde(default)]
    pub lr: f64,
    #[serde(default)]
    pub batch_size: usize,
    #[serde(default)]
    pub seed: u64,
    /// `cpu` or `cuda:N`.
    #[serde(default)]
    pub device: String,
    /// Training samples per epoch.
    #[serde(default)]
    pub train_samples: usize,
    /// Test samples evaluated after each epoch.
    #[serde(default)]
    pub test_samples: usize,
    #[serde(default)]
    pub epochs: Vec<EpochSummary>,
}

impl TrainingSummary {
    /// Sum of the epochs' wall seconds.
    pub fn total_wall_s(&self) -> f64 {
        self.epochs.iter().map(|e| e.wall_s).sum()
    }
}

/// One training epoch as `results.json` stores it (accuracies as fractions): built from the
/// training crate's `EpochMetrics` (`metrics.json`, different field names) by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// 1-based epoch number.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    /// Wall seconds of the epoch (training pass + test evaluation).
    pub wall_s: f64,
    #[serde(default)]
    pub samples_per_s: f64,
    /// Energy of the epoch when a meter measured it (never an estimate).
    #[serde(default)]
    pub energy: Option<MeasuredEnergy>,
}

/// A measured energy with its meter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasuredEnergy {
    pub joules: f64,
    /// `nvml` or `rapl`.
    pub meter: String,
    /// Domains summed (`package-0`, `dram`, `gpu0`).
    #[serde(default)]
    pub domains: Vec<String>,
}

/// First learnable layer's weights (possibly only its first `units` output units).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstLayerWeights {
    /// Layer name in the spec.
    pub layer: String,
    /// `linear`, `conv1d` or `conv2d`.
    pub kind: String,
    /// Shape of `values` (PyTorch layout, first dimension = output units kept).
    pub shape: Vec<usize>,
    /// Per-sample input shape of the layer's input (e.g. `[1, 28, 28]`, `[1, 40]`, `[784]`),
    /// used to draw a linear unit's weights as an image when its inputs are pixels.
    #[serde(default)]
    pub input_shape: Vec<usize>,
    /// Output units the layer really has (≥ `shape[0]`).
    #[serde(default)]
    pub total_units: usize,
    pub values: Vec<f32>,
}

impl FirstLayerWeights {
    /// The first learnable layer of `spec` with its weights, keeping at most `max_units` units.
    /// `None` when the first learnable layer is not Linear/Conv or its weight is missing.
    pub fn from_spec(
        spec: &joulebench_models::ModelSpec,
        weights: &joulebench_models::Weights,
        max_units: usize,
    ) -> Option<Self> {
        use joulebench_models::Op;
        let mut input_shape = spec.input_shape.clone();
        let shapes = spec.layer_shapes().ok()?;
        for (i, layer) in spec.layers.iter().enumerate() {
            let kind = match layer.op {
                Op::Linear { .. } => "linear",
                Op::Conv1d { .. } => "conv1d",
                Op::Conv2d { .. } => "conv2d",
                Op::Rnn { .. } => return None,
                _ => {
                    // Flatten and friends: the next layer's input is this one's output —
                    // except Flatten, after which we keep the unflattened shape for drawing.
                    if !matches!(layer.op, Op::Flatten) {
                        input_shape = shapes[i].clone();
                    }
                    continue;
                }
            };
            let w = weights.get(&format!("{}.weight", layer.name)).ok()?;
            let total = *w.shape.first()?;
            let keep = total.min(max_units.max(1));
            let per_unit: usize = w.shape[1..].iter().product();
            let mut shape = w.shape.clone();
            shape[0] = keep;
            return Some(FirstLayerWeights {
                layer: layer.name.clone(),
                kind: kind.to_string(),
                shape,
                input_shape,
                total_units: total,
                values: w.data[..keep * per_unit].to_vec(),
            });
        }
        None
    }
}

/// One model × backend × batch size: accuracy, latency, energy, activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InferenceResult {
    /// `ModelResult::name`.
    pub model: String,
    /// Backend name (`tract`, `ort`, `native`, `event`, `tch`).
    pub backend: String,
    pub batch: usize,
    #[serde(default = "one")]
    pub threads: usize,
    /// Test accuracy with this backend (fraction), over `eval_samples` samples.
    #[serde(default)]
    pub accuracy: Option<f64>,
    #[serde(default)]
    pub eval_samples: usize,
    /// Fraction of samples whose argmax equals the reference backend's.
    #[serde(default)]
    pub agreement: Option<f64>,
    /// Largest absolute logit difference from the reference backend over the same samples.
    #[serde(default)]
    pub max_abs_logit_diff: Option<f64>,
    #[serde(default)]
    pub latency: Option<LatencyStats>,
    /// Samples per second at this batch size (batch / mean query latency, or Offline mode).
    #[serde(default)]
    pub throughput_per_s: Option<f64>,
    /// The best energy figure of this row (measured over modelled over estimate): the one a
    /// single number, the Pareto front and other comparisons start from. Results written
    /// before modelled energy existed are read too (see [`crate::energy`]).
    #[serde(default, deserialize_with = "crate::energy::deserialize_energy")]
    pub energy: Option<EnergyFigure>,
    /// Every energy figure of this row, measured first (usually at the smallest batch only).
    #[serde(default)]
    pub energy_sources: Vec<EnergyFigure>,
    /// Spiking activity per inference (event-driven engine only).
    #[serde(default)]
    pub activity: Option<SpikingActivity>,
}

/// Latency of one query (one batch) in microseconds, over `queries` timed queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Timed queries (after `warmup` untimed ones).
    pub queries: usize,
    #[serde(default)]
    pub warmup: usize,
    /// Wall seconds spent in the timed loop.
    #[serde(default)]
    pub duration_s: f64,
    pub mean_us: f64,
    #[serde(default)]
    pub std_us: f64,
    #[serde(default)]
    pub min_us: f64,
    pub p50_us: f64,
    #[serde(default)]
    pub p90_us: f64,
    pub p99_us: f64,
    #[serde(default)]
    pub max_us: f64,
    /// Measured cost of the timing harness itself per query (already excluded or stated).
    #[serde(default)]
    pub harness_overhead_us: Option<f64>,
    /// Clock used, e.g. `std::time::Instant (CLOCK_MONOTONIC)`.
    #[serde(default)]
    pub clock: String,
    /// Measured process CPU time per inference (one sample), all threads, microseconds.
    #[serde(default)]
    pub cpu_us_per_inference: Option<f64>,
    /// Average busy logical CPUs during the timed loop (CPU time ÷ wall time).
    #[serde(default)]
    pub busy_cpus: Option<f64>,
}

impl InferenceResult {
    /// Every energy figure of the row: `energy_sources`, or `energy` alone for results that
    /// carry only the best figure (written before `energy_sources` existed).
    pub fn energy_figures(&self) -> &[EnergyFigure] {
        if self.energy_sources.is_empty() {
            self.energy.as_slice()
        } else {
            &self.energy_sources
        }
    }

    /// The best figure: `energy`, else the best of `energy_sources`.
    pub fn best_energy(&self) -> Option<&EnergyFigure> {
        self.energy
            .as_ref()
            .or_else(|| crate::energy::best(&self.energy_sources))
    }

    /// The first figure of `kind`.
    pub fn energy_of(&self, kind: EnergyKind) -> Option<&EnergyFigure> {
        crate::energy::of_kind(self.energy_figures(), kind)
    }
}

impl LatencyStats {
    /// Mean microseconds per sample for a query of `batch` samples.
    pub fn per_sample_us(&self, batch: usize) -> f64 {
        self.mean_us / batch.max(1) as f64
    }
}

impl ReportData {
    /// An empty report with the current schema version.
    pub fn new(title: impl Into<String>) -> Self {
        ReportData {
            schema_version: SCHEMA_VERSION,
            title: title.into(),
            ..Default::default()
        }
    }

    pub fn model(&self, name: &str) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Distinct backends in first-seen order.
    pub fn backends(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.inference {
            if !out.contains(&r.backend) {
                out.push(r.backend.clone());
            }
        }
        out
    }

    /// Distinct batch sizes, ascending.
    pub fn batches(&self) -> Vec<usize> {
        let mut b: Vec<usize> = self.inference.iter().map(|r| r.batch).collect();
        b.sort_unstable();
        b.dedup();
        b
    }

    /// The result row for model × backend × batch.
    pub fn result(&self, model: &str, backend: &str, batch: usize) -> Option<&InferenceResult> {
        self.inference
            .iter()
            .find(|r| r.model == model && r.backend == backend && r.batch == batch)
    }

    /// The best accuracy known for a model: its training-time test accuracy, else the best backend's.
    pub fn model_accuracy(&self, name: &str) -> Option<f64> {
        self.model(name).and_then(|m| m.test_accuracy).or_else(|| {
            self.inference
                .iter()
                .filter(|r| r.model == name)
                .filter_map(|r| r.accuracy)
                .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ReportData serializes")
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}
