//! Refusing work that would not fit in memory, before allocating it.
//!
//! The estimate ([`MemoryEstimate`]) is a lower bound of what one backend call at batch `b`
//! holds at once, in f32 (4 bytes): the weights, the encoded input (`T × b × input` for spiking
//! models, `b × input` otherwise), and the outputs of every layer for one step
//! (`b × Σ layer outputs`). Engines hold at least this much; the check compares it with the
//! memory the kernel says is available (`MemAvailable` in `/proc/meminfo`) and refuses when the
//! estimate exceeds it. Set `JOULEBENCH_SKIP_MEMORY_CHECK=1` to skip the check (an estimate can
//! be pessimistic for swap-backed or overcommitted machines).

use crate::counts::OpCounts;
use crate::error::ModelError;
use crate::spec::ModelSpec;

/// Environment variable that turns the check off when set to `1`.
pub const SKIP_MEMORY_CHECK_ENV: &str = "JOULEBENCH_SKIP_MEMORY_CHECK";

/// Bytes one backend call needs at least (see the module docs), by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    pub weights: u64,
    pub inputs: u64,
    pub activations: u64,
}

impl MemoryEstimate {
    /// Sum of the parts (saturating).
    pub fn total(&self) -> u64 {
        self.weights
            .saturating_add(self.inputs)
            .saturating_add(self.activations)
    }

    /// For a model described by a spec at batch `batch` (saturating arithmetic: absurd batches
    /// give `u64::MAX`, never an overflow).
    pub fn for_spec(spec: &ModelSpec, batch: usize) -> Result<MemoryEstimate, ModelError> {
        let counts = OpCounts::of(spec)?;
        let per_step_outputs: u64 = counts
            .layers
            .iter()
            .map(|l| l.output_shape.iter().product::<usize>() as u64)
            .fold(0u64, u64::saturating_add);
        let input: u64 = spec
            .batch_input_shape(1)
            .iter()
            .map(|&d| d as u64)
            .product();
        Ok(MemoryEstimate {
            weights: counts.total_params.saturating_mul(4),
            inputs: input.saturating_mul(batch as u64).saturating_mul(4),
            activations: per_step_outputs
                .saturating_mul(batch as u64)
                .saturating_mul(4),
        })
    }

    /// For one training step of a model at mini-batch `batch`: the inference estimate with the
    /// weights counted 4 times (parameters, gradients, Adam's two moments) and the layer outputs
    /// of every one of the `T = spec.steps` steps kept for backpropagation through time, 3 times
    /// (value, gradient, the surrogate/activation's saved input). A lower bound, in host memory.
    pub fn for_training(spec: &ModelSpec, batch: usize) -> Result<MemoryEstimate, ModelError> {
        let e = MemoryEstimate::for_spec(spec, batch)?;
        Ok(MemoryEstimate {
            weights: e.weights.saturating_mul(4),
            inputs: e.inputs,
            activations: e
                .activations
                .saturating_mul(spec.steps.max(1) as u64)
                .saturating_mul(3),
        })
    }

    /// For a graph whose shapes were inferred (a foreign ONNX file, counted): `params` weights
    /// (also those the graph generates at load time), `elements_per_sample` = the input and every
    /// node's output for one sample, both in f32, at batch `batch`.
    pub fn for_graph(params: u64, elements_per_sample: u64, batch: usize) -> MemoryEstimate {
        MemoryEstimate {
            weights: params.saturating_mul(4),
            inputs: 0,
            activations: elements_per_sample
                .saturating_mul(batch as u64)
                .saturating_mul(4),
        }
    }

    /// For a model known only by its file size and sample shape (a foreign ONNX file): weights
    /// ≈ the file, inputs `batch × ∏sample_shape` f32, activations unknown (0).
    pub fn for_file(file_bytes: u64, sample_shape: &[usize], batch: usize) -> MemoryEstimate {
        let per_sample = sample_shape
            .iter()
            .fold(1u64, |a, &d| a.saturating_mul(d as u64));
        MemoryEstimate {
            weights: file_bytes,
            inputs: per_sample.saturating_mul(batch as u64).saturating_mul(4),
            activations: 0,
        }
    }
}

/// `MemAvailable` from `/proc/meminfo`, bytes (`None` where there is no such file).
pub fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// The `MemAvailable:  N kB` line of a `/proc/meminfo` text, in bytes.
pub fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

