//! The ONNX writer: a [`ModelSpec`] plus its [`Weights`] → an ONNX model (opset
//! [`OPSET`], IR version [`IR_VERSION`]), with no libtorch involved.
//!
//! # The graph
//!
//! * One input called `input`, float32:
//!   - non-spiking models: `[batch, input_shape…]`;
//!   - spiking models (any LIF layer): `[T, batch, input_shape…]` with `T = spec.steps` fixed —
//!     the per-step network input (the spike tensor for rate/Poisson encodings, the analog
//!     sample for `T = 1` single-step presets). The spike encoder stays outside the graph.
//!
//!   `batch` is symbolic (`dim_param = "batch"`). Preprocessing (input transform, normalization)
//!   stays outside too: the input is what layer 0 reads ([`ModelSpec::batch_input_shape`]).
//! * One output called `logits`, float32 `[batch, num_classes]`.
//! * Weights are initializers named as in the spec (`fc1.weight`, `conv2.bias`, …) with PyTorch
//!   layouts (the RNN's too: `{L}.weight_ih`, `{L}.weight_hh`, `{L}.bias_ih`, `{L}.bias_hh`).
//!   LIF layers add `{L}.beta` (clamped), `{L}.threshold` and, resetting to a value,
//!   `{L}.v_reset`: scalars, or per-neuron tensors of the layer's per-sample shape.
//! * Layers map to ops: Flatten → `Flatten(axis=1)`; Linear → `Gemm(transB=1)`; Conv1d/Conv2d →
//!   `Conv`; MaxPool1d/2d → `MaxPool` (stride = kernel); ReLU → `Relu`; Tanh → `Tanh`; RNN → unrolled
//!   over the sequence (Gather, two `Gemm`s, `Add`, `Tanh` per step; see `layers.rs` for why not
//!   the ONNX `RNN` op); LIF →
//!   `Mul, Add, Mul, Sub, Greater, Cast` per step (reset to a value: `Where, Mul, Add, Greater,
//!   Cast`; no reset: `Mul, Add, Greater, Cast`; see the `lif` module).
//! * Spiking models are **unrolled over T**: step `t` takes `Gather(input, t, axis=0)` (node
//!   `input/t{t}`), runs the whole layer stack, LIF layers carrying `U` and `S` from step to step.
//!   The readout then follows `spec.readout`: `Output` → the last layer's output (ONNX `Mean`
//!   over the T steps when `T > 1`); `MembraneMean` → `Mean` of the last LIF's `U[t]`;
//!   `MembraneLast` → `U[T−1]`; `SpikeCount` → `Sum` of the last LIF's `S[t]`. The readout node
//!   is called `readout`.
//! * Node names: non-spiking models name a layer's main node after the layer (`fc1`); spiking
//!   models use `{layer}/t{t}` for step `t`. Helper nodes append `/…` (`rnn/to_sequence`,
//!   `lif1/t3/decay`). Nodes whose results nothing reads (the last step's spikes under a
//!   membrane readout) are pruned.
//! * `metadata_props`: `joulebench.spec` (the spec as JSON), `joulebench.input` (a sentence on
//!   the input layout), `joulebench.producer_version`, plus the caller's pairs (training
//!   metadata).
//!
//! The protobuf messages are the project's own ([`proto`]), shared with the ONNX checks and
//! counts in `inference` and `profiler`.

mod builder;
mod layers;
mod lif;
pub mod proto;

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;

use crate::atomic::write_atomic;
use crate::error::ModelError;
use crate::neurons::LifNeurons;
use crate::spec::{ModelSpec, Op, Readout};
use crate::weights::Weights;
use builder::{value_info, Dim, GraphBuilder};
use lif::{emit_lif_step, LifStep};

