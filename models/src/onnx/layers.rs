//! ONNX nodes for the stateless layers (everything but LIF): one call emits one layer for one
//! time step.

use tract_onnx::pb;

use super::builder::{attr_int, attr_ints, attr_strings, GraphBuilder};
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

/// The ONNX `RNN` op (tanh, forward, zero initial state) between two reshapes:
/// `[batch, 1, H, W]` → Squeeze → `[batch, H, W]` → Transpose → `[H, batch, W]` (one image row per
/// step), or `[batch, C, L]` → Transpose → `[L, batch, C]`; then `RNN` (output `Y_h`,
/// `[1, batch, hidden]`) → Squeeze → `[batch, hidden]`. The zero initial state is passed
/// explicitly (`Shape` → `Concat` → `ConstantOfShape`, nodes `{name}/batch_size`, `/h0_shape`,
/// `/h0`), since tract cannot build its implicit one for a symbolic batch.
/// Initializers, in ONNX layouts: `{layer}.weight_ih` `[1, hidden, input]`, `{layer}.weight_hh`
/// `[1, hidden, hidden]` (PyTorch's tensors with a leading direction axis) and
/// `{layer}.bias_ih_hh` `[1, 2·hidden]` = concat(`bias_ih`, `bias_hh`).
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
    let w = b.init_f32(
        &format!("{l}.weight_ih"),
        &[1, hidden_size, input_size],
        &w_ih.data,
    );
    let r = b.init_f32(
        &format!("{l}.weight_hh"),
        &[1, hidden_size, hidden_size],
        &w_hh.data,
    );
    let bias: Vec<f32> = b_ih.data.iter().chain(&b_hh.data).copied().collect();
    let bias = b.init_f32(&format!("{l}.bias_ih_hh"), &[1, 2 * hidden_size], &bias);
    // Zero initial state [1, batch, hidden], built from the input's batch size: tract needs
    // `initial_h` given explicitly when the batch dimension is symbolic.
    let batch = b.node(
        "Shape",
        &format!("{name}/batch_size"),
        &[&seq],
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let one = b.init_i64("const.one", &[1], &[1]);
    let hidden = b.init_i64(
        &format!("const.dim_{hidden_size}"),
        &[1],
        &[hidden_size as i64],
    );
    let h0_shape = b.node(
        "Concat",
        &format!("{name}/h0_shape"),
        &[&one, &batch, &hidden],
        vec![attr_int("axis", 0)],
    );
    let zero = pb::TensorProto {
        dims: vec![1],
        data_type: pb::tensor_proto::DataType::Float as i32,
        raw_data: 0f32.to_le_bytes().to_vec(),
        ..Default::default()
    };
    let value = pb::AttributeProto {
        name: "value".into(),
        r#type: pb::attribute_proto::AttributeType::Tensor as i32,
        t: Some(zero),
        ..Default::default()
    };
    let h0 = b.node(
        "ConstantOfShape",
        &format!("{name}/h0"),
        &[&h0_shape],
        vec![value],
    );
    let y_h = format!("{name}/y_h");
    let attrs: Vec<pb::AttributeProto> = vec![
        attr_int("hidden_size", hidden_size as i64),
        attr_strings("activations", &["Tanh"]),
    ];
    b.node_outputs(
        "RNN",
        name,
        &[&seq, &w, &r, &bias, "", &h0],
        &["", &y_h],
        attrs,
    );
    let axes0 = b.init_i64("const.axes_0", &[1], &[0]);
    Ok(b.node(
        "Squeeze",
        &format!("{name}/last_state"),
        &[&y_h, &axes0],
        vec![],
    ))
}
