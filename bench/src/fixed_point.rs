//! `joulebench bench fixed-point`: accuracy cost of the event engine's int8 fixed-point mode
//! (int8 weights, int32 accumulators, int16 membranes) against f32 on the same encoded test
//! inputs — accuracy of each, argmax agreement, spike-count difference, logit differences — and
//! the wall-clock time of both on this machine.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context};
use joulebench_data::{apply_preprocess, encode, Dataset, DatasetKind};
use joulebench_inference::event::{EventEngine, LayerQuant, Precision};
use joulebench_inference::Backend;
use joulebench_models::{write_atomic, ModelSpec, Tensor, Weights};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct FixedPointConfig {
    /// A trained run folder of a fully connected spiking model (spec.json +
    /// weights.safetensors); default: snn-temporal 784-256-128-10 with seeded random weights
    /// (accuracy is then chance level, agreement still meaningful).
    pub run: Option<PathBuf>,
    /// Dataset of the test samples (mnist, fashion-mnist, mnist1d); default: mnist1d for
    /// models of 40-point inputs, else mnist.
    pub dataset: Option<String>,
    /// Dataset folder (default: $JOULEBENCH_DATA/DATASET, as `joulebench eval`).
    pub data: Option<PathBuf>,
    /// Test samples to evaluate (the first N of the test split).
    pub count: usize,
    /// Samples per engine call.
    pub chunk: usize,
    /// Worker threads of both engines.
    pub threads: usize,
    /// Time steps for the default model (a run folder uses its own).
    pub steps: usize,
    /// Seed of the spike encoding (and of the default model's weights).
    pub seed: u64,
    /// Write fixed_point.json here (atomically).
    pub out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct FixedReport {
    what: &'static str,
    how: String,
    model: String,
    weights: String,
    dataset: String,
    samples: usize,
    steps: usize,
    threads: usize,
    f32_accuracy: f64,
    int8_accuracy: f64,
    /// Fraction of samples whose predicted class is the same in both.
    argmax_agreement: f64,
    f32_spikes_per_inference: f64,
    int8_spikes_per_inference: f64,
    /// (int8 − f32) / f32 total LIF spikes.
    spike_count_rel_diff: f64,
    max_abs_logit_diff: f64,
    mean_abs_logit_diff: f64,
    f32_us_per_inference: f64,
    int8_us_per_inference: f64,
    load_average_1m: Option<f64>,
    quantization: Vec<LayerQuant>,
}

fn load_model(args: &FixedPointConfig) -> anyhow::Result<(ModelSpec, Weights, String)> {
    crate::inputs::run_or_untrained_snn(args.run.as_deref(), args.steps, args.seed)
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

pub fn run(args: FixedPointConfig) -> anyhow::Result<()> {
    if args.count == 0 || args.chunk == 0 || args.threads == 0 || args.steps == 0 {
        bail!("--count, --chunk, --threads and --steps must be at least 1");
    }
    let (spec, weights, wdesc) = load_model(&args)?;
    if !spec.is_spiking() {
        bail!(
            "`{}` has no LIF layer: fixed-point mode is for spiking models",
            spec.preset
        );
    }
    let kind = match &args.dataset {
        Some(d) => DatasetKind::from_str(d)?,
        None if spec.input_shape == [1, 40] => DatasetKind::Mnist1d,
        None => DatasetKind::Mnist,
    };
    let data = Dataset::load(kind, args.data.as_deref())
        .with_context(|| format!("loading {}", kind.name()))?;
    let n = args.count.min(data.test.len());
    let mut f32e = EventEngine::new(&spec, &weights, args.threads)?;
    let mut q = EventEngine::new(&spec, &weights, args.threads)?;
    q.set_precision(Precision::Int8)?;
    let classes = spec.num_classes;
    let (mut ok_f, mut ok_q, mut agree) = (0usize, 0usize, 0usize);
    let (mut sp_f, mut sp_q) = (0u64, 0u64);
    let (mut max_d, mut sum_d) = (0f64, 0f64);
    let (mut t_f, mut t_q) = (0f64, 0f64);
    let mut start = 0;
    while start < n {
        let end = (start + args.chunk).min(n);
        let raw = data.test.batch_range(start, end);
        let labels: Vec<usize> = data.test.labels_at(&(start..end).collect::<Vec<_>>());
        let x = apply_preprocess(&spec.preprocess, &raw)?;
        let mut shape = vec![end - start];
        shape.extend_from_slice(&spec.input_shape);
        if x.data.len() != shape.iter().product::<usize>() {
            bail!(
                "{} samples do not fit the model input {:?}: wrong --dataset?",
                kind.name(),
                spec.input_shape
            );
        }
        let x = Tensor {
            shape,
            data: x.data,
        };
        let input = encode(spec.encoding, &x, spec.steps, args.seed + start as u64)?;
        let t0 = Instant::now();
        let a = f32e.run(&input)?;
        t_f += t0.elapsed().as_secs_f64();
        sp_f += f32e.activity().map(|a| a.total_spikes()).unwrap_or(0);
        let t0 = Instant::now();
        let b = q.run(&input)?;
        t_q += t0.elapsed().as_secs_f64();
        sp_q += q.activity().map(|a| a.total_spikes()).unwrap_or(0);
        for ((ra, rb), &y) in a
            .data
            .chunks(classes)
            .zip(b.data.chunks(classes))
            .zip(&labels)
        {
            let (pa, pb) = (argmax(ra), argmax(rb));
            ok_f += (pa == y) as usize;
            ok_q += (pb == y) as usize;
            agree += (pa == pb) as usize;
            for (u, v) in ra.iter().zip(rb) {
                let d = (*u as f64 - *v as f64).abs();
                max_d = max_d.max(d);
                sum_d += d;
            }
        }
        eprint!("\r{end}/{n} samples");
        start = end;
    }
    eprintln!();
    let nf = n as f64;
    let report = FixedReport {
        what: "fixed-point",
        how: format!(
            "both engines on the same encoded inputs ({} encoding, seed {} + chunk start), {} samples per call; \
             times are one pass of wall-clock time (std::time::Instant) divided by the samples, on a possibly shared CPU",
            format!("{:?}", spec.encoding).to_lowercase(),
            args.seed,
            args.chunk
        ),
        model: format!("{} {:?} → {} classes", spec.preset, spec.input_shape, classes),
        weights: wdesc,
        dataset: format!("{} test split, first {n} samples ({})", kind.name(), data.source),
        samples: n,
        steps: spec.steps,
        threads: args.threads,
        f32_accuracy: ok_f as f64 / nf,
        int8_accuracy: ok_q as f64 / nf,
        argmax_agreement: agree as f64 / nf,
        f32_spikes_per_inference: sp_f as f64 / nf,
        int8_spikes_per_inference: sp_q as f64 / nf,
        spike_count_rel_diff: if sp_f == 0 {
            0.0
        } else {
            (sp_q as f64 - sp_f as f64) / sp_f as f64
        },
        max_abs_logit_diff: max_d,
        mean_abs_logit_diff: sum_d / (nf * classes as f64),
        f32_us_per_inference: t_f * 1e6 / nf,
        int8_us_per_inference: t_q * 1e6 / nf,
        load_average_1m: joulebench_profiler::load_average().map(|l| l[0]),
        quantization: q.quantization().unwrap_or_default(),
    };
    println!("joulebench bench fixed-point — {}", report.model);
    println!("weights: {}", report.weights);
    println!("data: {}", report.dataset);
    println!(
        "accuracy: f32 {:.2} %, int8 {:.2} % (Δ {:+.2} points)",
        100.0 * report.f32_accuracy,
        100.0 * report.int8_accuracy,
        100.0 * (report.int8_accuracy - report.f32_accuracy)
    );
    println!("argmax agreement: {:.2} %", 100.0 * report.argmax_agreement);
    println!(
        "LIF spikes per inference: f32 {:.1}, int8 {:.1} ({:+.2} %)",
        report.f32_spikes_per_inference,
        report.int8_spikes_per_inference,
        100.0 * report.spike_count_rel_diff
    );
    println!(
        "|Δlogit|: mean {:.3e}, max {:.3e}",
        report.mean_abs_logit_diff, report.max_abs_logit_diff
    );
    println!(
        "time per inference (one pass, {} threads, load {:?}): f32 {:.1} µs, int8 {:.1} µs",
        args.threads,
        report.load_average_1m,
        report.f32_us_per_inference,
        report.int8_us_per_inference
    );
    for l in &report.quantization {
        println!(
            "  {}: {}→{}, s_w {:.3e}, s_u {:.3e}, shift {}, θ_q {}, β_q {}",
            l.linear,
            l.inputs,
            l.outputs,
            l.weight_scale,
            l.membrane_scale,
            l.shift,
            l.theta_q,
            l.beta_q
        );
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("fixed_point.json");
        write_atomic(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
