//! `joulebench infer`: one engine on a NumPy array, its output written as a NumPy array, so that
//! engines can be compared on a user's own data (by the user, or by any other tool).
//!
//! The input is what the engines take (no preprocessing, no encoding): `[batch, sample…]` for a
//! dense model, the already-encoded `[T, batch, sample…]` for a spiking one
//! (`ModelSpec::batch_input_shape`). It is checked against the model before the engine is
//! opened; the output (logits `[batch, classes]`) is written as `<f4` `.npy`, atomically.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context};
use joulebench_data::npy;
use joulebench_inference::{open_backend, BackendKind, BackendOptions, ModelSource};

/// What `joulebench infer` runs.
#[derive(Debug, Clone)]
pub struct InferConfig {
    /// A run folder (spec.json + weights.safetensors [+ model.onnx]) or an ONNX file.
    pub target: PathBuf,
    /// Engine: tract, ort, ort-cuda, native, event, event-int8, tch.
    pub backend: String,
    /// The input array (`.npy`, float32 or float64, C order).
    pub input: PathBuf,
    /// Where the engine's output is written (`.npy`, float32), atomically.
    pub output: PathBuf,
    /// Worker threads of the engine.
    pub threads: usize,
}

/// What one `joulebench infer` did.
#[derive(Debug, Clone)]
pub struct InferOutcome {
    /// The engine's name.
    pub engine: String,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    /// Wall-clock seconds of the engine's `run` (one call, not warmed up).
    pub seconds: f64,
}

/// The model's input shape as text, e.g. `[T=8, batch, 1, 40]` or `[batch, 1, 28, 28]`.
fn shape_text(steps: Option<usize>, sample: &[usize]) -> String {
    let mut parts = Vec::new();
    if let Some(t) = steps {
        parts.push(format!("T={t}"));
    }
    parts.push("batch".to_string());
    parts.extend(sample.iter().map(|d| d.to_string()));
    format!("[{}]", parts.join(", "))
}

/// Reads the input, checks it against the model, runs the engine once, writes the output.
pub fn run(cfg: &InferConfig) -> anyhow::Result<InferOutcome> {
    let kind = BackendKind::from_str(&cfg.backend)?;
    if cfg.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let resolved = ModelSource::from_path(&cfg.target, None)?;
    let onnx = resolved.onnx_path();
    let (source, spec) = (resolved.source, resolved.spec);
    let (sample, steps) = match (&spec, &source) {
        (Some(s), _) => (s.input_shape.clone(), s.is_spiking().then_some(s.steps)),
        (None, ModelSource::Onnx { input_shape, .. }) => (input_shape.clone(), None),
        (None, ModelSource::Run(_)) => {
            bail!("{}: a run folder without a spec", cfg.target.display())
        }
    };
    let input = npy::read_npy(&cfg.input).context("reading the input array")?;
    let lead = if steps.is_some() { 2 } else { 1 };
    let expected = shape_text(steps, &sample);
    let batch_axis = lead - 1;
    let fits = input.shape.len() == lead + sample.len()
        && input.shape[lead..] == sample[..]
        && steps.is_none_or(|t| input.shape[0] == t);
    if !fits {
        bail!(
            "{}: shape {:?} does not fit the model {}: expected {expected}",
            cfg.input.display(),
            input.shape,
            cfg.target.display()
        );
    }
    let batch = input.shape[batch_axis];
    if batch == 0 {
        bail!(
            "{}: shape {:?} has an empty batch (expected {expected} with batch ≥ 1)",
            cfg.input.display(),
            input.shape
        );
    }
    let _counts =
        crate::inputs::refuse_if_too_big(spec.as_ref(), onnx.as_deref(), &sample, &[batch])?;
    let opts = BackendOptions::with_threads(cfg.threads);
    let mut backend = open_backend(kind, &source, &opts)
        .with_context(|| format!("opening the {kind} engine on {}", cfg.target.display()))?;
    let start = Instant::now();
    let output = backend
        .run(&input)
        .with_context(|| format!("running {} on {}", backend.name(), cfg.input.display()))?;
    backend.synchronize()?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(i) = output.data.iter().position(|v| !v.is_finite()) {
        eprintln!(
            "warning: the {} engine returned a non-finite value ({}) at flat index {i}",
            backend.name(),
            output.data[i]
        );
    }
    npy::write_npy(&cfg.output, &output).context("writing the output array")?;
    Ok(InferOutcome {
        engine: backend.name().to_string(),
        input_shape: input.shape,
        output_shape: output.shape,
        seconds,
    })
}