fn gib(b: u64) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Refuses `est` when it exceeds `available` bytes (`None`: unknown, accepted). `what` names
/// the work in the message (e.g. `mlp at batch 100000000`).
pub fn check_fits(
    what: &str,
    est: &MemoryEstimate,
    available: Option<u64>,
) -> Result<(), ModelError> {
    let Some(avail) = available else {
        return Ok(());
    };
    if est.total() <= avail {
        return Ok(());
    }
    Err(ModelError::Invalid(format!(
        "{what} would need at least {} (weights {}, inputs {}, activations {}) but only {} of memory \
         is available; refused before allocating. Use a smaller batch, or set {SKIP_MEMORY_CHECK_ENV}=1 \
         to try anyway",
        gib(est.total()),
        gib(est.weights),
        gib(est.inputs),
        gib(est.activations),
        gib(avail)
    )))
}

/// [`check_fits`] against this machine's available memory, unless
/// `JOULEBENCH_SKIP_MEMORY_CHECK=1`.
pub fn check_fits_here(what: &str, est: &MemoryEstimate) -> Result<(), ModelError> {
    if std::env::var(SKIP_MEMORY_CHECK_ENV).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    check_fits(what, est, available_memory_bytes())
}

/// Refuses one backend call of `batch` samples of a model before any backend allocates it,
/// when it would need more memory than this machine has available ([`check_fits_here`]). The
/// model is a spec, or else a model file (its size stands for the weights) of `sample_shape`
/// inputs.
pub fn refuse_if_too_big(
    spec: Option<&ModelSpec>,
    file: Option<&std::path::Path>,
    sample_shape: &[usize],
    batch: usize,
) -> Result<(), ModelError> {
    let (est, name) = match spec {
        Some(s) => (MemoryEstimate::for_spec(s, batch)?, s.preset.clone()),
        None => {
            let bytes = file
                .and_then(|f| std::fs::metadata(f).ok())
                .map_or(0, |m| m.len());
            let name = file.map_or("the input batch".into(), |f| f.display().to_string());
            (MemoryEstimate::for_file(bytes, sample_shape, batch), name)
        }
    };
    check_fits_here(&format!("{name} at batch {batch}"), &est)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::{build_preset, DataShape, PresetOptions};

    fn mlp1d() -> ModelSpec {
        let shape = DataShape {
            dataset: "mnist1d".into(),
            sample_shape: vec![1, 40],
            num_classes: 10,
            normalize: None,
            spike_scale: None,
        };
        build_preset("mlp1d", &shape, &PresetOptions::default()).unwrap()
    }

    #[test]
    fn estimate_counts_weights_inputs_and_activations() {
        let spec = mlp1d();
        let e1 = MemoryEstimate::for_spec(&spec, 1).unwrap();
        let e10 = MemoryEstimate::for_spec(&spec, 10).unwrap();
        let params = OpCounts::of(&spec).unwrap().total_params;
        assert_eq!(e1.weights, params * 4);
        assert_eq!(e1.inputs, 40 * 4);
        assert_eq!(e10.inputs, 10 * e1.inputs);
        assert_eq!(e10.activations, 10 * e1.activations);
        assert!(e1.activations >= 10 * 4, "at least the logits");
        // absurd batches saturate, never overflow
        assert_eq!(
            MemoryEstimate::for_spec(&spec, usize::MAX).unwrap().total(),
            u64::MAX
        );
    }

    #[test]
    fn refusal_says_what_and_how_much() {
        let est = MemoryEstimate::for_spec(&mlp1d(), 100_000_000).unwrap();
        let e = check_fits("mlp1d at batch 100000000", &est, Some(8 << 30)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("mlp1d at batch 100000000")
                && msg.contains("8.00 GiB of memory is available")
                && msg.contains(SKIP_MEMORY_CHECK_ENV),
            "{msg}"
        );
        check_fits(
            "small",
            &MemoryEstimate::for_spec(&mlp1d(), 64).unwrap(),
            Some(8 << 30),
        )
        .unwrap();
        check_fits("unknown memory", &est, None).unwrap();
    }

    #[test]
    fn meminfo_parses() {
        let text =
            "MemTotal:       16314436 kB\nMemFree:         1000 kB\nMemAvailable:   12000000 kB\n";
        assert_eq!(parse_mem_available(text), Some(12_000_000 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 5 kB\n"), None);
    }
}
