//! `joulebench bench backends`: the same models on every engine, like for like — native
//! event-driven, native dense, tract and ONNX Runtime — on ann, snn-1step and snn-temporal
//! (T = 25 and 100) at batch 1 and 64, each engine with an explicit thread count.
//!
//! For every case it writes a model folder (`DIR/models/<case>/`: spec.json,
//! weights.safetensors, model.onnx) and the exact inputs with reference logits
//! (`DIR/inputs/<case>-b<batch>.safetensors`: `input.<v>` and `logits.<v>`), so that
//! `scripts/peers` can time PyTorch, snnTorch and Python onnxruntime on the same computation.
//! Results: `DIR/backends.json`, `backends.csv`, `backends.md` (atomically).

use std::ops::Deref;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use joulebench_data::DatasetKind;
use joulebench_inference::{open_backend, Backend, BackendKind, BackendOptions, ModelSource};
use joulebench_models::{build_preset, write_onnx, PresetOptions, RunDir, Tensor, Weights};
use joulebench_profiler::LatencyConfig;
use serde::{Deserialize, Serialize};

use crate::harness::{check_and_time, harness_how, LatencyOverrides, Timing};
use crate::inputs::{images_for_batches, load_model, model_inputs};
use crate::record::{csv_field, md_cell, measure_row, write_report_files, ReportHeader, RowStamp};

/// Engines `bench backends` times, in table order.
pub const ENGINES: [BackendKind; 4] = [
    BackendKind::Event,
    BackendKind::Native,
    BackendKind::Tract,
    BackendKind::Ort,
];

