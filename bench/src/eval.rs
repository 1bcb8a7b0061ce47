//! `joulebench eval`: test-set accuracy of one
//! model on one backend, and (with the `training` feature, for run folders) agreement with the
//! tch reference on exactly the same inputs (the same spike tensor for spiking models).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use joulebench_data::{Dataset, DatasetKind};
use joulebench_inference::{open_backend, BackendKind, BackendOptions, ModelSource};
use joulebench_models::{ModelSpec, Normalize, Tensor};
use serde::Serialize;

use crate::agreement::{check_logits, no_reference_reason, reference_backend, AgreementTally};
use crate::inputs::model_input;

#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// A run folder (spec.json + weights.safetensors, and model.onnx for tract/ort) or any ONNX
    /// classifier file (then --input-shape is required).
    pub model: PathBuf,
    /// Dataset whose test split is evaluated: mnist1d, mnist or fashion-mnist.
    pub dataset: String,
    /// Folder holding the dataset files (default: $JOULEBENCH_DATA/NAME or the fetch folder;
    /// MNIST-1D is generated when omitted).
    pub data_dir: Option<PathBuf>,
    /// Engine: tract, ort, ort-cuda, native, event or tch (tch needs the `training` feature).
    /// Default: native for run folders, tract for ONNX files.
    pub backend: Option<String>,
    /// Worker threads of the backend (explicit for every engine).
    pub threads: usize,
    /// Samples per backend call.
    pub batch: usize,
    /// Evaluate only the first N test samples.
    pub limit: Option<usize>,
    /// Shape of one input sample of a foreign ONNX file, without the batch dimension, e.g.
    /// `1,28,28` or `784`. Ignored for run folders (their spec says it); optional for joulebench
    /// exports, whose embedded spec gives the shape and preprocessing.
    pub input_shape: Option<Vec<usize>>,
    /// For a foreign ONNX file: normalize inputs with the dataset's usual mean/std (MNIST
    /// 0.1307/0.3081) instead of feeding raw [0, 1] values. Run folders use their own preprocessing.
    pub normalize: bool,
    /// Seed of the spike encoder (batch i uses seed + i), so every backend sees the same spikes.
    pub seed: u64,
    /// Run the tch model on CUDA for the tch backend / the reference (`training` feature).
    pub cuda: bool,
}

/// Agreement of the evaluated backend with the tch reference.
#[derive(Debug, Serialize)]
pub struct Agreement {
    pub reference: String,
    /// Fraction of samples whose argmax equals the reference's.
    pub argmax_agreement: f64,
    /// Largest absolute logit difference over all samples.
    pub max_abs_diff: f32,
    pub reference_accuracy: f64,
}

/// What `eval` reports (the JSON schema of `--json`).
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub preset: Option<String>,
    pub backend: String,
    pub threads: usize,
    pub dataset: String,
    pub dataset_source: String,
    pub samples: usize,
    pub correct: usize,
    /// Percent of test samples classified correctly.
    pub accuracy: f64,
    pub batch: usize,
    pub seed: u64,
    /// Wall-clock seconds of the whole evaluation (data preparation included), measured.
    pub wall_s: f64,
    /// Seconds spent inside the backend's `run` calls only, measured with a monotonic clock.
    pub backend_s: f64,
    pub us_per_sample: f64,
    /// Agreement with the tch reference, when it was computed.
    pub agreement: Option<Agreement>,
    /// Why no agreement was computed, when it was not.
    pub agreement_note: Option<String>,
}

