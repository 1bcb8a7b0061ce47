//! `joulebench bench`: the flags of each benchmark study, turned into the study's plain
//! configuration; the studies themselves live in the `joulebench-bench` crate.

use std::path::PathBuf;

use clap::{Args, Subcommand};
#[cfg(feature = "training")]
use joulebench_bench::training;
use joulebench_bench::{backends, fixed_point, harness, macs, spike_rate, table};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Event-driven vs dense time per inference across input spike rates 0–100 %.
    SpikeRate(SpikeRateArgs),
    /// Accuracy, argmax agreement and spike counts of the event engine's int8 fixed-point mode
    /// against f32 on the same test inputs.
    FixedPoint(FixedPointArgs),
    /// Event-driven vs native dense vs tract vs ort on ann / snn-1step / snn-temporal, batch 1 and 64.
    Backends(BackendsArgs),
    /// Latency against MAC count across the mlp-sweep widths × depths, per engine (+ log-log plot).
    Macs(MacsArgs),
    /// Merge DIR/backends.json and the peers' DIR/peers.json into one table with ratios.
    Table(TableArgs),
    /// One MNIST training epoch of ours vs PyTorch eager and snnTorch (mlp-sweep, snn-temporal),
    /// same recipe and threads, with the targets (`training` feature).
    #[cfg(feature = "training")]
    Training(TrainingArgs),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::SpikeRate(a) => spike_rate::run(a.into()),
        BenchWhat::FixedPoint(a) => fixed_point::run(a.into()),
        BenchWhat::Backends(a) => backends::run(a.into()),
        BenchWhat::Macs(a) => macs::run(a.into()),
        BenchWhat::Table(a) => table::run(a.into()),
        #[cfg(feature = "training")]
        BenchWhat::Training(a) => training::run(a.into()),
    }
}

#[derive(Args)]
pub struct SpikeRateArgs {
    /// Time steps T per inference (default: a --run folder's own T, else 100).
    #[arg(long)]
    steps: Option<usize>,
    /// Samples per call.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Worker threads of every engine.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Input spike rates in percent (probability that an input neuron spikes at a step).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,1,2,5,10,20,30,50,75,100"
    )]
    rates: Vec<f64>,
    /// Timed repeats per point (the median and spread are reported).
    #[arg(long, default_value_t = 15)]
    repeats: usize,
    /// Untimed warm-up calls per point.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Seed of the random weights and of the spike trains.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A trained run folder of an MNIST spiking model (spec.json + weights.safetensors);
    /// default: snn-temporal 784-256-128-10 with seeded PyTorch-style random weights.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Folder with mnist/t10k-images-idx3-ubyte[.gz] for the headline case (default:
    /// $JOULEBENCH_DATA); synthetic digit-like images when absent.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Different input batches cycled through at every point (the headline's MNIST images are
    /// test images 0 … batch × variants − 1); the mean over the timed calls is the average cost
    /// over them.
    #[arg(long, default_value_t = 4)]
    variants: usize,
    /// Run the event engine without its temporal blocking of the input layer (for comparison).
    #[arg(long)]
    no_temporal_block: bool,
    /// Run the event engine without the baseline of frequent inputs (every spike's weight row
    /// added at every step; for comparison).
    #[arg(long)]
    no_baseline: bool,
    /// The event engine's SIMD kernels: avx512, avx2 or scalar (default: the widest this CPU
    /// runs; the dense engines keep theirs). Shows what a CPU without AVX-512 gets.
    #[arg(long)]
    isa: Option<String>,
    /// Write spike_rate.json and spike_rate.csv here (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl From<SpikeRateArgs> for spike_rate::SpikeRateConfig {
    fn from(a: SpikeRateArgs) -> Self {
        spike_rate::SpikeRateConfig {
            steps: a.steps,
            batch: a.batch,
            threads: a.threads,
            rates: a.rates,
            repeats: a.repeats,
            warmup: a.warmup,
            seed: a.seed,
            run: a.run,
            data: a.data,
            variants: a.variants,
            no_temporal_block: a.no_temporal_block,
            no_baseline: a.no_baseline,
            isa: a.isa,
            out: a.out,
        }
    }
}

