//! `joulebench report DIR`: rebuilds `DIR/report.html` and `DIR/plots/` from `DIR/results.json`
//! and every sweep folder found in `DIR` or `DIR/sweeps/` (a folder holding `summary.json`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct ReportArgs {
    /// Results folder: holds results.json (from `joulebench run`) and/or sweep folders
    /// (from `joulebench sweep`, each with summary.json), directly or under DIR/sweeps/.
    /// Several folders (one per machine, each with results.json) make one page with the
    /// machines side by side; they need --out.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged report of several folders goes (results.json, plots/, report.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    if args.dirs.len() > 1 || args.out.is_some() {
        let Some(out) = args.out else {
            anyhow::bail!(
                "{} results folders given: say where their merged report goes with --out DIR",
                args.dirs.len()
            );
        };
        let (data, files) = joulebench_report::report_machines(&args.dirs, &out)
            .with_context(|| format!("cannot build the merged report in {}", out.display()))?;
        println!(
            "{}: {} machines ({}), {} models, {} results, {} plot files (SVG + PNG) in {}",
            files.html.display(),
            data.machines.len(),
            data.machines
                .iter()
                .map(|m| m.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            data.models.len(),
            data.inference.len(),
            files.plots.len(),
            out.join("plots").display()
        );
        return Ok(());
    }
    let dir = &args.dirs[0];
    let (data, files) = joulebench_report::rebuild_report(dir)
        .with_context(|| format!("cannot build the report in {}", dir.display()))?;
    println!(
        "{}: {} models, {} results, {} sweeps, {} plot files (SVG + PNG) in {}",
        files.html.display(),
        data.models.len(),
        data.inference.len(),
        data.sweeps.len(),
        files.plots.len(),
        dir.join("plots").display()
    );
    Ok(())
}
