//! Worker thread pools of exactly the requested size, shared by the native engines.

use crate::error::InferenceError;

/// A rayon pool of exactly `threads` workers named `{name}-{i}`, or `None` for one thread
/// (the caller then runs on its own thread: no pool, no hand-off cost).
pub(crate) fn worker_pool(
    threads: usize,
    name: &'static str,
) -> Result<Option<rayon::ThreadPool>, InferenceError> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map(Some)
        .map_err(|e| InferenceError::Other(format!("cannot start {threads} worker threads: {e}")))
}