#[derive(Args)]
pub struct BackendsArgs {
    /// Model presets (MNIST-shaped; temporal spiking presets get one case per --steps value).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ann,snn-1step,snn-temporal"
    )]
    pub models: Vec<String>,
    /// Time steps T for temporal spiking presets.
    #[arg(long, value_delimiter = ',', default_value = "25,100")]
    pub steps: Vec<usize>,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub batches: Vec<usize>,
    /// Engines to time: event (spiking models only), native (dense), tract, ort.
    #[arg(long, value_delimiter = ',', default_value = "event,native,tract,ort")]
    pub backends: Vec<String>,
    /// Worker threads of every engine (ONNX Runtime intra-op threads; tract always runs one).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// A folder of trained run folders named by preset (e.g. out/run/runs): DIR/PRESET/spec.json
    /// and weights.safetensors are used when present; otherwise seeded random weights.
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// Folder with DATASET/t10k-images-idx3-ubyte[.gz] (default: $JOULEBENCH_DATA); synthetic
    /// digit-like images when absent (the output says which).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Whose test images to time on: mnist or fashion-mnist (e.g. for runs trained on it).
    #[arg(long, default_value = "mnist")]
    pub dataset: joulebench_data::DatasetKind,
    /// Seed of the random weights, the synthetic images and the rate coder.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Different input batches cycled through while timing (also saved for the peers).
    #[arg(long, default_value_t = 2)]
    pub variants: usize,
    #[command(flatten)]
    pub latency: LatencyArgs,
    /// Output folder: backends.json/csv/md, models/, inputs/.
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
}

impl From<BackendsArgs> for backends::BackendsConfig {
    fn from(a: BackendsArgs) -> Self {
        backends::BackendsConfig {
            models: a.models,
            steps: a.steps,
            batches: a.batches,
            backends: a.backends,
            threads: a.threads,
            runs: a.runs,
            data: a.data,
            dataset: a.dataset,
            seed: a.seed,
            variants: a.variants,
            latency: a.latency.into(),
            out: a.out,
        }
    }
}

#[derive(Args)]
pub struct MacsArgs {
    /// Hidden widths of mlp-sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,256,1024,2048")]
    pub widths: Vec<usize>,
    /// Numbers of hidden layers of mlp-sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    pub depths: Vec<usize>,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub batches: Vec<usize>,
    /// Engines: native (dense), tract, ort.
    #[arg(long, value_delimiter = ',', default_value = "native,tract,ort")]
    pub backends: Vec<String>,
    /// Worker threads of every engine (tract always runs one).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Folder with mnist/t10k-images-idx3-ubyte[.gz] (default: $JOULEBENCH_DATA); synthetic
    /// digit-like images when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seed of the random weights and synthetic images.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub latency: LatencyArgs,
    /// Output folder (macs.json/csv/md, plots/, macs-models/).
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
}

impl From<MacsArgs> for macs::MacsConfig {
    fn from(a: MacsArgs) -> Self {
        macs::MacsConfig {
            widths: a.widths,
            depths: a.depths,
            batches: a.batches,
            backends: a.backends,
            threads: a.threads,
            data: a.data,
            seed: a.seed,
            latency: a.latency.into(),
            out: a.out,
        }
    }
}

