//! `joulebench sweep`: a grid of training runs from a TOML file (needs the `training` feature).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use joulebench_training::{run_sweep, SweepOptions};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Sweep file (TOML; see experiments/*.toml): dataset, model and optional lists of
    /// optimizer, lr, batch, epochs, depth, width, input, steps, seed.
    pub file: PathBuf,
    /// Output folder: one run folder per combination, plus summary.csv and summary.json.
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bars or per-epoch lines (one line per run remains).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: SweepArgs) -> Result<()> {
    let report = run_sweep(
        &a.file,
        &a.out,
        &SweepOptions {
            quiet: a.quiet,
            silent: false,
        },
    )?;
    println!(
        "sweep: {} trained, {} skipped (finished before), {} failed; summary in {}",
        report.trained,
        report.skipped,
        report.failed,
        a.out.join("summary.csv").display()
    );
    if report.failed > 0 {
        bail!("{} run(s) failed (see summary.csv)", report.failed);
    }
    Ok(())
}
