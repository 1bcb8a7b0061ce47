//! ONNX nodes for one time step of a LIF layer, exactly [`LifParams`]' semantics:
//!
//! ```text
//! subtract: U[t] = β·U[t−1] + I[t] − S[t−1]·θ
//! to:       U[t] = β·(S[t−1] ? v_reset : U[t−1]) + I[t]
//! none:     U[t] = β·U[t−1] + I[t]
//! S[t] = float(U[t] > θ)        U[−1] = S[−1] = 0
//! ```
//!
//! Nodes for step `t` of layer `L` (prefix `P = "L/tT"`):
//!
//! | node           | op      | computes                                  | reset      |
//! |----------------|---------|-------------------------------------------|------------|
//! | `P/held`       | Where   | `S[t−1] ? v_reset : U[t−1]`               | to         |
//! | `P/decay`      | Mul     | `β·U[t−1]` (`to`: `β·held`)               | all        |
//! | `P/integrate`  | Add     | `decay + I[t]` (= `U[t]` unless subtract) | all        |
//! | `P/reset`      | Mul     | `S[t−1]·θ`                                | subtract   |
//! | `P/mem`        | Sub     | `U[t]`                                    | subtract   |
//! | `P/fire`       | Greater | `U[t] > θ`                                | all        |
//! | `P`            | Cast    | `S[t]` (float 0/1)                        | all        |
//!
//! A current-based layer (`LifParams::synapse`) first filters its input, and the table above
//! reads `J[t]` for `I[t]`:
//!
//! | node            | op  | computes                    |
//! |-----------------|-----|-----------------------------|
//! | `P/syn_decay`   | Mul | `α·J[t−1]`                  |
//! | `P/syn`         | Add | `J[t] = syn_decay + I[t]`   |
//!
//! (`J[0] = I[0]`; `α` is the initializer `L.alpha`.)
//!
//! At `t = 0` the state is zero, so `U[0] = I[0]` exactly and only `P/fire` and `P` are
//! emitted (the decay/reset nodes would compute `0·β` and `0·θ`). `β` (clamped to `[0, 1]`),
//! `θ` and `v_reset` are initializers `L.beta`, `L.threshold` and `L.v_reset`: scalars, or for
//! a per-neuron layer tensors of the layer's per-sample shape (they broadcast over the batch),
//! holding the weights' `[neurons]` vectors in the same order. Operation counts
//! ([`crate::counts`]) count 4 ops per neuron for every step, as a dense engine does.

use super::builder::{attr_int, GraphBuilder};
use super::proto::tensor_proto::DataType;
use crate::neurons::LifNeurons;
use crate::spec::{LifParams, Reset};

/// The values of a LIF layer after one step.
#[derive(Debug, Clone)]
pub(crate) struct LifStep {
    /// `U[t]`.
    pub mem: String,
    /// `S[t]`.
    pub spk: String,
    /// `U[t] > θ` (bool).
    pub fire: String,
    /// `J[t]`, the synaptic current of a current-based layer (else the input `I[t]`).
    pub syn: String,
}

/// Emits step `t` of LIF layer `layer` (neurons `n` resolved from `p` and the weights, per-sample
/// shape `shape`) with input current `input`; `prev` is step `t−1`'s values (`None` at `t = 0`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_lif_step(
    b: &mut GraphBuilder,
    layer: &str,
    p: &LifParams,
    n: &LifNeurons,
    shape: &[usize],
    input: &str,
    prev: Option<&LifStep>,
    name: &str,
) -> LifStep {
    let mut init = |suffix: &str, v: &[f32]| {
        let name = format!("{layer}.{suffix}");
        if p.per_neuron {
            b.init_f32(&name, shape, v)
        } else {
            b.init_f32(&name, &[], &v[..1])
        }
    };
    let beta = init("beta", &n.beta);
    let theta = init("threshold", &n.threshold);
    let v_reset = match p.reset {
        Reset::To { .. } => Some(init("v_reset", &n.v_reset)),
        _ => None,
    };
    let alpha = p.synapse.is_some().then(|| init("alpha", &n.alpha));
    let syn = match (&alpha, prev) {
        (Some(a), Some(prev)) => {
            let decay = b.node("Mul", &format!("{name}/syn_decay"), &[&prev.syn, a], vec![]);
            b.node("Add", &format!("{name}/syn"), &[&decay, input], vec![])
        }
        _ => input.to_string(),
    };
    let input = syn.as_str();
    let mem = match prev {
        None => input.to_string(),
        Some(prev) => {
            let held = match &v_reset {
                Some(v) => b.node(
                    "Where",
                    &format!("{name}/held"),
                    &[&prev.fire, v, &prev.mem],
                    vec![],
                ),
                None => prev.mem.clone(),
            };
            let decay = b.node("Mul", &format!("{name}/decay"), &[&held, &beta], vec![]);
            let integ = b.node(
                "Add",
                &format!("{name}/integrate"),
                &[&decay, input],
                vec![],
            );
            match p.reset {
                Reset::Subtract => {
                    let reset = b.node(
                        "Mul",
                        &format!("{name}/reset"),
                        &[&prev.spk, &theta],
                        vec![],
                    );
                    b.node("Sub", &format!("{name}/mem"), &[&integ, &reset], vec![])
                }
                Reset::To { .. } | Reset::None => integ,
            }
        }
    };
    let fire = b.node("Greater", &format!("{name}/fire"), &[&mem, &theta], vec![]);
    let spk = b.node(
        "Cast",
        name,
        &[&fire],
        vec![attr_int("to", DataType::Float as i64)],
    );
    LifStep {
        mem,
        spk,
        fire,
        syn,
    }
}