#[derive(Args)]
pub struct FixedPointArgs {
    /// A trained run folder of a fully connected spiking model (spec.json +
    /// weights.safetensors); default: snn-temporal 784-256-128-10 with seeded random weights
    /// (accuracy is then chance level, agreement still meaningful).
    #[arg(long)]
    run: Option<PathBuf>,
    /// Dataset of the test samples (mnist, fashion-mnist, mnist1d); default: mnist1d for
    /// models of 40-point inputs, else mnist.
    #[arg(long)]
    dataset: Option<String>,
    /// Dataset folder (default: $JOULEBENCH_DATA/DATASET, as `joulebench eval`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Test samples to evaluate (the first N of the test split).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Samples per engine call.
    #[arg(long, default_value_t = 100)]
    chunk: usize,
    /// Worker threads of both engines.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Time steps for the default model (a run folder uses its own).
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Seed of the spike encoding (and of the default model's weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write fixed_point.json here (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl From<FixedPointArgs> for fixed_point::FixedPointConfig {
    fn from(a: FixedPointArgs) -> Self {
        fixed_point::FixedPointConfig {
            run: a.run,
            dataset: a.dataset,
            data: a.data,
            count: a.count,
            chunk: a.chunk,
            threads: a.threads,
            steps: a.steps,
            seed: a.seed,
            out: a.out,
        }
    }
}

#[derive(Args)]
pub struct TableArgs {
    /// Folder written by `bench backends` (backends.json) and `scripts/peers` (peers.json).
    #[arg(default_value = "out/bench")]
    pub dir: PathBuf,
    /// The peers' results (default: DIR/peers.json; the table has no peer columns without it).
    #[arg(long)]
    pub peers: Option<PathBuf>,
    /// Also write the whole benchmark page (Markdown) here, e.g. docs/benchmarks.md.
    #[arg(long)]
    pub doc: Option<PathBuf>,
}

impl From<TableArgs> for table::TableConfig {
    fn from(a: TableArgs) -> Self {
        table::TableConfig {
            dir: a.dir,
            peers: a.peers,
            doc: a.doc,
        }
    }
}

#[cfg(feature = "training")]
#[derive(Args, Debug)]
pub struct TrainingArgs {
    /// Cases to measure: mlp-sweep (784-1024-1024-10, batch 64, Adam 1e-3) and/or snn-temporal
    /// (784-256-128-10 LIF, rate-coded T = 100, batch 128, Adam 1e-4).
    #[arg(long, value_delimiter = ',', default_value = "mlp-sweep,snn-temporal")]
    pub cases: Vec<String>,
    /// Threads on both sides: libtorch intra-op threads (ours and the peers'
    /// torch.set_num_threads) and our spike encoder's rayon threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder holding mnist/ with the IDX files (or the IDX files themselves); default:
    /// $JOULEBENCH_DATA, else the `joulebench data fetch mnist` folder.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Train on the first N training samples only (a quick, partial epoch; the table says so).
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Seed of both sides (weights, shuffle, spike encoding).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only our trainer; no Python peers (no ratios, targets shown as not measured).
    #[arg(long)]
    pub no_peers: bool,
    /// Peers to run: pytorch-eager and/or snntorch (snntorch applies to snn-temporal only).
    #[arg(long, value_delimiter = ',', default_value = "pytorch-eager,snntorch")]
    pub peers: Vec<String>,
    /// Python with torch and snnTorch (default: $JOULEBENCH_PYTHON, set by scripts/jb-env,
    /// else the project's .jb/venv/bin/python).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The peers' script (default: scripts/peers_train.py of this source tree).
    #[arg(long)]
    pub peer_script: Option<PathBuf>,
    /// Output folder: training.json, training.md, runs/CASE/ (our run folders) and
    /// training-peers-CASE.json (the peers' raw output).
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
}

#[cfg(feature = "training")]
impl From<TrainingArgs> for training::TrainingConfig {
    fn from(a: TrainingArgs) -> Self {
        training::TrainingConfig {
            cases: a.cases,
            threads: a.threads,
            data: a.data,
            limit_train: a.limit_train,
            seed: a.seed,
            no_peers: a.no_peers,
            peers: a.peers,
            python: a.python,
            peer_script: a.peer_script,
            out: a.out,
        }
    }
}

/// Latency settings of the profiler's harness (warm-up, then timed queries until a count and a
/// duration are both reached, or a time cap). `None` keeps the command's default.
#[derive(Args, Debug, Clone, Default)]
pub struct LatencyArgs {
    /// Untimed warm-up calls per measurement (at least this many, and at least --warmup-seconds).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Minimum warm-up duration per measurement, seconds.
    #[arg(long)]
    pub warmup_seconds: Option<f64>,
    /// Minimum number of timed calls per measurement (the repeats behind median and spread).
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Minimum duration of the timed phase per measurement, seconds.
    #[arg(long)]
    pub min_seconds: Option<f64>,
    /// Stop a measurement's timed phase after this many seconds even if --repeats is not reached.
    #[arg(long)]
    pub max_seconds: Option<f64>,
}

impl From<LatencyArgs> for harness::LatencyOverrides {
    fn from(a: LatencyArgs) -> Self {
        harness::LatencyOverrides {
            warmup: a.warmup,
            warmup_seconds: a.warmup_seconds,
            repeats: a.repeats,
            min_seconds: a.min_seconds,
            max_seconds: a.max_seconds,
        }
    }
}
