//! Operation counts of one inference of one sample: parameters, MACs, FLOPs and the other ops.
//!
//! Convention (stated in every output): one MAC is one multiply plus one add; **FLOPs = 2 × MACs**
//! for Linear/Gemm/MatMul, Conv and recurrent layers (bias additions are folded into this
//! convention, not counted again). ReLU, Tanh and pooling comparisons are *not* FLOPs here; they
//! are listed separately as `other_ops`. LIF layers report membrane updates (one per neuron per
//! step) in `other_ops`. Spiking models run their layer stack once per time step, so their
//! per-inference counts are per-step counts × `T`.

use serde::{Deserialize, Serialize};

/// The FLOPs convention, as printed and stored with every count.
pub const FLOPS_CONVENTION: &str =
    "FLOPs = 2 x MACs for Linear/Gemm/MatMul, Conv and RNN layers (bias adds folded in); \
ReLU/Tanh/pooling comparisons and LIF membrane updates are listed separately as other_ops, not as FLOPs";

/// Counts of one layer (or ONNX node) as a profile stores them, per sample, summed over all time
/// steps. Unlike the models crate's per-kind [`joulebench_models::LayerCounts`], the non-MAC
/// operations are one number (`other_ops`), and ONNX graphs are counted too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileLayerCounts {
    pub name: String,
    /// Layer kind (`linear`, `conv2d`, `rnn`, `lif`, `relu`, `maxpool2d`…; ONNX op type for graphs).
    pub op: String,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    /// Element-wise ops that are not MACs: activations, pooling comparisons, LIF updates.
    pub other_ops: u64,
    /// LIF membrane updates (part of `other_ops`; one per neuron per step).
    #[serde(default)]
    pub membrane_updates: u64,
    /// Elements this layer outputs, all steps (activation traffic for the estimate).
    #[serde(default)]
    pub output_elements: u64,
    /// Output shape of one sample at one step (no batch, no time).
    #[serde(default)]
    pub output_shape: Vec<usize>,
    /// This layer's MACs ÷ the model's (0 when the model has none).
    #[serde(default)]
    pub share_of_macs: f64,
}

/// Counts of a whole model for one sample (one inference), all time steps included, as a profile
/// stores them and the energy estimate reads them: from a `ModelSpec` ([`spec_counts`], out of
/// the models crate's analytic [`joulebench_models::OpCounts`]) or an ONNX graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileCounts {
    /// Where they come from: `model_spec` (analytic) or `onnx_graph` (inferred shapes).
    pub source: String,
    pub convention: String,
    /// Time steps `T` the counts include (1 for non-spiking models).
    pub steps: usize,
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    pub other_ops: u64,
    /// LIF membrane updates (part of `other_ops`).
    #[serde(default)]
    pub membrane_updates: u64,
    /// Activation elements: network input plus every layer's output, all steps.
    #[serde(default)]
    pub activations: u64,
    pub layers: Vec<ProfileLayerCounts>,
}

impl ProfileCounts {
    /// Builds totals from per-layer counts; `input_elements` = network input elements (all steps).
    pub fn from_layers(
        source: &str,
        steps: usize,
        input_elements: u64,
        mut layers: Vec<ProfileLayerCounts>,
    ) -> Self {
        let total: u64 = layers.iter().map(|l| l.macs).sum();
        for l in &mut layers {
            l.share_of_macs = if total > 0 {
                l.macs as f64 / total as f64
            } else {
                0.0
            };
        }
        ProfileCounts {
            membrane_updates: layers.iter().map(|l| l.membrane_updates).sum(),
            activations: input_elements + layers.iter().map(|l| l.output_elements).sum::<u64>(),
            source: source.to_string(),
            convention: FLOPS_CONVENTION.to_string(),
            steps,
            params: layers.iter().map(|l| l.params).sum(),
            macs: layers.iter().map(|l| l.macs).sum(),
            flops: layers.iter().map(|l| l.flops).sum(),
            other_ops: layers.iter().map(|l| l.other_ops).sum(),
            layers,
        }
    }
}

/// Analytic counts of a `ModelSpec` ([`joulebench_models::OpCounts::of`]) in a profile's form.
/// `other_ops` = ReLU + tanh + pooling comparisons + LIF membrane updates (one op per update).
pub fn spec_counts(
    spec: &joulebench_models::ModelSpec,
) -> Result<ProfileCounts, joulebench_models::ModelError> {
    let c = joulebench_models::OpCounts::of(spec)?;
    let t = spec.steps as u64;
    let layers = c
        .layers
        .iter()
        .map(|l| ProfileLayerCounts {
            name: l.name.clone(),
            op: l.kind.to_string(),
            params: l.params,
            macs: l.macs,
            flops: l.flops,
            other_ops: l.other.relu
                + l.other.tanh
                + l.other.pool_comparisons
                + l.other.membrane_updates,
            membrane_updates: l.other.membrane_updates,
            output_elements: l.output_shape.iter().product::<usize>() as u64 * t,
            output_shape: l.output_shape.clone(),
            share_of_macs: 0.0,
        })
        .collect();
    let input = spec.input_shape.iter().product::<usize>() as u64 * t;
    Ok(ProfileCounts::from_layers(
        "model_spec",
        spec.steps,
        input,
        layers,
    ))
}