/// The default-domain opset the export targets.
pub const OPSET: i64 = 17;
/// The ONNX IR version that goes with [`OPSET`] (ONNX 1.12).
pub const IR_VERSION: i64 = 8;
/// Name of the graph input.
pub const INPUT_NAME: &str = "input";
/// Name of the graph output.
pub const OUTPUT_NAME: &str = "logits";
/// Metadata key holding the spec JSON.
pub const SPEC_KEY: &str = "joulebench.spec";

/// Builds the ONNX model of `spec` with `weights` and returns its protobuf bytes.
///
/// `metadata` pairs are added to `metadata_props` after the writer's own (`joulebench.spec`,
/// …); a caller key equal to one of those is an error. Errors (never panics) on an invalid
/// spec, missing weights, weights of the wrong shape or non-finite weights.
pub fn export_onnx(
    spec: &ModelSpec,
    weights: &Weights,
    metadata: &[(String, String)],
) -> Result<Vec<u8>, ModelError> {
    Ok(build_model(spec, weights, metadata)?.encode_to_vec())
}

/// [`export_onnx`] written atomically to `path` (temp file + rename).
pub fn write_onnx(
    path: &Path,
    spec: &ModelSpec,
    weights: &Weights,
    metadata: &[(String, String)],
) -> Result<(), ModelError> {
    let bytes = export_onnx(spec, weights, metadata)?;
    write_atomic(path, &bytes)
}

