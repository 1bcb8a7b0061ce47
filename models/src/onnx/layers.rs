//! ONNX nodes for the stateless layers (everything but LIF): one call emits one layer for one
//! time step.

use super::builder::{attr_int, attr_ints, GraphBuilder};
use crate::error::ModelError;
use crate::spec::{Layer, Op};
use crate::weights::Weights;

/// Emits `layer` reading value `x` (per-sample shape `input_shape`, batch first) as nodes named
/// `name` (the main node) and `name/…` (helpers); returns the value holding the layer's output.
/// Weights become initializers named after the spec's parameters, shared by all time steps.
pub(crate) fn emit_layer(
    b: &mut GraphBuilder,
    layer: &Layer,
    weights: &Weights,
    x: &str,
    input_shape: &[usize],
    name: &str,
) -> Result<String, ModelError> {
    let l = &layer.name;
    let param = |b: &mut GraphBuilder, suffix: &str| -> Result<String, ModelError> {
        let pname = format!("{l}.{suffix}");
        let t = weights.get(&pname)?;
        Ok(b.init_f32(&pname, &t.shape, &t.data))
    };
    Ok(match layer.op {
        Op::Flatten => b.node("Flatten", name, &[x], vec![attr_int("axis", 1)]),
        Op::Linear { .. } => {
            let w = param(b, "weight")?;
            let bias = param(b, "bias")?;
            let attrs = vec![attr_int("transB", 1)];
            b.node("Gemm", name, &[x, &w, &bias], attrs)
        }
        Op::Conv1d {
            kernel_size,
            stride,
            padding,
            ..
        } => {
            let w = param(b, "weight")?;
            let bias = param(b, "bias")?;
            let (k, s, p) = (kernel_size as i64, stride as i64, padding as i64);
            let attrs = vec![
                attr_ints("kernel_shape", &[k]),
                attr_ints("strides", &[s]),
                attr_ints("pads", &[p, p]),
            ];
            b.node("Conv", name, &[x, &w, &bias], attrs)
        }
        Op::Conv2d {
            kernel_size,
            stride,
            padding,
            ..
        } => {
            let w = param(b, "weight")?;
            let bias = param(b, "bias")?;
            let (k, s, p) = (kernel_size as i64, stride as i64, padding as i64);
            let attrs = vec![
                attr_ints("kernel_shape", &[k, k]),
                attr_ints("strides", &[s, s]),
                attr_ints("pads", &[p, p, p, p]),
            ];
            b.node("Conv", name, &[x, &w, &bias], attrs)
        }
        Op::MaxPool1d { kernel_size } => {
            let k = kernel_size as i64;
            b.node(
                "MaxPool",
                name,
                &[x],
                vec![attr_ints("kernel_shape", &[k]), attr_ints("strides", &[k])],
            )
        }
        Op::MaxPool2d { kernel_size } => {
            let k = kernel_size as i64;
            b.node(
                "MaxPool",
                name,
                &[x],
                vec![
                    attr_ints("kernel_shape", &[k, k]),
                    attr_ints("strides", &[k, k]),
                ],
            )
        }
        Op::Relu => b.node("Relu", name, &[x], vec![]),
        Op::Tanh => b.node("Tanh", name, &[x], vec![]),
        Op::Rnn {
            input_size,
            hidden_size,
        } => emit_rnn(
            b,
            layer,
            weights,
            x,
            input_shape,
            name,
            input_size,
            hidden_size,
        )?,
        Op::Lif(_) => {
            return Err(ModelError::Invalid(format!(
                "layer `{l}`: LIF layers are emitted by the LIF writer"
            )));
        }
    })
}