/// Activity of a spiking engine, averaged per sample over the profiled inputs, as a profile
/// stores it and the energy estimate reads it (the report's per-layer view of a run's activity
/// is `joulebench_report::SpikingActivity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfiledActivity {
    /// Samples the averages are over.
    pub samples: u64,
    pub steps: usize,
    /// Effective synaptic operations per sample: ACs for event-driven layers plus the MACs dense
    /// layers actually needed (NeuroBench definition, as counted by the engine).
    pub effective_ops_per_sample: f64,
    /// Accumulates of event-driven layers only, per sample.
    pub effective_acs_per_sample: f64,
    /// MACs of non-event-driven layers (analog input) actually needed, per sample.
    pub effective_macs_per_sample: f64,
    /// Synaptic operations the engine actually performed per sample: the effective ones less
    /// those the event engine's baseline of frequent inputs saved (an implementation's cost,
    /// not a NeuroBench count; equal to `effective_ops_per_sample` for other engines).
    #[serde(default)]
    pub performed_ops_per_sample: f64,
    /// MACs the same layers need when run densely, per sample.
    pub dense_macs_per_sample: f64,
    /// Membrane updates per sample.
    pub membrane_updates_per_sample: f64,
    /// Per layer: name, mean input sparsity (fraction of zeros), spikes per sample.
    pub layers: Vec<LayerSparsity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSparsity {
    pub name: String,
    /// Fraction of zeros in the layer's input, all steps and samples.
    pub input_sparsity: f64,
    /// Spikes (LIF layers) or non-zero outputs (other layers) per sample, all steps.
    pub spikes_per_sample: f64,
    pub event_driven: bool,
}

/// Accumulates `Activity` of several runs into per-sample averages.
#[derive(Debug, Default)]
pub struct ActivityAccumulator {
    samples: u64,
    steps: usize,
    eff_ops: f64,
    eff_acs: f64,
    eff_macs: f64,
    performed: f64,
    dense: f64,
    membrane: f64,
    /// name → (sum of sparsity × batch, spikes, event_driven)
    layers: Vec<(String, f64, f64, bool)>,
}

impl ActivityAccumulator {
    pub fn add(&mut self, a: &joulebench_inference::Activity) {
        let b = a.batch.max(1) as f64;
        self.samples += a.batch as u64;
        self.steps = a.steps;
        for l in &a.layers {
            self.eff_ops += l.effective_ops as f64;
            if l.event_driven {
                self.eff_acs += l.effective_ops as f64;
            } else {
                self.eff_macs += l.effective_ops as f64;
            }
            self.performed += l.performed_ops as f64;
            self.dense += l.dense_macs as f64;
            self.membrane += l.membrane_updates as f64;
            let spikes: u64 = l.spikes_per_step.iter().sum();
            match self.layers.iter_mut().find(|x| x.0 == l.name) {
                Some(x) => {
                    x.1 += l.input_sparsity * b;
                    x.2 += spikes as f64;
                }
                None => self.layers.push((
                    l.name.clone(),
                    l.input_sparsity * b,
                    spikes as f64,
                    l.event_driven,
                )),
            }
        }
    }

    /// Per-sample averages; `None` when nothing was added.
    pub fn finish(&self) -> Option<ProfiledActivity> {
        if self.samples == 0 {
            return None;
        }
        let n = self.samples as f64;
        Some(ProfiledActivity {
            samples: self.samples,
            steps: self.steps,
            effective_ops_per_sample: self.eff_ops / n,
            effective_acs_per_sample: self.eff_acs / n,
            effective_macs_per_sample: self.eff_macs / n,
            performed_ops_per_sample: self.performed / n,
            dense_macs_per_sample: self.dense / n,
            membrane_updates_per_sample: self.membrane / n,
            layers: self
                .layers
                .iter()
                .map(|(name, sp, spikes, ev)| LayerSparsity {
                    name: name.clone(),
                    input_sparsity: sp / n,
                    spikes_per_sample: spikes / n,
                    event_driven: *ev,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use joulebench_inference::{Activity, LayerActivity};

    #[test]
    fn activity_is_averaged_per_sample() {
        let layer = |ops, sparsity, spikes: Vec<u64>| LayerActivity {
            name: "fc1".into(),
            neurons: 4,
            spikes_per_step: spikes,
            input_sparsity: sparsity,
            event_driven: true,
            effective_ops: ops,
            performed_ops: ops / 2,
            dense_macs: 800,
            membrane_updates: 40,
        };
        let mut acc = ActivityAccumulator::default();
        acc.add(&Activity {
            batch: 2,
            steps: 5,
            layers: vec![layer(100, 0.5, vec![1, 2])],
            ..Default::default()
        });
        acc.add(&Activity {
            batch: 6,
            steps: 5,
            layers: vec![layer(300, 0.9, vec![4])],
            ..Default::default()
        });
        let s = acc.finish().unwrap();
        assert_eq!(s.samples, 8);
        assert!((s.effective_ops_per_sample - 50.0).abs() < 1e-12);
        assert!((s.effective_acs_per_sample - 50.0).abs() < 1e-12);
        assert!((s.performed_ops_per_sample - 25.0).abs() < 1e-12);
        assert!((s.dense_macs_per_sample - 200.0).abs() < 1e-12);
        // sparsity weighted by batch: (0.5·2 + 0.9·6) / 8 = 0.8
        assert!((s.layers[0].input_sparsity - 0.8).abs() < 1e-12);
        assert!((s.layers[0].spikes_per_sample - 7.0 / 8.0).abs() < 1e-12);
        assert!(ActivityAccumulator::default().finish().is_none());
    }
}