/// The engines named in `names`, each one of `allowed` (an error naming `flag` otherwise).
pub fn parse_engines(
    names: &[String],
    allowed: &[BackendKind],
    flag: &str,
) -> anyhow::Result<Vec<BackendKind>> {
    let list = || {
        allowed
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    names
        .iter()
        .map(|n| match n.parse::<BackendKind>() {
            Ok(k) if allowed.contains(&k) => Ok(k),
            _ => bail!("{flag}: unknown engine `{n}` (expected one of: {})", list()),
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct BackendsConfig {
    /// Model presets (MNIST-shaped; temporal spiking presets get one case per --steps value).
    pub models: Vec<String>,
    /// Time steps T for temporal spiking presets.
    pub steps: Vec<usize>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Engines to time: event (spiking models only), native (dense), tract, ort.
    pub backends: Vec<String>,
    /// Worker threads of every engine (ONNX Runtime intra-op threads; tract always runs one).
    pub threads: usize,
    /// A folder of trained run folders named by preset (e.g. out/run/runs): DIR/PRESET/spec.json
    /// and weights.safetensors are used when present; otherwise seeded random weights.
    pub runs: Option<PathBuf>,
    /// Folder with DATASET/t10k-images-idx3-ubyte[.gz] (default: $JOULEBENCH_DATA); synthetic
    /// digit-like images when absent (the output says which).
    pub data: Option<PathBuf>,
    /// Whose test images: MNIST or Fashion-MNIST.
    pub dataset: DatasetKind,
    /// Seed of the random weights, the synthetic images and the rate coder.
    pub seed: u64,
    /// Different input batches cycled through while timing (also saved for the peers).
    pub variants: usize,
    pub latency: LatencyOverrides,
    /// Output folder: backends.json/csv/md, models/, inputs/.
    pub out: PathBuf,
}

/// One model configuration measured at one batch size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// `ann`, `snn-1step`, `snn-temporal-T25`, …
    pub case: String,
    pub preset: String,
    pub steps: usize,
    pub batch: usize,
    /// Folder with spec.json, weights.safetensors, model.onnx (relative to the output folder).
    pub model_dir: String,
    /// safetensors file with `input.<v>` (the exact tensors timed) and `logits.<v>` (reference).
    pub inputs_file: String,
    pub variants: usize,
    /// Backend whose logits are the reference (`native` unless it failed).
    pub reference: String,
    pub weights: String,
    /// Dense MACs per sample (all T steps), from the spec.
    pub macs_per_sample: u64,
}

/// One engine on one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub case: String,
    pub preset: String,
    pub steps: usize,
    pub batch: usize,
    pub backend: String,
    pub threads: usize,
    /// `ok`, or why the engine could not run this case.
    pub status: String,
    pub timing: Option<Timing>,
    /// Largest |logit − reference logit| over all saved input variants.
    pub max_abs_diff_vs_reference: Option<f32>,
    /// Fraction of samples whose argmax equals the reference's.
    pub argmax_agreement: Option<f64>,
    pub macs_per_sample: u64,
    /// `date`, `load_start`, `load_end`, `machine`.
    #[serde(flatten)]
    pub stamp: RowStamp,
}

/// `backends.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendsReport {
    /// `what`, `date_start`, `date_end`, `machine`, `load_start`, `load_end`, `how`, `latency`.
    #[serde(flatten)]
    pub header: ReportHeader,
    pub threads: usize,
    pub inputs: String,
    pub real_mnist: bool,
    /// `mnist`, `fashion-mnist` or `synthetic`.
    #[serde(default)]
    pub images: String,
    pub command: String,
    pub cases: Vec<Case>,
    pub rows: Vec<Row>,
}

/// The header's fields read as the report's own (`report.date_start`), as they stand in the JSON.
impl Deref for BackendsReport {
    type Target = ReportHeader;
    fn deref(&self) -> &ReportHeader {
        &self.header
    }
}

/// The default harness settings of `bench backends` (per measurement).
pub fn default_latency() -> LatencyConfig {
    LatencyConfig {
        warmup_queries: 10,
        warmup_seconds: 0.3,
        min_queries: 200,
        min_seconds: 1.0,
        max_seconds: Some(15.0),
    }
}

/// The command line of this process, for the record (prefixed with `JOULEBENCH_DATA=…` when
/// that variable is set, since it decides which images are used).
pub fn command_line() -> String {
    let env = std::env::var("JOULEBENCH_DATA")
        .map(|d| format!("JOULEBENCH_DATA={d} "))
        .unwrap_or_default();
    env + &std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: BackendsConfig) -> anyhow::Result<()> {
    if args.threads == 0 || args.variants == 0 {
        bail!("--threads and --variants must be at least 1");
    }
    if args.batches.is_empty() || args.batches.contains(&0) {
        bail!("--batches: every batch size must be at least 1");
    }
    if args.steps.contains(&0) {
        bail!("--steps: every T must be at least 1");
    }
    let kinds = parse_engines(&args.backends, &ENGINES, "--backends")?;
    let cfg = args.latency.config(default_latency())?;
    let out = &args.out;
    for sub in ["models", "inputs"] {
        std::fs::create_dir_all(out.join(sub))
            .with_context(|| format!("creating {}", out.join(sub).display()))?;
    }
    let header = ReportHeader::begin(
        "backends",
        format!(
            "{}; logits checked against the reference engine before timing; the machine may be \
             shared (see load averages)",
            harness_how(&cfg, args.variants)
        ),
        cfg.clone(),
    );
    let images = images_for_batches(
        args.data.as_deref(),
        args.dataset,
        &args.batches,
        args.variants,
        args.seed,
    )?;

    // (case name, preset, steps override)
    let mut configs: Vec<(String, String, Option<usize>)> = Vec::new();
    for m in &args.models {
        let probe = build_preset(
            m,
            &DatasetKind::Mnist.data_shape(),
            &PresetOptions::default(),
        )
        .with_context(|| format!("--models: `{m}`"))?;
        if probe.encoding.is_spiking() {
            for &t in &args.steps {
                configs.push((format!("{m}-T{t}"), m.clone(), Some(t)));
            }
        } else {
            configs.push((m.clone(), m.clone(), None));
        }
    }

    let mut cases = Vec::new();
    let mut rows = Vec::new();
    for (case, preset, steps) in &configs {
        let (spec, weights, wdesc) = load_model(preset, *steps, args.runs.as_deref(), args.seed)?;
        let mdir = out.join("models").join(case);
        let run_dir = RunDir::new(&mdir);
        std::fs::create_dir_all(&mdir).with_context(|| format!("creating {}", mdir.display()))?;
        run_dir.write_spec(&spec)?;
        weights.save(&run_dir.weights_path())?;
        write_onnx(&run_dir.onnx_path(), &spec, &weights, &[])?;
        let macs = spec.op_counts()?.total_macs;
        let source = ModelSource::Run(run_dir.clone());
        let opts = BackendOptions::with_threads(args.threads);
        let mut engines: Vec<(BackendKind, anyhow::Result<Box<dyn Backend>>)> = kinds
            .iter()
            // The event-driven engine runs LIF networks only: no row for the others.
            .filter(|k| !k.spiking_only() || spec.is_spiking())
            .map(|&k| (k, open_backend(k, &source, &opts).map_err(Into::into)))
            .collect();
        for &batch in &args.batches {
            joulebench_models::memory::refuse_if_too_big(Some(&spec), None, &[], batch)?;
            let inputs = model_inputs(&spec, &images.tensor, batch, args.variants, args.seed)?;
            // Reference logits: native dense, else the first engine that runs.
            let mut reference: Option<(String, Vec<Tensor>)> = None;
            let order: Vec<usize> = {
                let mut o: Vec<usize> = (0..engines.len()).collect();
                o.sort_by_key(|&i| engines[i].0 != BackendKind::Native);
                o
            };
            for i in order {
                if let (name, Ok(e)) = &mut engines[i] {
                    let logits: Result<Vec<Tensor>, _> = inputs.iter().map(|x| e.run(x)).collect();
                    if let Ok(l) = logits {
                        reference = Some((name.to_string(), l));
                        break;
                    }
                }
            }
            let Some((ref_name, ref_logits)) = reference else {
                bail!("{case}: no engine could run this model");
            };
            let mut st = Weights::default();
            for (v, (x, l)) in inputs.iter().zip(&ref_logits).enumerate() {
                st.insert(format!("input.{v}"), x.clone());
                st.insert(format!("logits.{v}"), l.clone());
            }
            let inputs_file = format!("inputs/{case}-b{batch}.safetensors");
            st.save(&out.join(&inputs_file))?;
            cases.push(Case {
                case: case.clone(),
                preset: preset.clone(),
                steps: spec.steps,
                batch,
                model_dir: format!("models/{case}"),
                inputs_file,
                variants: inputs.len(),
                reference: ref_name.clone(),
                weights: wdesc.clone(),
                macs_per_sample: macs,
            });
            for (name, engine) in engines.iter_mut() {
                let m = measure_row(&header.machine, || match engine {
                    Err(e) => Err(format!("unavailable: {e:#}")),
                    Ok(e) => {
                        eprintln!("timing {case} batch {batch} on {name} ...");
                        check_and_time(e.as_mut(), &inputs, &ref_logits, batch, &cfg)
                            .map_err(|e| format!("failed: {e:#}"))
                    }
                });
                rows.push(Row {
                    case: case.clone(),
                    preset: preset.clone(),
                    steps: spec.steps,
                    batch,
                    backend: name.to_string(),
                    threads: name.threads_used(args.threads),
                    status: m.status,
                    max_abs_diff_vs_reference: m.value.as_ref().map(|c| c.max_abs_diff),
                    argmax_agreement: m.value.as_ref().map(|c| c.argmax_agreement),
                    timing: m.value.map(|c| c.timing),
                    macs_per_sample: macs,
                    stamp: m.stamp,
                });
            }
        }
    }

    let report = BackendsReport {
        header: header.finish(),
        threads: args.threads,
        inputs: images.description.clone(),
        real_mnist: images.real_mnist,
        images: images.dataset.to_string(),
        command: command_line(),
        cases,
        rows,
    };
    let md = markdown(&report);
    print!("{md}");
    write_outputs(out, &report, &md)?;
    println!(
        "wrote {}, backends.csv, backends.md, models/, inputs/",
        out.join("backends.json").display()
    );
    Ok(())
}

fn fmt_us(t: &Timing) -> (String, String) {
    (
        format!("{:.2}", t.median_us),
        format!("{:.2}–{:.2}", t.p10_us, t.p90_us),
    )
}

/// The Markdown table (also printed to stdout).
pub fn markdown(r: &BackendsReport) -> String {
    let mut s = r.header.markdown_intro();
    s.push_str(&format!(
        "inputs: {}  \n\
         threads: {} per engine (tract: 1)  \nhow: {}\n\n\
         | case | batch | backend | µs/sample median | p10–p90 | repeats | max abs Δ vs ref | argmax agree | load start → end | status |\n\
         |---|---:|---|---:|---|---:|---:|---:|---|---|\n",
        r.inputs,
        r.threads,
        r.how
    ));
    for row in &r.rows {
        let (med, spread, reps) = match &row.timing {
            Some(t) => {
                let (m, sp) = fmt_us(t);
                (m, sp, t.repeats.to_string())
            }
            None => ("–".into(), "–".into(), "–".into()),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} |\n",
            row.case,
            row.batch,
            row.backend,
            med,
            spread,
            reps,
            row.max_abs_diff_vs_reference
                .map(|d| format!("{d:.1e}"))
                .unwrap_or_else(|| "–".into()),
            row.argmax_agreement
                .map(|a| format!("{:.1} %", a * 100.0))
                .unwrap_or_else(|| "–".into()),
            row.stamp
                .load_start
                .map(|l| format!("{:.2}", l[0]))
                .unwrap_or_default(),
            row.stamp
                .load_end
                .map(|l| format!("{:.2}", l[0]))
                .unwrap_or_default(),
            md_cell(&short_status(&row.status)),
        ));
    }
    s
}

