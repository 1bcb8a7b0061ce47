//! `joulebench train`: trains one preset into a run folder (needs the `training` feature).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use joulebench_models::memory::{check_fits_here, MemoryEstimate};
use joulebench_models::{
    Augment, InputTransform, Loss, LrSchedule, OptimizerKind, PresetOptions, Readout, RunDir,
    Surrogate,
};
use joulebench_training::{
    load_dataset, train, DeviceChoice, EpochHook, TrainConfig, TrainOptions, TrainOverrides,
};

use joulebench_bench::epoch_meter::{open_training_meter, parse_training_meter};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model preset (see `joulebench models`), e.g. mlp, cnn, ann, snn-temporal, mlp-sweep, cnn1d.
    #[arg(long)]
    pub model: String,
    /// Dataset: mnist1d (generated, no download), mnist or fashion-mnist.
    #[arg(long, default_value = "mnist1d")]
    pub dataset: String,
    /// Folder holding the dataset files (default: $JOULEBENCH_DATA/DATASET, or generated MNIST-1D).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Epochs (default: the preset's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate, > 0 (default: the preset's).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Mini-batch size (default: the preset's).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Optimizer: adam, adamw (decoupled weight decay) or sgd (momentum 0.9) (default: the
    /// preset's).
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Hidden width (mlp-sweep).
    #[arg(long)]
    pub width: Option<usize>,
    /// Number of hidden layers (mlp-sweep).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Input transform for 28×28 images: identity, resize14, crop14 or resize8.
    #[arg(long)]
    pub input: Option<String>,
    /// Time steps T of temporal spiking presets (snn-temporal, csnn-temporal).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Device: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of weights, shuffles and spike encoding (default: the preset's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train on the first N training samples only (quick runs).
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Evaluate on the first N test samples only.
    #[arg(long)]
    pub limit_test: Option<usize>,
    /// Hold out the last N training samples and evaluate on them instead of the test set (to
    /// choose a recipe without looking at the test set); metrics.json says which split.
    #[arg(long, value_name = "N")]
    pub validation: Option<usize>,
    /// Energy meter of each epoch: auto (NVML when training on a GPU, RAPL on the CPU; energy left
    /// empty, with the reason printed, when that counter is unreadable), rapl, nvml (an error when
    /// unreadable) or none. Training energy is measured or absent, never estimated.
    #[arg(long, default_value = "auto")]
    pub meter: String,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Learning-rate schedule: constant or cosine (annealed to 0 over all steps) (default: the
    /// preset's: cosine for ann, constant for the others; `joulebench models` lists it).
    #[arg(long)]
    pub schedule: Option<String>,
    /// LIF decay β in [0, 1] of every LIF layer (spiking presets; default 0.9).
    #[arg(long)]
    pub beta: Option<f32>,
    /// Firing threshold θ > 0 of every LIF layer (spiking presets; default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Surrogate gradient of the spike: atan, atan:ALPHA, fast-sigmoid or fast-sigmoid:SLOPE
    /// (default atan with α = 2; fast-sigmoid's slope defaults to 25, as snnTorch's).
    #[arg(long)]
    pub surrogate: Option<String>,
    /// Logits of spiking presets that end in a LIF layer: membrane-mean, membrane-last or
    /// spike-count (default: the preset's).
    #[arg(long)]
    pub readout: Option<String>,
    /// What a spike does to the membrane of every LIF layer: subtract (θ, snnTorch's default),
    /// zero (reset to 0, as NIR's LIF: with --readout spike-count the network exports to NIR
    /// exactly), to:V or none.
    #[arg(long)]
    pub reset: Option<String>,
    /// Training-data augmentation: none, flip (mirror each image left–right with probability
    /// ½) or shift:N (move each image by a random whole-pixel offset in [−N, N]², edge pixels
    /// repeated; `shift` = shift:2), drawn per image from the seed (default: the preset's).
    #[arg(long)]
    pub augment: Option<String>,
    /// Dropout probability in [0, 1) on the classifier's input (the last Linear layer) while
    /// training; the trained network runs without it (default: the preset's).
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Training loss: readout (cross-entropy of the logits) or per-step (cross-entropy of every
    /// time step's output membrane — or spikes, with a spike-count readout — averaged over the
    /// steps, as snnTorch's tutorials train) (default: the preset's).
    #[arg(long)]
    pub loss: Option<String>,
    /// Weight decay ≥ 0, as the optimizer defines it: an L2 term in the gradient for adam and
    /// sgd, decoupled shrinking for adamw (default: 0, adamw 0.01 — PyTorch's).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Label smoothing ε in [0, 1) of the cross-entropy (PyTorch's: the target puts ε/C on
    /// every class and 1 − ε more on the label) (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub label_smoothing: Option<f64>,
    /// Run folder to write (spec.json, train.json, metrics.json, weights.safetensors, done).
    #[arg(long)]
    pub out: PathBuf,
}

impl TrainArgs {
    /// The overrides these flags ask for (validated by `TrainConfig::resolve`).
    pub fn overrides(&self) -> Result<TrainOverrides> {
        Ok(TrainOverrides {
            data_dir: self.data_dir.clone(),
            options: PresetOptions {
                width: self.width,
                depth: self.depth,
                input: self
                    .input
                    .as_deref()
                    .map(InputTransform::parse)
                    .transpose()?,
                steps: self.steps,
                beta: self.beta,
                threshold: self.threshold,
                surrogate: self
                    .surrogate
                    .as_deref()
                    .map(Surrogate::parse)
                    .transpose()?,
                readout: self.readout.as_deref().map(Readout::parse).transpose()?,
                reset: self
                    .reset
                    .as_deref()
                    .map(joulebench_models::spec::Reset::parse)
                    .transpose()?,
            },
            optimizer: self
                .optimizer
                .as_deref()
                .map(OptimizerKind::parse)
                .transpose()?,
            lr: self.lr,
            batch_size: self.batch,
            epochs: self.epochs,
            seed: self.seed,
            device: Some(self.device.parse::<DeviceChoice>()?),
            threads: self.threads,
            limit_train: self.limit_train,
            limit_test: self.limit_test,
            validation: self.validation,
            augment: self.augment.as_deref().map(Augment::parse).transpose()?,
            dropout: self.dropout,
            weight_decay: self.weight_decay,
            label_smoothing: self.label_smoothing,
            loss: self.loss.as_deref().map(Loss::parse).transpose()?,
            schedule: self
                .schedule
                .as_deref()
                .map(LrSchedule::parse)
                .transpose()?,
        })
    }
}

pub fn run(a: TrainArgs) -> Result<()> {
    let cfg = TrainConfig::resolve(&a.model, &a.dataset, &a.overrides()?)?;
    let ds = load_dataset(&cfg).with_context(|| format!("loading dataset {}", cfg.dataset))?;
    // check preset/dataset fit before touching the output folder
    let spec = joulebench_training::spec_for(&cfg, &ds)?;
    let gpu = cfg.device.resolve()?.is_cuda();
    if !gpu {
        let est = MemoryEstimate::for_training(&spec, cfg.batch_size)?;
        check_fits_here(
            &format!("training {} at batch {}", spec.preset, cfg.batch_size),
            &est,
        )?;
    }
    let (mut meter, note) = open_training_meter(parse_training_meter(&a.meter)?, gpu)?;
    eprintln!("epoch energy: {note}");
    let run_dir = RunDir::new(&a.out);
    let outcome = train(
        &cfg,
        &ds,
        &run_dir,
        TrainOptions {
            quiet: a.quiet,
            hook: meter.as_mut().map(|m| m as &mut dyn EpochHook),
        },
    )?;
    let last = outcome.metrics.last().context("no epoch ran")?;
    println!(
        "{} on {}: {} accuracy {:.2}% after {} epochs, {:.1} s training on {} → {}",
        cfg.preset,
        cfg.dataset,
        outcome.metrics.eval_split,
        100.0 * last.test_acc,
        cfg.epochs,
        outcome.metrics.train_seconds(),
        outcome.metrics.device,
        a.out.display()
    );
    Ok(())
}
