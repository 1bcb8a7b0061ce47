//! `joulebench run`: the main job's flags, turned into its configuration; the job itself is
//! `joulebench_bench::main_job`.

use std::path::PathBuf;

use clap::Args;
use joulebench_bench::main_job;

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    main_job::run(args.into())
}

#[derive(Args)]
pub struct RunArgs {
    /// Dataset: mnist1d (generated, no download), mnist or fashion-mnist.
    #[arg(long, default_value = "mnist1d")]
    dataset: String,
    /// Folder of the dataset files (default: $JOULEBENCH_DATA/NAME, or generated for mnist1d).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Presets to run, comma-separated, or `all` (every preset that fits the dataset).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    models: Vec<String>,
    /// Quick run: short profiling windows, batch sizes 1 and 16; on MNIST-1D (small) the
    /// same training as a full run (each preset's MNIST-1D recipe, temporal SNNs at T = 10) and
    /// the whole test split, on MNIST/Fashion-MNIST 2 epochs, T ≤ 10 and a 500-sample test
    /// slice. Minutes instead of hours; latencies are indicative.
    #[arg(long)]
    quick: bool,
    /// No progress display; only errors (for scripts).
    #[arg(long)]
    quiet: bool,
    /// Backends to evaluate and profile, comma-separated (event runs on spiking models only).
    #[arg(long, value_delimiter = ',', default_value = "tract,ort,native,event")]
    backends: Vec<String>,
    /// Worker threads of every backend (like for like; 1 for latency work).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Energy meter: auto (RAPL/NVML when readable, else the estimate), rapl, nvml, estimate.
    /// Training epochs use the same meter (NVML when training on a GPU, RAPL on the CPU) and are
    /// never estimated: with `estimate` or no readable counter their energy stays empty.
    #[arg(long, default_value = "auto")]
    meter: String,
    /// Seed of training, spike encoding and profiling inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (created; an existing one is continued).
    #[arg(long)]
    out: PathBuf,
    /// A run folder to include as it is (repeatable or comma-separated), e.g. a NIR network from
    /// `joulebench import`: not trained; exported, profiled on every backend and in the report,
    /// with accuracy when its input is the dataset's sample shape.
    #[arg(long, value_name = "RUN", value_delimiter = ',')]
    add_run: Vec<PathBuf>,
    #[command(flatten)]
    power: crate::cli::power::PowerArgs,
}

impl From<RunArgs> for main_job::RunConfig {
    fn from(a: RunArgs) -> Self {
        main_job::RunConfig {
            dataset: a.dataset,
            data_dir: a.data_dir,
            models: a.models,
            quick: a.quick,
            quiet: a.quiet,
            backends: a.backends,
            threads: a.threads,
            meter: a.meter,
            seed: a.seed,
            out: a.out,
            add_runs: a.add_run,
            power: a.power.into(),
        }
    }
}
