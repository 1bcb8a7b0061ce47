//! The one small trait every inference engine implements.

use joulebench_models::Tensor;

use crate::activity::Activity;
use crate::error::InferenceError;

/// An engine that runs a loaded model on batches.
///
/// Input layout is the model's: `[batch, sample…]` for non-spiking models and
/// `[T, batch, sample…]` (the already-encoded spike or analog tensor) for spiking ones —
/// see `ModelSpec::batch_input_shape`. Output: logits `[batch, classes]`.
pub trait Backend: Send {
    /// Short name as used on the command line (`tract`, `ort`, `native`, `event`, `tch`…).
    fn name(&self) -> &str;

    /// Runs one batch.
    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError>;

    /// Worker threads this backend uses for one call.
    fn threads(&self) -> usize;

    /// The engine's number format (the op-count estimate charges int8 operations and 1-byte
    /// weights for the fixed-point engine). `F32` for every f32 engine.
    fn precision(&self) -> crate::event::Precision {
        crate::event::Precision::F32
    }

    /// Activity (spikes, synaptic operations) of the last `run`, for engines that count it.
    fn activity(&self) -> Option<&Activity> {
        None
    }

    /// Waits until all device work issued so far has finished. The profiler calls it at the
    /// end of each timed latency query and before each energy window ends, so that queued GPU
    /// work is neither missed nor charged to the next window. A no-op for CPU engines (their
    /// `run` returns when the work is done).
    fn synchronize(&mut self) -> Result<(), InferenceError> {
        Ok(())
    }
}
