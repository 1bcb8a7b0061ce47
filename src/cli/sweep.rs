//! `joulebench sweep`: a grid of training runs from a TOML file (needs the `training` feature);
//! `--shard I/N` runs a share of it, `--slurm` writes (and `--submit` submits) a Slurm job array
//! of the shards plus a merge job, `joulebench sweep merge` combines shard folders.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use joulebench_models::{merge_dirs, Shard};
use joulebench_training::sweep_slurm::{submit, write_slurm_scripts, SlurmOptions};
use joulebench_training::{run_sweep, SweepOptions};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub cmd: Option<SweepCmd>,
    /// Sweep file (TOML; see experiments/*.toml): dataset, model and optional lists of
    /// optimizer, lr, batch, epochs, depth, width, input, steps, seed.
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    /// Output folder: one run folder per combination, plus summary.csv and summary.json
    /// (a shard writes summary.shard-I-of-N.csv|json; shards may share one folder).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Run only shard I of N (0-based, e.g. 0/4): a fixed share of the grid by run key.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, conflicts_with = "slurm")]
    pub shard: Option<Shard>,
    /// Write a Slurm job array (one shard per task) and a dependent merge job into
    /// OUT/slurm/ instead of training here.
    #[arg(long)]
    pub slurm: bool,
    /// With --slurm: number of array tasks (default: one per run of the grid).
    #[arg(long, requires = "slurm")]
    pub shards: Option<usize>,
    /// With --slurm: partition (`#SBATCH --partition`).
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// With --slurm: wall-time limit per task (`#SBATCH --time`, e.g. 2:00:00).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// With --slurm: CPUs per task (`#SBATCH --cpus-per-task`).
    #[arg(long, requires = "slurm")]
    pub cpus_per_task: Option<usize>,
    /// With --slurm: GPUs per task (`#SBATCH --gpus-per-task`).
    #[arg(long, requires = "slurm")]
    pub gpus_per_task: Option<usize>,
    /// With --slurm: submit both jobs with sbatch and print their ids.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// No progress bars or per-epoch lines (one line per run remains).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum SweepCmd {
    /// Combine shard folders (or one folder several shards shared) into one summary.csv,
    /// summary.json and report.html; refuses different grids and conflicting duplicates.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Sweep folders holding summary.json or summary.shard-I-of-N.json.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged summary and report (may be one of the inputs).
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_shard(s: &str) -> std::result::Result<Shard, String> {
    s.parse()
}

pub fn run(a: SweepArgs) -> Result<()> {
    if let Some(SweepCmd::Merge(m)) = a.cmd {
        return merge(m);
    }
    let (Some(file), Some(out)) = (a.file, a.out) else {
        bail!("usage: joulebench sweep FILE --out DIR");
    };
    if a.slurm {
        let exe = std::env::current_exe().context("cannot find the joulebench binary")?;
        let o = SlurmOptions {
            shards: a.shards,
            partition: a.partition,
            time: a.time,
            cpus_per_task: a.cpus_per_task,
            gpus_per_task: a.gpus_per_task,
        };
        let s = write_slurm_scripts(&exe, &file, &out, &o)?;
        println!(
            "slurm: {} runs in {} array tasks: {} and {}",
            s.runs,
            s.shards,
            s.array.display(),
            s.merge.display()
        );
        if a.submit {
            let (array, merge) = submit(&s)?;
            println!("submitted array job {array} and merge job {merge} (afterany:{array})");
        } else {
            println!(
                "submit with: ID=$(sbatch --parsable {}) && sbatch --dependency=afterany:$ID {}",
                s.array.display(),
                s.merge.display()
            );
        }
        return Ok(());
    }
    let report = run_sweep(
        &file,
        &out,
        &SweepOptions {
            quiet: a.quiet,
            silent: false,
            shard: a.shard,
        },
    )?;
    let summary = match a.shard {
        Some(s) if s.count > 1 => format!("summary.{}.csv", s.tag()),
        _ => "summary.csv".into(),
    };
    println!(
        "sweep: {} trained, {} skipped (finished before), {} failed; summary in {}",
        report.trained,
        report.skipped,
        report.failed,
        out.join(summary).display()
    );
    if report.failed > 0 {
        bail!("{} run(s) failed (see summary.csv)", report.failed);
    }
    Ok(())
}

fn merge(m: MergeArgs) -> Result<()> {
    let merged = merge_dirs(&m.dirs)?;
    merged.summary.write(&m.out, "summary")?;
    let (_, files) = joulebench_report::rebuild_report(&m.out)
        .with_context(|| format!("cannot build the report in {}", m.out.display()))?;
    let runs = merged.summary.rows.len();
    println!(
        "merged {} summaries: {} of {runs} runs done, {} failed; {} and {}",
        merged.summary.merged_from.len(),
        merged.summary.trained,
        merged.summary.failed,
        m.out.join("summary.csv").display(),
        files.html.display()
    );
    if !merged.unfinished.is_empty() {
        let shown: Vec<&str> = merged
            .unfinished
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        eprintln!(
            "warning: {} run(s) not finished: {}{}",
            merged.unfinished.len(),
            shown.join(", "),
            if merged.unfinished.len() > 5 {
                ", …"
            } else {
                ""
            }
        );
    }
    Ok(())
}
