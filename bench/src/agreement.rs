//! Agreement of a backend with the tch reference on exactly the same inputs (the same
//! preprocessed tensor, the same spike tensor for spiking models). Shared by `eval` and `run`.

use anyhow::{bail, Context};
use joulebench_inference::{
    open_backend, registry::is_available, Backend, BackendKind, BackendOptions, ModelSource,
};
use joulebench_models::Tensor;

/// The tch reference for a run folder when the evaluated backend is not tch itself (`None`
/// then, and for ONNX files). `Some(Err(why))` when it could not be opened (e.g. built without
/// the `training` feature, which registers tch).
pub fn reference_backend(
    kind: BackendKind,
    source: &ModelSource,
    threads: usize,
    cuda: bool,
) -> Option<Result<Box<dyn Backend>, String>> {
    let is_run = matches!(source, ModelSource::Run(_));
    if kind == BackendKind::Tch || !is_run || !is_available(BackendKind::Tch) {
        return None;
    }
    let opts = BackendOptions {
        threads,
        cuda,
        ..Default::default()
    };
    Some(open_backend(BackendKind::Tch, source, &opts).map_err(|e| e.to_string()))
}

/// Why [`reference_backend`] gave no reference.
pub fn no_reference_reason(kind: BackendKind, is_run: bool) -> String {
    if kind == BackendKind::Tch {
        "the evaluated backend is the tch reference itself".into()
    } else if !is_run {
        "an ONNX file has no tch module: evaluate its run folder for the tch reference".into()
    } else {
        "built without the `training` feature: no tch reference".into()
    }
}

/// Checks `[rows, classes]` logits are finite and returns their row-wise argmax.
pub fn check_logits(logits: &Tensor, rows: usize) -> anyhow::Result<Vec<usize>> {
    if logits.shape.len() != 2 || logits.shape[0] != rows {
        bail!(
            "the model returned shape {:?}, expected [{rows}, classes]",
            logits.shape
        );
    }
    if let Some(i) = logits.data.iter().position(|v| !v.is_finite()) {
        bail!("the model returned a non-finite logit at index {i}");
    }
    Ok(logits.argmax_rows())
}

/// Running comparison of a backend's logits with the reference's, batch by batch.
#[derive(Debug, Default, Clone)]
pub struct AgreementTally {
    /// Samples compared.
    pub samples: usize,
    /// Samples whose argmax equals the reference's.
    pub agree: usize,
    /// Samples the reference classified correctly.
    pub reference_correct: usize,
    /// Largest |backend logit − reference logit| seen.
    pub max_abs_diff: f32,
}

impl AgreementTally {
    /// Runs `reference` on `input` (the very tensor the backend was given), and compares its
    /// logits with the backend's `logits` for the samples labelled `labels`.
    pub fn add(
        &mut self,
        reference: &mut dyn Backend,
        input: &Tensor,
        logits: &Tensor,
        labels: &[usize],
    ) -> anyhow::Result<()> {
        let rows = labels.len();
        let pred = check_logits(logits, rows)?;
        let rl = reference
            .run(input)
            .with_context(|| format!("{} reference", reference.name()))?;
        let rp = check_logits(&rl, rows)?;
        self.reference_correct += rp.iter().zip(labels).filter(|(p, l)| p == l).count();
        self.agree += rp.iter().zip(&pred).filter(|(a, b)| a == b).count();
        self.max_abs_diff = self.max_abs_diff.max(rl.max_abs_diff(logits)?);
        self.samples += rows;
        Ok(())
    }

    /// Fraction of compared samples whose argmax agrees (0 when none were compared).
    pub fn argmax_agreement(&self) -> f64 {
        self.agree as f64 / self.samples.max(1) as f64
    }
}
