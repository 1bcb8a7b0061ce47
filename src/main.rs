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
    /// Datasets: inspect (`info`) and download/verify (`fetch`).
    Data(cli::data::DataArgs),
    /// List the model presets.
    Models(cli::models::ModelsArgs),
}

fn main() {
    let cli = Cli::parse();
    cli::init_logging(cli.verbose);
    let result = match cli.command {
        Command::Data(a) => cli::data::run(a),
        Command::Models(a) => cli::models::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