/// The ONNX `ModelProto` of `spec` with `weights` (what [`export_onnx`] encodes).
pub fn build_model(
    spec: &ModelSpec,
    weights: &Weights,
    metadata: &[(String, String)],
) -> Result<proto::ModelProto, ModelError> {
    spec.validate()?;
    weights.check_against(spec)?;
    let shapes = spec.layer_shapes()?;
    let mut b = GraphBuilder::default();

    let final_value = if !spec.is_spiking() {
        let mut x = INPUT_NAME.to_string();
        let mut shape = spec.input_shape.clone();
        for (layer, out) in spec.layers.iter().zip(&shapes) {
            x = layers::emit_layer(&mut b, layer, weights, &x, &shape, &layer.name)?;
            shape = out.clone();
        }
        x
    } else {
        let last_lif = spec.layers.iter().rposition(|l| matches!(l.op, Op::Lif(_)));
        let mut in_shape = spec.input_shape.clone();
        let mut neurons = Vec::with_capacity(spec.layers.len());
        for (layer, out) in spec.layers.iter().zip(&shapes) {
            neurons.push(match &layer.op {
                Op::Lif(p) => Some(LifNeurons::resolve(
                    &layer.name,
                    p,
                    weights,
                    in_shape.iter().product(),
                )?),
                _ => None,
            });
            in_shape = out.clone();
        }
        let mut state: Vec<Option<LifStep>> = vec![None; spec.layers.len()];
        let (mut outputs, mut mems, mut spks) = (vec![], vec![], vec![]);
        for t in 0..spec.steps {
            let idx = b.init_i64(&format!("const.step_{t}"), &[], &[t as i64]);
            let mut x = b.node(
                "Gather",
                &format!("{INPUT_NAME}/t{t}"),
                &[INPUT_NAME, &idx],
                vec![builder::attr_int("axis", 0)],
            );
            let mut shape = spec.input_shape.clone();
            for (i, (layer, out)) in spec.layers.iter().zip(&shapes).enumerate() {
                let name = format!("{}/t{t}", layer.name);
                x = match &layer.op {
                    Op::Lif(p) => {
                        let n = neurons[i].as_ref().expect("resolved above");
                        let prev = state[i].as_ref();
                        let step =
                            emit_lif_step(&mut b, &layer.name, p, n, &shape, &x, prev, &name);
                        if Some(i) == last_lif {
                            mems.push(step.mem.clone());
                            spks.push(step.spk.clone());
                        }
                        let spk = step.spk.clone();
                        state[i] = Some(step);
                        spk
                    }
                    _ => layers::emit_layer(&mut b, layer, weights, &x, &shape, &name)?,
                };
                shape = out.clone();
            }
            outputs.push(x);
        }
        let over_steps = |b: &mut GraphBuilder, op: &str, vals: &[String]| -> String {
            if vals.len() == 1 {
                vals[0].clone()
            } else {
                let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
                b.node(op, "readout", &refs, vec![])
            }
        };
        match spec.readout {
            Readout::Output => over_steps(&mut b, "Mean", &outputs),
            Readout::MembraneMean => over_steps(&mut b, "Mean", &mems),
            Readout::MembraneLast => mems.last().cloned().unwrap_or_default(),
            Readout::SpikeCount => over_steps(&mut b, "Sum", &spks),
        }
    };
    if final_value == INPUT_NAME || !b.nodes.iter().any(|n| n.output.contains(&final_value)) {
        return Err(ModelError::Invalid(
            "the readout is not computed by any node".into(),
        ));
    }
    b.rename_value(&final_value, OUTPUT_NAME);
    b.prune(&[OUTPUT_NAME]);

    let mut input_dims: Vec<Dim> = Vec::new();
    if spec.is_spiking() {
        input_dims.push(Dim::Fixed(spec.steps));
    }
    input_dims.push(Dim::Symbol("batch"));
    input_dims.extend(spec.input_shape.iter().map(|&d| Dim::Fixed(d)));
    let output_dims = [Dim::Symbol("batch"), Dim::Fixed(spec.num_classes)];

    let mut props: BTreeMap<String, String> = BTreeMap::new();
    props.insert(
        SPEC_KEY.into(),
        serde_json::to_string(spec).map_err(|e| ModelError::Invalid(e.to_string()))?,
    );
    props.insert("joulebench.input".into(), input_description(spec));
    props.insert(
        "joulebench.producer_version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    let own: Vec<String> = props.keys().cloned().collect();
    let mut metadata_props: Vec<proto::StringStringEntryProto> = props
        .into_iter()
        .map(|(key, value)| proto::StringStringEntryProto { key, value })
        .collect();
    for (k, v) in metadata {
        if own.contains(k) || metadata_props.iter().any(|e| &e.key == k) {
            return Err(ModelError::Invalid(format!(
                "ONNX metadata key `{k}` given twice"
            )));
        }
        metadata_props.push(proto::StringStringEntryProto {
            key: k.clone(),
            value: v.clone(),
        });
    }

    let graph = proto::GraphProto {
        node: b.nodes,
        name: format!("joulebench_{}", spec.preset.replace('-', "_")),
        initializer: b.initializers,
        doc_string: input_description(spec),
        input: vec![value_info(INPUT_NAME, &input_dims)],
        output: vec![value_info(OUTPUT_NAME, &output_dims)],
    };
    Ok(proto::ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![proto::OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "joulebench".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        model_version: 1,
        doc_string: format!("joulebench preset `{}`", spec.preset),
        graph: Some(graph),
        metadata_props,
    })
}

fn input_description(spec: &ModelSpec) -> String {
    let sample = format!("{:?}", spec.input_shape);
    if spec.is_spiking() {
        format!(
            "input [T={}, batch, {sample}]: the per-step network input (spike tensor for {:?} encoding; \
             the analog sample when T=1), after preprocessing; the encoder is outside the graph. \
             logits [batch, {}] by readout {:?}.",
            spec.steps, spec.encoding, spec.num_classes, spec.readout
        )
    } else {
        format!(
            "input [batch, {sample}] after preprocessing (transform {}, normalize {:?}); logits [batch, {}].",
            spec.preprocess.transform.name(),
            spec.preprocess.normalize,
            spec.num_classes
        )
    }
}

/// What an ONNX file contains, for reports: opset, IR version, node counts, sizes, metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OnnxSummary {
    pub ir_version: i64,
    /// Version of the default (`ai.onnx`) domain, 0 when not imported.
    pub opset: i64,
    pub producer: String,
    pub nodes: usize,
    /// Node count per op type.
    pub ops: BTreeMap<String, usize>,
    pub initializers: usize,
    /// Elements in all initializers.
    pub initializer_elements: u64,
    pub inputs: Vec<String>,
    /// Declared dimensions of each of `inputs`: `None` when the graph declares no shape, else one
    /// entry per dimension, `None` for a symbolic or unknown one.
    pub input_dims: Vec<Option<Vec<Option<i64>>>>,
    pub outputs: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

impl OnnxSummary {
    /// The shape of one sample (no batch dimension) that the graph declares for its single
    /// input: `Ok(None)` when it declares none or leaves a non-batch dimension open (with the
    /// reason as `Err` text only for a graph with several inputs).
    pub fn declared_sample_shape(&self) -> Result<Option<Vec<usize>>, String> {
        match self.inputs.len() {
            1 => {}
            0 => return Err("the graph has no input".into()),
            n => {
                return Err(format!(
                    "the graph has {n} inputs ({}); joulebench feeds one",
                    self.inputs.join(", ")
                ))
            }
        }
        let Some(Some(dims)) = self.input_dims.first() else {
            return Ok(None);
        };
        if dims.len() < 2 {
            return Ok(None);
        }
        let sample: Option<Vec<usize>> = dims[1..]
            .iter()
            .map(|d| d.filter(|v| *v > 0).map(|v| v as usize))
            .collect();
        Ok(sample)
    }

    /// The declared dimensions of the single input as text: `[N, 3, 224, 224]` (`?` for open).
    pub fn declared_input_text(&self) -> String {
        match self.input_dims.first() {
            Some(Some(d)) => format!(
                "[{}]",
                d.iter()
                    .map(|v| v.map(|v| v.to_string()).unwrap_or_else(|| "?".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "no declared shape".into(),
        }
    }
}

fn declared_dims(v: &proto::ValueInfoProto) -> Option<Vec<Option<i64>>> {
    use proto::tensor_shape_proto::dimension::Value as Dim;
    use proto::type_proto::Value;
    let Some(Value::TensorType(t)) = v.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    let shape = t.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(Dim::DimValue(n)) if *n > 0 => Some(*n),
                _ => None,
            })
            .collect(),
    )
}

/// Decodes ONNX bytes far enough to summarize them; an error (not a panic) on anything that
/// is not an ONNX model.
pub fn summarize_onnx(bytes: &[u8]) -> Result<OnnxSummary, ModelError> {
    if bytes.is_empty() {
        return Err(ModelError::Invalid(
            "the file is empty (0 bytes), not an ONNX model".into(),
        ));
    }
    let m = proto::ModelProto::decode(bytes)
        .map_err(|e| ModelError::Invalid(format!("not an ONNX model: {e}")))?;
    let g = m
        .graph
        .ok_or_else(|| ModelError::Invalid("ONNX model has no graph".into()))?;
    let mut ops = BTreeMap::new();
    for n in &g.node {
        *ops.entry(n.op_type.clone()).or_insert(0) += 1;
    }
    let init_names: std::collections::HashSet<&str> =
        g.initializer.iter().map(|t| t.name.as_str()).collect();
    Ok(OnnxSummary {
        ir_version: m.ir_version,
        opset: m
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .unwrap_or(0),
        producer: format!("{} {}", m.producer_name, m.producer_version)
            .trim()
            .to_string(),
        nodes: g.node.len(),
        ops,
        initializers: g.initializer.len(),
        initializer_elements: g
            .initializer
            .iter()
            .map(|t| t.dims.iter().product::<i64>().max(0) as u64)
            .sum(),
        inputs: g
            .input
            .iter()
            .filter(|i| !init_names.contains(i.name.as_str()))
            .map(|i| i.name.clone())
            .collect(),
        input_dims: g
            .input
            .iter()
            .filter(|i| !init_names.contains(i.name.as_str()))
            .map(declared_dims)
            .collect(),
        outputs: g.output.iter().map(|o| o.name.clone()).collect(),
        metadata: m
            .metadata_props
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect(),
    })
}
