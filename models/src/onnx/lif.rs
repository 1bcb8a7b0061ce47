//! ONNX nodes for one time step of a LIF layer, exactly [`LifParams`]' semantics:
//!
//! ```text
//! U[t] = β·U[t−1] + I[t] − S[t−1]·θ        S[t] = float(U[t] > θ)        U[−1] = S[−1] = 0
//! ```
//!
//! Nodes for step `t` of layer `L` (prefix `P = "L/tT"`):
//!
//! | node           | op      | computes            |
//! |----------------|---------|---------------------|
//! | `P/decay`      | Mul     | `β·U[t−1]`          |
//! | `P/integrate`  | Add     | `β·U[t−1] + I[t]`   |
//! | `P/reset`      | Mul     | `S[t−1]·θ`          |
//! | `P/mem`        | Sub     | `U[t]`              |
//! | `P/fire`       | Greater | `U[t] > θ`          |
//! | `P`            | Cast    | `S[t]` (float 0/1)  |
//!
//! At `t = 0` the state is zero, so `U[0] = I[0]` exactly and only `P/fire` and `P` are
//! emitted (the decay/reset nodes would compute `0·β` and `0·θ`). `β` (clamped to `[0, 1]`)
//! and `θ` are scalar initializers `L.beta` and `L.threshold`. Operation counts
//! ([`crate::counts`]) count 4 ops per neuron for every step, as a dense engine does.

use super::builder::{attr_int, GraphBuilder};
use super::proto::tensor_proto::DataType;
use crate::spec::LifParams;

/// The values of a LIF layer after one step.
#[derive(Debug, Clone)]
pub(crate) struct LifStep {
    /// `U[t]`.
    pub mem: String,
    /// `S[t]`.
    pub spk: String,
}

/// Emits step `t` of LIF layer `layer` with input current `input`; `prev` is step `t−1`'s
/// values (`None` at `t = 0`).
pub(crate) fn emit_lif_step(
    b: &mut GraphBuilder,
    layer: &str,
    p: &LifParams,
    input: &str,
    prev: Option<&LifStep>,
    name: &str,
) -> LifStep {
    let beta = b.init_f32(&format!("{layer}.beta"), &[], &[p.beta_clamped()]);
    let theta = b.init_f32(&format!("{layer}.threshold"), &[], &[p.threshold]);
    let mem = match prev {
        None => input.to_string(),
        Some(prev) => {
            let decay = b.node("Mul", &format!("{name}/decay"), &[&prev.mem, &beta], vec![]);
            let integ = b.node(
                "Add",
                &format!("{name}/integrate"),
                &[&decay, input],
                vec![],
            );
            let reset = b.node(
                "Mul",
                &format!("{name}/reset"),
                &[&prev.spk, &theta],
                vec![],
            );
            b.node("Sub", &format!("{name}/mem"), &[&integ, &reset], vec![])
        }
    };
    let fire = b.node("Greater", &format!("{name}/fire"), &[&mem, &theta], vec![]);
    let spk = b.node(
        "Cast",
        name,
        &[&fire],
        vec![attr_int("to", DataType::Float as i64)],
    );
    LifStep { mem, spk }
}
