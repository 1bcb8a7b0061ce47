//! Analytic operation counts of a [`ModelSpec`]: parameters, MACs and FLOPs per layer and in
//! total, for **one inference of one sample over all `T` time steps**.
//!
//! # Convention (also returned by [`OpCounts::convention`])
//!
//! * **MACs** (multiply–accumulates) are counted for the layers with weights, per step:
//!   - `Linear`: `in · out`;
//!   - `Conv1d`: `out_channels · L_out · in_channels · k`;
//!   - `Conv2d`: `out_channels · H_out · W_out · in_channels · k²`;
//!   - `Rnn`: `seq · hidden · (input + hidden)` (both matrix products at every step of the
//!     sequence, including the first, whose `h[−1] = 0`, as a dense implementation does).
//!
//!   Bias additions are folded into the MAC count (not counted on their own), as is customary.
//! * **FLOPs = 2 × MACs** (one multiply and one add per MAC), for Linear, Conv and RNN only.
//! * Everything else is listed separately in [`OtherOps`] and is **not** part of the FLOPs:
//!   ReLU and tanh evaluations (one per element; the RNN's tanh counts one per hidden unit per
//!   sequence step), max-pooling comparisons (`k − 1` per output element in 1-D, `k² − 1` in 2-D),
//!   and LIF membrane updates (one per neuron per time step, each made of 4 elementary ops:
//!   the `β·U` multiply, the input add, the reset subtract `S·θ` and the threshold compare).
//! * Spiking models run their whole layer stack once per step, so every count of every layer
//!   is multiplied by `T = spec.steps` (non-spiking models have `T = 1`). Dense counts: the
//!   effective (event-driven) operation counts of spiking models come from the native engine.
//! * Flatten, and the readout (mean over `T` etc.), count nothing.
//!
//! Layer names are the spec's layer names (`fc1`, `conv2`, `lif1`, …) and `kind` is one of
//! `flatten`, `linear`, `conv1d`, `conv2d`, `maxpool1d`, `maxpool2d`, `relu`, `tanh`, `rnn`,
//! `lif` — the same names the ONNX export uses for its nodes (see the `onnx` module).

use serde::Serialize;

use crate::error::ModelError;
use crate::spec::{rnn_sequence, Layer, ModelSpec, Op};

/// Operations that are not multiply–accumulates, counted apart from the FLOPs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OtherOps {
    /// ReLU evaluations (one per element per step).
    pub relu: u64,
    /// tanh evaluations: `Tanh` layers (one per element per step) and the RNN's hidden state
    /// (one per hidden unit per sequence step).
    pub tanh: u64,
    /// Max-pooling comparisons: `k − 1` per output element (1-D), `k² − 1` (2-D).
    pub pool_comparisons: u64,
    /// LIF membrane updates: one per neuron per time step.
    pub membrane_updates: u64,
    /// LIF elementary operations: 4 per membrane update (`β·U` multiply, add the input,
    /// subtract `S[t−1]·θ`, compare with `θ`).
    pub lif_ops: u64,
}

impl OtherOps {
    fn add(&mut self, o: &OtherOps) {
        self.relu += o.relu;
        self.tanh += o.tanh;
        self.pool_comparisons += o.pool_comparisons;
        self.membrane_updates += o.membrane_updates;
        self.lif_ops += o.lif_ops;
    }

    fn scaled(self, k: u64) -> OtherOps {
        OtherOps {
            relu: self.relu * k,
            tanh: self.tanh * k,
            pool_comparisons: self.pool_comparisons * k,
            membrane_updates: self.membrane_updates * k,
            lif_ops: self.lif_ops * k,
        }
    }
}

/// Counts of one layer, for one sample over all `T` steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerCounts {
    /// The spec's layer name (`fc1`, `lif2`, …).
    pub name: String,
    /// Layer kind: `flatten`, `linear`, `conv1d`, `conv2d`, `maxpool1d`, `maxpool2d`, `relu`,
    /// `tanh`, `rnn` or `lif`.
    pub kind: &'static str,
    /// Output shape of one sample at one step (no batch, no time).
    pub output_shape: Vec<usize>,
    /// Learnable parameters (weights and biases).
    pub params: u64,
    /// Multiply–accumulates over all steps (bias adds folded in).
    pub macs: u64,
    /// `2 × macs`.
    pub flops: u64,
    /// Non-MAC operations over all steps, not included in `flops`.
    pub other: OtherOps,
}

/// Operation counts of a whole model: per layer and in total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// The preset the spec came from.
    pub preset: String,
    /// Time steps `T` every per-step count was multiplied by.
    pub steps: usize,
    /// What is counted and how ([`OpCounts::convention`]).
    pub convention: String,
    pub layers: Vec<LayerCounts>,
    pub total_params: u64,
    pub total_macs: u64,
    pub total_flops: u64,
    pub total_other: OtherOps,
}

