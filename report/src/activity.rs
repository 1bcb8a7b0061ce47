//! Spiking activity per inference, as the report shows it (NeuroBench definitions). The CLI
//! builds it from the event-driven engine's `joulebench_inference::Activity` (this crate does
//! not depend on the engines). The profiler's per-sample totals that feed the energy estimate
//! are a different type, `joulebench_profiler::ProfiledActivity`.

use serde::{Deserialize, Serialize};

/// Activity averaged per inference (one sample) over `samples` profiled samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpikingActivity {
    /// Samples the averages are taken over.
    pub samples: usize,
    pub steps: usize,
    pub layers: Vec<LayerSpiking>,
    /// Spikes of one sample, per LIF layer.
    #[serde(default)]
    pub raster: Vec<RasterLayer>,
}

/// One layer's activity per inference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerSpiking {
    pub name: String,
    pub neurons: usize,
    /// Fraction of zeros in the layer's input over all steps and samples.
    pub input_sparsity: f64,
    /// Spikes (or non-zero outputs) per inference, all steps.
    pub spikes: f64,
    pub event_driven: bool,
    /// Effective synaptic operations per inference (ACs for event-driven layers).
    pub effective_ops: f64,
    /// MACs per inference of the same layer run densely.
    pub dense_macs: f64,
}

/// Which neurons of one layer spiked at each step, for one sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RasterLayer {
    pub layer: String,
    pub neurons: usize,
    /// `spikes[t]` = indices that spiked at step `t`.
    pub spikes: Vec<Vec<u32>>,
}

impl SpikingActivity {
    pub fn total_effective_ops(&self) -> f64 {
        self.layers.iter().map(|l| l.effective_ops).sum()
    }

    pub fn total_dense_macs(&self) -> f64 {
        self.layers.iter().map(|l| l.dense_macs).sum()
    }
}
