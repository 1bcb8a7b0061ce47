//! `joulebench bench macs`: latency against MAC count across the FLOPs notebook's mlp-sweep
//! grid (widths 1/8/64/256/1024/2048 × depths 1–4 on 28×28 inputs) at batch 1 and 64, per
//! engine. Writes `DIR/macs.json`, `macs.csv`, `macs.md` and the log-log plot
//! `DIR/plots/latency-vs-macs.svg|png` (atomically).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use joulebench_data::DatasetKind;
use joulebench_models::{build_preset, write_atomic, write_onnx, PresetOptions, RunDir, Weights};
use joulebench_profiler::LatencyConfig;
use joulebench_report::latency_macs::{latency_vs_macs, MacsPoint, MacsSeries};
use serde::{Deserialize, Serialize};

use joulebench_inference::{open_backend, BackendKind, BackendOptions, ModelSource};

use crate::backends::{command_line, parse_engines};
use crate::harness::{check_and_time, harness_how, LatencyOverrides, Timing};
use crate::inputs::{images_for_batches, model_inputs};
use crate::record::{csv_field, measure_row, write_report_files, ReportHeader, RowStamp};

#[derive(Debug, Clone)]
pub struct MacsConfig {
    /// Hidden widths of mlp-sweep.
    pub widths: Vec<usize>,
    /// Numbers of hidden layers of mlp-sweep.
    pub depths: Vec<usize>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Engines: native (dense), tract, ort.
    pub backends: Vec<String>,
    /// Worker threads of every engine (tract always runs one).
    pub threads: usize,
    /// Folder with mnist/t10k-images-idx3-ubyte[.gz] (default: $JOULEBENCH_DATA); synthetic
    /// digit-like images when absent.
    pub data: Option<PathBuf>,
    /// Seed of the random weights and synthetic images.
    pub seed: u64,
    pub latency: LatencyOverrides,
    /// Output folder (macs.json/csv/md, plots/, macs-models/).
    pub out: PathBuf,
}

/// One engine on one mlp-sweep configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MacsRow {
    pub width: usize,
    pub depth: usize,
    pub batch: usize,
    pub backend: String,
    pub threads: usize,
    /// Dense MACs per sample (`ModelSpec` count) and parameters.
    pub macs_per_sample: u64,
    pub params: u64,
    pub status: String,
    pub timing: Option<Timing>,
    /// Largest |logit − native logit| on the timed inputs.
    pub max_abs_diff_vs_native: Option<f32>,
    /// `date`, `load_start`, `load_end`, `machine`.
    #[serde(flatten)]
    pub stamp: RowStamp,
}

/// `macs.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MacsReport {
    /// `what`, `date_start`, `date_end`, `machine`, `load_start`, `load_end`, `how`, `latency`.
    #[serde(flatten)]
    pub header: ReportHeader,
    pub inputs: String,
    pub weights: String,
    pub command: String,
    pub rows: Vec<MacsRow>,
}

/// The default harness settings of `bench macs` (shorter than `bench backends`: 48 models).
pub fn default_latency() -> LatencyConfig {
    LatencyConfig {
        warmup_queries: 5,
        warmup_seconds: 0.1,
        min_queries: 50,
        min_seconds: 0.3,
        max_seconds: Some(5.0),
    }
}

pub fn run(args: MacsConfig) -> anyhow::Result<()> {
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if args.widths.is_empty() || args.widths.contains(&0) {
        bail!("--widths: every width must be at least 1");
    }
    if args.depths.is_empty() || args.depths.contains(&0) {
        bail!("--depths: every depth must be at least 1");
    }
    if args.batches.is_empty() || args.batches.contains(&0) {
        bail!("--batches: every batch size must be at least 1");
    }
    let kinds = parse_engines(
        &args.backends,
        &[BackendKind::Native, BackendKind::Tract, BackendKind::Ort],
        "--backends (mlp-sweep is not spiking)",
    )?;
    let cfg = args.latency.config(default_latency())?;
    let out = &args.out;
    let mdir = out.join("macs-models");
    std::fs::create_dir_all(&mdir).with_context(|| format!("creating {}", mdir.display()))?;
    let variants = 2;
    let header = ReportHeader::begin(
        "macs",
        format!(
            "{}; MACs counted from the ModelSpec",
            harness_how(&cfg, variants)
        ),
        cfg.clone(),
    );
    let images = images_for_batches(
        args.data.as_deref(),
        DatasetKind::Mnist,
        &args.batches,
        variants,
        args.seed,
    )?;
    let shape = DatasetKind::Mnist.data_shape();

    let mut rows = Vec::new();
    for &depth in &args.depths {
        for &width in &args.widths {
            let spec = build_preset(
                "mlp-sweep",
                &shape,
                &PresetOptions {
                    width: Some(width),
                    depth: Some(depth),
                    ..Default::default()
                },
            )?;
            let weights = Weights::random(&spec, args.seed);
            // a run folder per configuration (spec, weights, ONNX export) for every engine
            let run = RunDir::new(mdir.join(format!("w{width}-d{depth}")));
            std::fs::create_dir_all(&run.path)
                .with_context(|| format!("creating {}", run.path.display()))?;
            run.write_spec(&spec)?;
            weights.save(&run.weights_path())?;
            write_onnx(&run.onnx_path(), &spec, &weights, &[])?;
            let counts = spec.op_counts()?;
            let source = ModelSource::Run(run);
            let opts = BackendOptions::with_threads(args.threads);
            let mut native = open_backend(BackendKind::Native, &source, &opts)?;
            for &batch in &args.batches {
                joulebench_models::memory::refuse_if_too_big(Some(&spec), None, &[], batch)?;
                let inputs = model_inputs(&spec, &images.tensor, batch, variants, args.seed)?;
                let reference = inputs
                    .iter()
                    .map(|x| native.run(x))
                    .collect::<Result<Vec<_>, _>>()?;
                for &name in &kinds {
                    let m = measure_row(&header.machine, || {
                        eprintln!("timing mlp-sweep {width}×{depth} batch {batch} on {name} ...");
                        let mut e = if name == BackendKind::Native {
                            None
                        } else {
                            Some(open_backend(name, &source, &opts))
                                .transpose()
                                .map_err(|e| format!("unavailable: {e:#}"))?
                        };
                        let engine = match e.as_mut() {
                            Some(b) => b.as_mut(),
                            None => native.as_mut(),
                        };
                        check_and_time(engine, &inputs, &reference, batch, &cfg)
                            .map_err(|e| format!("unavailable: {e:#}"))
                    });
                    rows.push(MacsRow {
                        width,
                        depth,
                        batch,
                        backend: name.to_string(),
                        threads: name.threads_used(args.threads),
                        macs_per_sample: counts.total_macs,
                        params: counts.total_params,
                        status: m.status,
                        max_abs_diff_vs_native: m.value.as_ref().map(|c| c.max_abs_diff),
                        timing: m.value.map(|c| c.timing),
                        stamp: m.stamp,
                    });
                }
            }
        }
    }
    let report = MacsReport {
        header: header.finish(),
        inputs: images.description,
        weights: format!(
            "untrained: PyTorch-style uniform ±1/√fan_in init, seed {}",
            args.seed
        ),
        command: command_line(),
        rows,
    };
    let md = markdown(&report);
    print!("{md}");
    write_outputs(out, &report, &md)?;
    println!(
        "wrote {}, macs.csv, macs.md, plots/latency-vs-macs.svg|png",
        out.join("macs.json").display()
    );
    Ok(())
}

