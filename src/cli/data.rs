//! `joulebench data`: dataset inspection (`info`) and download/verification (`fetch`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use joulebench_data::fetch::{FetchEvent, FetchOutcome};
use joulebench_data::{default_fetch_dir, fetch, Dataset, DatasetKind, FetchSource};

#[derive(Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Counts, sample shape, class balance and value mean/std of a dataset's splits.
    Info(InfoArgs),
    /// Put the original MNIST / Fashion-MNIST .gz files in a folder, verified by SHA-256.
    Fetch(FetchArgs),
}

fn parse_kind(s: &str) -> Result<DatasetKind, String> {
    s.parse::<DatasetKind>().map_err(|e| e.to_string())
}

#[derive(Args)]
struct InfoArgs {
    /// Dataset: mnist, fashion-mnist or mnist1d (mnist1d is generated unless --data-dir is given).
    #[arg(long, default_value = "mnist1d", value_parser = parse_kind)]
    dataset: DatasetKind,
    /// Folder holding the dataset's files (IDX .gz files, CSV files, or MNIST-1D raw arrays).
    /// Default: $JOULEBENCH_DATA/NAME, else the `data fetch` folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct FetchArgs {
    /// Dataset to fetch: mnist or fashion-mnist.
    #[arg(value_parser = parse_kind)]
    dataset: DatasetKind,
    /// Destination folder. Default: $XDG_CACHE_HOME (or ~/.cache) /joulebench/NAME, where
    /// the other commands look when no --data-dir is given.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Copy the files from this local folder instead of downloading them (same file names);
    /// they are verified the same way.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Info(a) => info(a),
        DataCommand::Fetch(a) => fetch_cmd(a),
    }
}

fn info(a: InfoArgs) -> anyhow::Result<()> {
    let ds = Dataset::load(a.dataset, a.data_dir.as_deref())?;
    let info = ds.info();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    println!("dataset       {} ({})", info.dataset, info.source);
    let scale = if info.storage == "u8" {
        "u8, read as value/255"
    } else {
        "f32"
    };
    println!("sample shape  {:?} ({scale})", info.sample_shape);
    println!("classes       {}", info.num_classes);
    println!();
    println!(
        "{:<6} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "split", "count", "mean", "std", "min", "max"
    );
    for s in [&info.train, &info.test] {
        println!(
            "{:<6} {:>7} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
            s.name, s.count, s.value_mean, s.value_std, s.value_min, s.value_max
        );
    }
    println!();
    println!(
        "{:<5} {:<12} {:>7} {:>7}",
        "label", "class", "train", "test"
    );
    for (i, name) in info.class_names.iter().enumerate() {
        println!(
            "{:<5} {:<12} {:>7} {:>7}",
            i, name, info.train.class_counts[i], info.test.class_counts[i]
        );
    }
    Ok(())
}

fn fetch_cmd(a: FetchArgs) -> anyhow::Result<()> {
    let dest = match a.dir {
        Some(d) => d,
        None => default_fetch_dir(a.dataset)
            .context("no destination: pass --dir (neither XDG_CACHE_HOME nor HOME is set)")?,
    };
    let source = match &a.from {
        Some(dir) => FetchSource::Local(dir),
        None => FetchSource::Mirrors,
    };
    let style = ProgressStyle::with_template("{msg:32} {bar:30} {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut bar: Option<ProgressBar> = None;
    let quiet = a.json;
    let mut on_event = |e: &FetchEvent| match e {
        FetchEvent::Start {
            file,
            source,
            total,
        } => {
            tracing::info!("{file}: from {source}");
            let b = ProgressBar::new(*total)
                .with_style(style.clone())
                .with_message(file.to_string());
            bar = Some(b);
        }
        FetchEvent::Progress { done, .. } => {
            if let Some(b) = &bar {
                b.set_position(*done);
            }
        }
        FetchEvent::MirrorFailed { file, url, error } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("{file}: {url} failed ({error})");
        }
        FetchEvent::Done { file } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            if !quiet {
                let what = match &file.outcome {
                    FetchOutcome::AlreadyPresent => "already present, checksum ok".to_string(),
                    FetchOutcome::Copied { from } => {
                        format!("copied from {}, checksum ok", from.display())
                    }
                    FetchOutcome::Downloaded { url } => {
                        format!("downloaded from {url}, checksum ok")
                    }
                };
                println!("{}  {what}", file.path.display());
            }
        }
    };
    let files = fetch(a.dataset, &dest, source, &mut on_event)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dataset": a.dataset.name(), "dir": dest, "files": files,
            }))?
        );
    } else {
        println!("{} is in {} (sha256 verified)", a.dataset, dest.display());
    }
    Ok(())
}