/// An Elman tanh RNN, unrolled over the sequence (the ONNX `RNN` op is avoided: tract 0.23.9's
/// `RNN` gives wrong results on these graphs while ONNX Runtime agrees with libtorch).
/// `[batch, 1, H, W]` → Squeeze → `[batch, H, W]` → Transpose → `[H, batch, W]` (one image row per
/// step), or `[batch, C, L]` → Transpose → `[L, batch, C]`; then for every step `t`:
/// `h[t] = tanh(Gemm(x[t], weight_ih, bias_ih, transB) + Gemm(h[t−1], weight_hh, bias_hh, transB))`
/// (nodes `{name}/x{t}` (Gather), `{name}/ih{t}`, `{name}/hh{t}`, `{name}/sum{t}`, `{name}/h{t}`),
/// PyTorch's formula term for term, with `h[−1] = 0` (node `{name}/h_init` = `ih0 − ih0`, which has
/// the batch's shape: tract 0.23.9's declutter fails on a Gemm fed by a constant zero state
/// (`ConstantOfShape`, or `x · 0`); inputs with NaN/inf are refused before inference), so that every step, the first
/// included, does both products as a dense implementation does (the operation count equals the
/// `ModelSpec`'s). Initializers keep PyTorch's names and layouts:
/// `{layer}.weight_ih` `[hidden, input]`, `{layer}.weight_hh` `[hidden, hidden]`,
/// `{layer}.bias_ih`, `{layer}.bias_hh` `[hidden]`.
#[allow(clippy::too_many_arguments)]
fn emit_rnn(
    b: &mut GraphBuilder,
    layer: &Layer,
    weights: &Weights,
    x: &str,
    input_shape: &[usize],
    name: &str,
    input_size: usize,
    hidden_size: usize,
) -> Result<String, ModelError> {
    let l = &layer.name;
    let seq = match input_shape {
        [1, _, _] => {
            let axes = b.init_i64("const.axes_1", &[1], &[1]);
            let sq = b.node(
                "Squeeze",
                &format!("{name}/squeeze_channel"),
                &[x, &axes],
                vec![],
            );
            b.node(
                "Transpose",
                &format!("{name}/to_sequence"),
                &[&sq],
                vec![attr_ints("perm", &[1, 0, 2])],
            )
        }
        [_, _] => b.node(
            "Transpose",
            &format!("{name}/to_sequence"),
            &[x],
            vec![attr_ints("perm", &[2, 0, 1])],
        ),
        other => {
            return Err(ModelError::Shape {
                layer: l.clone(),
                input: other.to_vec(),
                what: "an RNN reads [1, H, W] or [C, L]".into(),
            })
        }
    };
    let w_ih = weights.get(&format!("{l}.weight_ih"))?;
    let w_hh = weights.get(&format!("{l}.weight_hh"))?;
    let b_ih = weights.get(&format!("{l}.bias_ih"))?;
    let b_hh = weights.get(&format!("{l}.bias_hh"))?;
    let steps = match input_shape {
        [1, h, _] => *h,
        [_, len] => *len,
        _ => unreachable!("shape checked above"),
    };
    let w = b.init_f32(
        &format!("{l}.weight_ih"),
        &[hidden_size, input_size],
        &w_ih.data,
    );
    let r = b.init_f32(
        &format!("{l}.weight_hh"),
        &[hidden_size, hidden_size],
        &w_hh.data,
    );
    let bi = b.init_f32(&format!("{l}.bias_ih"), &[hidden_size], &b_ih.data);
    let bh = b.init_f32(&format!("{l}.bias_hh"), &[hidden_size], &b_hh.data);
    let trans_b = || vec![attr_int("transB", 1)];
    let mut h = String::new();
    for t in 0..steps {
        let idx = b.init_i64(&format!("const.index_{t}"), &[], &[t as i64]);
        let x_t = b.node(
            "Gather",
            &format!("{name}/x{t}"),
            &[&seq, &idx],
            vec![attr_int("axis", 0)],
        );
        let ih = b.node(
            "Gemm",
            &format!("{name}/ih{t}"),
            &[&x_t, &w, &bi],
            trans_b(),
        );
        if t == 0 {
            // h[−1] = 0 with the batch's shape [batch, hidden]
            h = b.node("Sub", &format!("{name}/h_init"), &[&ih, &ih], vec![]);
        }
        let hh = b.node("Gemm", &format!("{name}/hh{t}"), &[&h, &r, &bh], trans_b());
        let sum = b.node("Add", &format!("{name}/sum{t}"), &[&ih, &hh], vec![]);
        h = b.node("Tanh", &format!("{name}/h{t}"), &[&sum], vec![]);
    }
    Ok(h)
}
