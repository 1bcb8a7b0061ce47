//! What a spiking engine counts while it runs (NeuroBench definitions).

use serde::{Deserialize, Serialize};

/// Activity of one layer, summed over the batch of the last run and over all time steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerActivity {
    pub name: String,
    /// Neurons (elements) whose output this layer produces per step.
    pub neurons: usize,
    /// Spikes emitted (LIF layers) or non-zero outputs (other layers), per time step,
    /// summed over the batch. Length = T.
    pub spikes_per_step: Vec<u64>,
    /// Fraction of zeros in this layer's *input* over all steps and samples (activation sparsity).
    pub input_sparsity: f64,
    /// Whether this layer ran event-driven (input spikes as events) or densely (analog input).
    pub event_driven: bool,
    /// Effective synaptic operations: accumulates (ACs) done for event-driven layers,
    /// multiply-accumulates actually needed (non-zero inputs) for dense ones.
    pub effective_ops: u64,
    /// The synaptic operations the engine performed: `effective_ops`, less those a baseline
    /// of frequent inputs saved (the event engine's layer-by-layer path; see
    /// `EventEngine::set_baseline`). Not a NeuroBench count: an implementation's cost.
    #[serde(default)]
    pub performed_ops: u64,
    /// MACs the same layer needs when run densely over all steps.
    pub dense_macs: u64,
    /// Membrane updates (LIF layers): neurons × steps × batch.
    pub membrane_updates: u64,
}

/// Activity of one `run` call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub batch: usize,
    pub steps: usize,
    pub layers: Vec<LayerActivity>,
    /// Weight bytes and state (membrane) bytes the engine holds.
    pub weight_bytes: usize,
    pub state_bytes: usize,
    /// Optional raster of the first sample: per LIF layer, per step, indices that spiked.
    pub raster: Option<Vec<Vec<Vec<u32>>>>,
}

impl Activity {
    pub fn total_effective_ops(&self) -> u64 {
        self.layers.iter().map(|l| l.effective_ops).sum()
    }
    pub fn total_dense_macs(&self) -> u64 {
        self.layers.iter().map(|l| l.dense_macs).sum()
    }
    /// Effective accumulates (NeuroBench `Eff_ACs`): effective operations of event-driven layers.
    pub fn effective_acs(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| l.event_driven)
            .map(|l| l.effective_ops)
            .sum()
    }
    /// Effective multiply-accumulates (NeuroBench `Eff_MACs`): those of layers with analog input.
    pub fn effective_macs(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| !l.event_driven)
            .map(|l| l.effective_ops)
            .sum()
    }
    /// Spikes emitted by all LIF layers (layers with membrane updates), all steps and samples.
    pub fn total_spikes(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| l.membrane_updates > 0)
            .flat_map(|l| l.spikes_per_step.iter())
            .sum()
    }
    /// NeuroBench activation sparsity: the fraction of LIF neuron outputs (all LIF layers,
    /// steps and samples) that are zero, `1 − spikes / membrane updates`; 0 without LIF layers.
    pub fn activation_sparsity(&self) -> f64 {
        let updates: u64 = self.layers.iter().map(|l| l.membrane_updates).sum();
        if updates == 0 {
            return 0.0;
        }
        1.0 - self.total_spikes() as f64 / updates as f64
    }
}
