//! Refusing a batch that would not fit in memory before any backend allocates it
//! (`joulebench_models::memory`; `JOULEBENCH_SKIP_MEMORY_CHECK=1` turns it off).

use std::path::Path;

use joulebench_models::memory::{check_fits_here, MemoryEstimate};
use joulebench_models::ModelSpec;

/// Errors when one backend call of `batch` samples of this model would need more memory than
/// is available. The model is a spec, or else a model file of `sample_shape` inputs.
pub fn refuse_if_too_big(
    spec: Option<&ModelSpec>,
    file: Option<&Path>,
    sample_shape: &[usize],
    batch: usize,
) -> anyhow::Result<()> {
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
    check_fits_here(&format!("{name} at batch {batch}"), &est)?;
    Ok(())
}