/// Evaluates the model on the test split (progress bar on stderr unless `quiet`).
pub fn run(args: &EvalConfig, quiet: bool) -> anyhow::Result<EvalReport> {
    let started = Instant::now();
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let kind_ds: DatasetKind = args.dataset.parse()?;
    let resolved = ModelSource::from_path(&args.model, args.input_shape.as_deref())?;
    let (source, spec) = (resolved.source, resolved.spec);
    let kind: BackendKind = match &args.backend {
        Some(b) => b.parse()?,
        None if spec.is_some() => BackendKind::Native,
        None => BackendKind::Tract,
    };
    let opts = BackendOptions {
        threads: args.threads,
        cuda: args.cuda,
        ..Default::default()
    };

    let data = Dataset::load(kind_ds, args.data_dir.as_deref())
        .with_context(|| format!("loading the {} dataset", kind_ds.name()))?;
    let test = &data.test;
    let n = args.limit.map_or(test.len(), |l| l.min(test.len()));
    if n == 0 {
        bail!("nothing to evaluate: the test split is empty or --limit is 0");
    }
    if let Some(spec) = &spec {
        if spec.num_classes != data.num_classes() {
            bail!(
                "the model has {} classes but {} has {}: wrong --dataset?",
                spec.num_classes,
                data.name(),
                data.num_classes()
            );
        }
    }

    let (onnx_file, sample_shape) = match &source {
        ModelSource::Onnx { path, input_shape } => (Some(path.clone()), input_shape.clone()),
        _ => (None, data.sample_shape().to_vec()),
    };
    crate::inputs::refuse_if_too_big(
        spec.as_ref(),
        onnx_file.as_deref(),
        &sample_shape,
        &[args.batch.min(n)],
    )?;
    let mut backend = open_backend(kind, &source, &opts)?;
    let mut reference = reference_backend(kind, &source, args.threads, args.cuda);
    let (mut reference, agreement_note) = match reference.take() {
        Some(Ok(r)) => (Some(r), None),
        Some(Err(e)) => (None, Some(e)),
        None => (
            None,
            Some(no_reference_reason(
                kind,
                matches!(source, ModelSource::Run(_)),
            )),
        ),
    };

    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(n as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("eval {} on {}", data.name(), kind));

    let mut correct = 0usize;
    let mut tally = AgreementTally::default();
    let mut backend_s = 0.0f64;
    for (bi, start) in (0..n).step_by(args.batch).enumerate() {
        let end = (start + args.batch).min(n);
        let raw = test.batch_range(start, end);
        let labels: Vec<usize> = (start..end).map(|i| test.labels[i] as usize).collect();
        let input = prepare(
            &raw,
            spec.as_ref(),
            &sample_shape,
            args,
            &data,
            args.seed + bi as u64,
        )?;
        let t0 = Instant::now();
        let logits = backend
            .run(&input)
            .with_context(|| format!("{kind} on samples {start}..{end}"))?;
        backend_s += t0.elapsed().as_secs_f64();
        let pred = check_logits(&logits, end - start)?;
        correct += pred.iter().zip(&labels).filter(|(p, l)| p == l).count();
        if let Some(r) = reference.as_mut() {
            tally
                .add(r.as_mut(), &input, &logits, &labels)
                .with_context(|| format!("samples {start}..{end}"))?;
        }
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();

    let agreement = reference.as_ref().map(|r| Agreement {
        reference: r.name().to_string(),
        argmax_agreement: tally.argmax_agreement(),
        max_abs_diff: tally.max_abs_diff,
        reference_accuracy: 100.0 * tally.reference_correct as f64 / n as f64,
    });
    let report = EvalReport {
        model: args.model.display().to_string(),
        preset: spec.as_ref().map(|s| s.preset.clone()),
        backend: backend.name().to_string(),
        threads: backend.threads(),
        dataset: data.name().to_string(),
        dataset_source: data.source.clone(),
        samples: n,
        correct,
        accuracy: 100.0 * correct as f64 / n as f64,
        batch: args.batch,
        seed: args.seed,
        wall_s: started.elapsed().as_secs_f64(),
        backend_s,
        us_per_sample: backend_s * 1e6 / n as f64,
        agreement_note: if agreement.is_some() {
            None
        } else {
            agreement_note
        },
        agreement,
    };
    Ok(report)
}

/// Raw `[b, sample…]` values in [0, 1] → the backend's input: the run's preprocessing and spike
/// encoding, or for foreign ONNX files an optional normalization and a reshape to --input-shape.
fn prepare(
    raw: &Tensor,
    spec: Option<&ModelSpec>,
    sample_shape: &[usize],
    args: &EvalConfig,
    data: &Dataset,
    seed: u64,
) -> anyhow::Result<Tensor> {
    let b = raw.shape[0];
    match spec {
        Some(spec) => model_input(spec, raw, seed),
        None => {
            let shape = sample_shape;
            let per: usize = shape.iter().product();
            let have = raw.numel() / b.max(1);
            if per != have {
                bail!(
                    "--input-shape {shape:?} holds {per} values but {} samples have {have}",
                    data.name()
                );
            }
            let mut x = raw.clone();
            if args.normalize {
                if let Some(Normalize { mean, std }) = data.kind.normalize() {
                    for v in &mut x.data {
                        *v = (*v - mean) / std;
                    }
                }
            }
            x.shape = std::iter::once(b).chain(shape.iter().copied()).collect();
            Ok(x)
        }
    }
}