/// The kind name of a layer, as used in counts and ONNX node names.
pub fn layer_kind(op: &Op) -> &'static str {
    match op {
        Op::Flatten => "flatten",
        Op::Linear { .. } => "linear",
        Op::Conv1d { .. } => "conv1d",
        Op::Conv2d { .. } => "conv2d",
        Op::MaxPool1d { .. } => "maxpool1d",
        Op::MaxPool2d { .. } => "maxpool2d",
        Op::Relu => "relu",
        Op::Tanh => "tanh",
        Op::Rnn { .. } => "rnn",
        Op::Lif(_) => "lif",
    }
}

/// Per-step MACs and other ops of `layer` for a per-sample `input` shape with output `out`.
fn per_step(layer: &Layer, input: &[usize], out: &[usize]) -> (u64, OtherOps) {
    let numel = out.iter().product::<usize>() as u64;
    let mut other = OtherOps::default();
    let macs = match layer.op {
        Op::Flatten => 0,
        Op::Linear {
            in_features,
            out_features,
        } => (in_features * out_features) as u64,
        Op::Conv1d {
            in_channels,
            kernel_size,
            ..
        } => numel * (in_channels * kernel_size) as u64,
        Op::Conv2d {
            in_channels,
            kernel_size,
            ..
        } => numel * (in_channels * kernel_size * kernel_size) as u64,
        Op::MaxPool1d { kernel_size } => {
            other.pool_comparisons = numel * (kernel_size as u64 - 1);
            0
        }
        Op::MaxPool2d { kernel_size } => {
            other.pool_comparisons = numel * ((kernel_size * kernel_size) as u64 - 1);
            0
        }
        Op::Relu => {
            other.relu = numel;
            0
        }
        Op::Tanh => {
            other.tanh = numel;
            0
        }
        Op::Rnn {
            input_size,
            hidden_size,
        } => {
            // The spec validated the shape already; fall back to one step if it did not.
            let seq = rnn_sequence(input).map(|(s, _)| s).unwrap_or(1) as u64;
            other.tanh = seq * hidden_size as u64;
            seq * (hidden_size * (input_size + hidden_size)) as u64
        }
        Op::Lif(p) => {
            other.membrane_updates = numel;
            // decay, integrate, reset, compare; a synaptic current adds its decay and add
            other.lif_ops = if p.synapse.is_some() { 6 } else { 4 } * numel;
            0
        }
    };
    (macs, other)
}

impl OpCounts {
    /// Counts `spec` (its shapes must chain; see [`ModelSpec::layer_shapes`]).
    pub fn of(spec: &ModelSpec) -> Result<OpCounts, ModelError> {
        let shapes = spec.layer_shapes()?;
        let t = spec.steps as u64;
        let mut layers = Vec::with_capacity(spec.layers.len());
        let mut input = spec.input_shape.clone();
        for (layer, out) in spec.layers.iter().zip(shapes) {
            let (macs, other) = per_step(layer, &input, &out);
            let params = layer
                .parameters_for(&input)
                .iter()
                .map(|p| p.numel() as u64)
                .sum();
            layers.push(LayerCounts {
                name: layer.name.clone(),
                kind: layer_kind(&layer.op),
                output_shape: out.clone(),
                params,
                macs: macs * t,
                flops: 2 * macs * t,
                other: other.scaled(t),
            });
            input = out;
        }
        let mut total_other = OtherOps::default();
        for l in &layers {
            total_other.add(&l.other);
        }
        Ok(OpCounts {
            preset: spec.preset.clone(),
            steps: spec.steps,
            convention: Self::convention().to_string(),
            total_params: layers.iter().map(|l| l.params).sum(),
            total_macs: layers.iter().map(|l| l.macs).sum(),
            total_flops: layers.iter().map(|l| l.flops).sum(),
            total_other,
            layers,
        })
    }

    /// The counting convention, in one paragraph (printed with every count).
    pub fn convention() -> &'static str {
        "Counts are per inference of one sample over all T time steps (every per-step count × T). \
         MACs: Linear in·out; Conv out_elements·in_channels·kernel_elements; RNN seq·hidden·(input+hidden); \
         bias additions are folded into the MACs. FLOPs = 2 × MACs (Linear, Conv, RNN only). \
         Not in FLOPs, listed separately: ReLU and tanh evaluations (one per element; RNN one tanh per \
         hidden unit per sequence step), max-pool comparisons (k−1 per output in 1-D, k²−1 in 2-D), \
         LIF membrane updates (one per neuron per step, each 4 ops: β·U multiply, input add, reset \
         subtract, threshold compare). Dense counts: spikes' sparsity is not taken into account."
    }

    /// The counts of the layer called `name`.
    pub fn layer(&self, name: &str) -> Option<&LayerCounts> {
        self.layers.iter().find(|l| l.name == name)
    }
}

impl ModelSpec {
    /// Analytic operation counts of this model ([`OpCounts::of`]).
    pub fn op_counts(&self) -> Result<OpCounts, ModelError> {
        OpCounts::of(self)
    }
}
