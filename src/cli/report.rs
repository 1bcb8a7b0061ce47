//! `joulebench report DIR`: rebuilds `DIR/report.html` and `DIR/plots/` from `DIR/results.json`
//! and every sweep folder found in `DIR` or `DIR/sweeps/` (a folder holding `summary.json`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct ReportArgs {
    /// Results folder: holds results.json (from `joulebench run`) and/or sweep folders
    /// (from `joulebench sweep`, each with summary.json), directly or under DIR/sweeps/.
    pub dir: PathBuf,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let (data, files) = joulebench_report::rebuild_report(&args.dir)
        .with_context(|| format!("cannot build the report in {}", args.dir.display()))?;
    println!(
        "{}: {} models, {} results, {} sweeps, {} plot files (SVG + PNG) in {}",
        files.html.display(),
        data.models.len(),
        data.inference.len(),
        data.sweeps.len(),
        files.plots.len(),
        args.dir.join("plots").display()
    );
    Ok(())
}
