//! `joulebench`: what does one prediction cost — in time, operations and joules?
//! A thin CLI over the workspace's library crates; each command lives in `src/cli/<command>.rs`.

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(name = "joulebench", version, about = "Measure what one prediction costs: time, operations, joules", long_about = None)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Engine micro-benchmarks (wall clock on this machine): `spike-rate` sweeps input spike rates.
    Bench(cli::bench::BenchArgs),
    /// Datasets: inspect (`info`) and download/verify (`fetch`).
    Data(cli::data::DataArgs),
    /// List the model presets.
    Models(cli::models::ModelsArgs),
    /// Write a run's model as ONNX (RUN_DIR/model.onnx: opset 17, dynamic batch, spec in metadata)
    /// or, with --format nir, as a NIR graph (RUN_DIR/model.nir).
    Export(cli::export::ExportArgs),
    /// A NIR spiking network (.nir) as a run folder every command accepts (--dt, --steps).
    Import(cli::import::ImportArgs),
    /// Test-set accuracy of a run folder or ONNX file on one backend (+ agreement with tch).
    Eval(cli::eval::EvalArgs),
    /// Latency, operation counts and energy of one model on one backend.
    Profile(cli::profile::ProfileArgs),
    /// Run one engine on a NumPy array (--input X.npy) and write its output (--output Y.npy).
    Infer(cli::infer::InferArgs),
    /// Time, CPU time and energy of any command (`measure [--count N] -- CMD ARGS…`): measured
    /// with RAPL/NVML where readable (idle subtracted), and modelled from its CPU time.
    Measure(cli::measure::MeasureArgs),
    /// The main job: train every preset that fits the dataset, export, evaluate and profile every
    /// backend, write results.json/csv, plots and report.html into --out (`training` feature).
    #[cfg(feature = "training")]
    Run(cli::run::RunArgs),
    /// Rebuild DIR/report.html and DIR/plots/ from DIR/results.json and sweep folders in DIR.
    Report(cli::report::ReportArgs),
    /// Energy meters on this machine (RAPL, NVML): domains, resolution, or why unavailable.
    Meters(cli::meters::MetersArgs),
    /// Train one model preset into a run folder (libtorch; `training` feature).
    #[cfg(feature = "training")]
    Train(Box<cli::train::TrainArgs>),
    /// Run a grid of trainings from a TOML file; resumes after a kill (`training` feature).
    #[cfg(feature = "training")]
    Sweep(cli::sweep::SweepArgs),
}

fn main() {
    // `joulebench models | head`: a closed stdout ends the process quietly, as for other Unix
    // tools, instead of a "failed printing to stdout" panic (Rust ignores SIGPIPE by default).
    // Results files are written to temporary names and renamed, so nothing is left half-written.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    #[cfg(feature = "training")]
    joulebench_training::register_engines();
    cli::init_logging(cli.verbose);
    let result = match cli.command {
        Command::Bench(a) => cli::bench::run(a),
        Command::Data(a) => cli::data::run(a),
        Command::Models(a) => cli::models::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Import(a) => cli::import::run(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Profile(a) => cli::profile::run(a),
        Command::Infer(a) => cli::infer::run(a),
        Command::Measure(a) => cli::measure::run(a),
        Command::Meters(a) => cli::meters::run(a),
        Command::Report(a) => cli::report::run(a),
        #[cfg(feature = "training")]
        Command::Run(a) => cli::run::run(a),
        #[cfg(feature = "training")]
        Command::Train(a) => cli::train::run(*a),
        #[cfg(feature = "training")]
        Command::Sweep(a) => cli::sweep::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