/// The Markdown table: one row per (depth, width, batch), one column per engine.
pub fn markdown(r: &MacsReport) -> String {
    let mut engines: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !engines.contains(&row.backend.as_str()) {
            engines.push(&row.backend);
        }
    }
    let mut s = r.header.markdown_intro();
    s.push_str(&format!(
        "inputs: {}  \nweights: {}  \nhow: {}\n\nµs per sample, median [p10–p90]\n\n| depth | width | MACs/sample | batch |",
        r.inputs, r.weights, r.header.how
    ));
    for e in &engines {
        s.push_str(&format!(" {e} |"));
    }
    s.push_str("\n|---:|---:|---:|---:|");
    for _ in &engines {
        s.push_str("---:|");
    }
    s.push('\n');
    let mut keys: Vec<(usize, usize, usize, u64)> = Vec::new();
    for row in &r.rows {
        let k = (row.depth, row.width, row.batch, row.macs_per_sample);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (d, w, b, macs) in keys {
        s.push_str(&format!("| {d} | {w} | {macs} | {b} |"));
        for e in &engines {
            let cell = r
                .rows
                .iter()
                .find(|x| x.depth == d && x.width == w && x.batch == b && x.backend == *e)
                .and_then(|x| x.timing.as_ref())
                .map(|t| format!("{:.2} [{:.2}–{:.2}]", t.median_us, t.p10_us, t.p90_us))
                .unwrap_or_else(|| "–".into());
            s.push_str(&format!(" {cell} |"));
        }
        s.push('\n');
    }
    s
}

fn write_outputs(dir: &Path, r: &MacsReport, md: &str) -> anyhow::Result<()> {
    let mut csv = String::from(
        "depth,width,batch,backend,threads,macs_per_sample,params,status,median_us,p10_us,p90_us,mean_us,std_us,\
         repeats,max_abs_diff_vs_native,date,load_start_1m,load_end_1m,machine\n",
    );
    for row in &r.rows {
        let t = row.timing.as_ref();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            row.depth,
            row.width,
            row.batch,
            row.backend,
            row.threads,
            row.macs_per_sample,
            row.params,
            csv_field(&row.status),
            Timing::csv_stats(t),
            t.map(|t| t.repeats.to_string()).unwrap_or_default(),
            row.max_abs_diff_vs_native
                .map(|d| d.to_string())
                .unwrap_or_default(),
            row.stamp.csv_fields(),
        ));
    }
    write_report_files(dir, "macs", r, &csv, md)?;
    // The plot: one series per (engine, batch).
    let mut series: Vec<MacsSeries> = Vec::new();
    for row in &r.rows {
        let Some(t) = &row.timing else { continue };
        let p = MacsPoint {
            macs: row.macs_per_sample as f64,
            micros: t.median_us,
        };
        match series
            .iter_mut()
            .find(|s| s.backend == row.backend && s.batch == row.batch)
        {
            Some(s) => s.points.push(p),
            None => series.push(MacsSeries {
                backend: row.backend.clone(),
                batch: row.batch,
                points: vec![p],
            }),
        }
    }
    let fig = latency_vs_macs(
        &series,
        "Latency against MACs: mlp-sweep widths × depths, one thread",
    )?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    write_atomic(&plots.join(format!("{}.svg", fig.name)), fig.svg.as_bytes())?;
    write_atomic(&plots.join(format!("{}.png", fig.name)), &fig.png)?;
    Ok(())
}