fn short_status(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    if first.chars().count() > 90 {
        format!("{}…", first.chars().take(90).collect::<String>())
    } else {
        first.to_string()
    }
}

fn write_outputs(dir: &Path, r: &BackendsReport, md: &str) -> anyhow::Result<()> {
    let mut csv = String::from(
        "case,preset,steps,batch,backend,threads,status,median_us,p10_us,p90_us,mean_us,std_us,min_us,max_us,\
         per_call_median_us,repeats,warmup_calls,stopped_by,max_abs_diff_vs_reference,argmax_agreement,\
         macs_per_sample,date,load_start_1m,load_end_1m,machine\n",
    );
    for row in &r.rows {
        let t = row.timing.as_ref();
        let f = |g: fn(&Timing) -> f64| t.map(|t| g(t).to_string()).unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            row.case,
            row.preset,
            row.steps,
            row.batch,
            row.backend,
            row.threads,
            csv_field(&row.status),
            Timing::csv_stats(t),
            f(|t| t.min_us),
            f(|t| t.max_us),
            f(|t| t.per_call_median_us),
            t.map(|t| t.repeats.to_string()).unwrap_or_default(),
            t.map(|t| t.warmup_calls.to_string()).unwrap_or_default(),
            t.map(|t| t.stopped_by.clone()).unwrap_or_default(),
            row.max_abs_diff_vs_reference
                .map(|d| d.to_string())
                .unwrap_or_default(),
            row.argmax_agreement
                .map(|a| a.to_string())
                .unwrap_or_default(),
            row.macs_per_sample,
            row.stamp.csv_fields(),
        ));
    }
    write_report_files(dir, "backends", r, &csv, md)
}
