//! Operation counts of any ONNX file, from its graph with shapes inferred (tract) for a given
//! input shape. The graph's nodes, attributes and initializers are read in the project's ONNX
//! types ([`joulebench_models::onnx::proto`]); tract parses its own decoding of the same bytes
//! and is asked only for tensor shapes.
//!
//! Counted per node (shapes from tract's inference, then divided by `batch`):
//! * `Gemm`: `M·K·N` MACs (`Y[M,N]`, `K` the inner dimension after `transA`);
//! * `MatMul`: `|Y| · K` MACs (`K` = last dimension of `A`);
//! * `Conv`: `|Y| · (C_in/groups) · ∏kernel` MACs (`W[C_out, C_in/groups, k…]`);
//! * `RNN`/`GRU`/`LSTM`: `seq · batch · dirs · (|W_row|·in + |R_row|·hidden)` i.e.
//!   `seq · batch · dirs · gates·hidden · (input + hidden)` MACs;
//! * `Relu`, `Tanh`, `Sigmoid`: one other op per output element; `MaxPool`/`AveragePool`:
//!   `|Y| · (∏kernel − 1)` comparisons/adds;
//! * the LIF pattern: each `Greater` (spike = membrane > threshold) counts one membrane update per
//!   output element; the `Mul`/`Add`/`Sub` around it are element-wise and not MACs. A graph that
//!   prunes a comparison nobody reads (joulebench's export does for the last LIF layer's last
//!   step under a membrane readout) therefore shows fewer updates than the `ModelSpec` count,
//!   which charges every neuron at every step as a dense engine does.
//!
//! Parameters: elements of float initializers (or `Constant` / `ConstantOfShape` tensors, the
//! latter by their inferred shape) that feed a weight-bearing
//! node (`Gemm`, `MatMul`, `Conv`, `RNN`, `GRU`, `LSTM`, or an `Add` right after a `MatMul`);
//! `initializer_elements` counts every initializer element (thresholds, decays and shapes too).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use joulebench_models::onnx::proto;
use prost::Message;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::ShapeFactoid;

use joulebench_inference::onnx_check::guard_engine;

use crate::counts::{ProfileCounts, ProfileLayerCounts};
use crate::error::ProfileError;

/// Counts of an ONNX graph plus what the graph holds beyond the counted ops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnnxCounts {
    pub counts: ProfileCounts,
    /// Every initializer element, learnable or not.
    pub initializer_elements: u64,
    /// Op types present in the graph and how many nodes of each.
    pub op_histogram: Vec<(String, usize)>,
    /// The full input shape the counts were inferred for.
    pub input_shape: Vec<usize>,
}

const WEIGHT_OPS: &[&str] = &["Gemm", "MatMul", "Conv", "RNN", "GRU", "LSTM"];
const FLOAT: i32 = proto::tensor_proto::DataType::Float as i32;

fn attr_i(node: &proto::NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn attr_ints(node: &proto::NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

fn numel(dims: &[i64]) -> u64 {
    dims.iter().map(|&d| d.max(0) as u64).product()
}

/// Counts `path` for an input tensor of shape `input_shape` (full shape, batch included; spiking
/// exports take `[T, batch, …]`). Counts are divided by `batch` to give per-sample figures.
/// `steps` is recorded in the result (the graph already contains the time loop if it has one).
pub fn count_onnx(
    path: &Path,
    input_shape: &[usize],
    batch: usize,
    steps: usize,
) -> Result<OnnxCounts, ProfileError> {
    let err = |what: String| ProfileError::Onnx {
        path: path.to_path_buf(),
        what,
    };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    count_onnx_bytes(path, &bytes, input_shape, batch, steps)
}

/// [`count_onnx`] on the file's content `bytes` (`path` names it in errors and locates external
/// data).
pub fn count_onnx_bytes(
    path: &Path,
    bytes: &[u8],
    input_shape: &[usize],
    batch: usize,
    steps: usize,
) -> Result<OnnxCounts, ProfileError> {
    let err = |what: String| ProfileError::Onnx {
        path: path.to_path_buf(),
        what,
    };
    if bytes.is_empty() {
        return Err(err("empty file (zero bytes), not an ONNX model".into()));
    }
    let onnx = tract_onnx::onnx();
    let tract_proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| err(format!("not a valid ONNX protobuf: {e}")))?;
    let model_proto = proto::ModelProto::decode(bytes)
        .map_err(|e| err(format!("not a valid ONNX protobuf: {e}")))?;
    let graph = model_proto
        .graph
        .as_ref()
        .ok_or_else(|| err("the model has no graph".into()))?;
    let dir = path.parent().and_then(|p| p.to_str());
    let parsed = guard_engine(|| onnx.parse(&tract_proto, dir))
        .map_err(|e| err(format!("cannot build the graph: {e}")))?
        .map_err(|e| err(format!("cannot build the graph: {e:#}")))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(err(format!(
            "nodes read tensors nobody produces (missing initializers?): {:?}",
            parsed.unresolved_inputs
        )));
    }
    let mut model = parsed.model;
    if model.inputs.len() != 1 {
        return Err(err(format!(
            "expected one graph input, found {}",
            model.inputs.len()
        )));
    }
    let fact = InferenceFact::dt_shape(
        f32::datum_type(),
        ShapeFactoid::from(input_shape.iter().copied()),
    );
    model
        .set_input_fact(0, fact)
        .map_err(|e| err(format!("input shape {input_shape:?}: {e}")))?;
    guard_engine(|| model.analyse(false))
        .map_err(|e| {
            err(format!(
                "shape inference failed for input shape {input_shape:?}: {e}"
            ))
        })?
        .map_err(|e| {
            err(format!(
                "shape inference failed for input shape {input_shape:?}: {e:#}"
            ))
        })?;

    let shape_of = |name: &str| -> Result<Vec<usize>, ProfileError> {
        let outlet = parsed
            .outlets_by_name
            .get(name)
            .ok_or_else(|| err(format!("tensor `{name}` not found in the graph")))?;
        let f = model
            .outlet_fact(*outlet)
            .map_err(|e| err(format!("tensor `{name}`: {e}")))?;
        f.shape
            .as_concrete_finite()
            .ok()
            .flatten()
            .map(|s| s.to_vec())
            .ok_or_else(|| {
                err(format!(
                    "shape of `{name}` could not be inferred (got {:?})",
                    f.shape
                ))
            })
    };

    // initializer element counts by name (initializers and Constant nodes)
    let mut init: HashMap<String, (u64, bool)> = HashMap::new();
    for t in &graph.initializer {
        init.insert(t.name.clone(), (numel(&t.dims), t.data_type == FLOAT));
    }
    for n in graph.node.iter().filter(|n| n.op_type == "Constant") {
        if let (Some(out), Some(t)) = (
            n.output.first(),
            n.attribute.iter().find_map(|a| a.t.as_ref()),
        ) {
            init.insert(out.clone(), (numel(&t.dims), t.data_type == FLOAT));
        }
    }
    // outputs of ConstantOfShape nodes, and whether they are float (default value: float 0)
    let constant_of_shape: HashMap<&str, bool> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "ConstantOfShape")
        .filter_map(|n| {
            let is_float = n
                .attribute
                .iter()
                .find_map(|a| a.t.as_ref())
                .is_none_or(|t| t.data_type == FLOAT);
            n.output.first().map(|o| (o.as_str(), is_float))
        })
        .collect();
    let initializer_elements: u64 = graph.initializer.iter().map(|t| numel(&t.dims)).sum();
    let produced_by: HashMap<&str, &str> = graph
        .node
        .iter()
        .flat_map(|n| {
            n.output
                .iter()
                .map(move |o| (o.as_str(), n.op_type.as_str()))
        })
        .collect();

    let mut hist: HashMap<String, usize> = HashMap::new();
    let mut counted_params: HashSet<String> = HashSet::new();
    let mut layers = vec![];
    let b = batch.max(1) as u64;
    for (ix, node) in graph.node.iter().enumerate() {
        *hist.entry(node.op_type.clone()).or_default() += 1;
        let name = if node.name.is_empty() {
            format!("{}_{ix}", node.op_type)
        } else {
            node.name.clone()
        };
        let out0 = || {
            node.output
                .iter()
                .find(|s| !s.is_empty())
                .map(|s| s.as_str())
                .unwrap_or("")
        };
        let in_shape =
            |i: usize| -> Result<Vec<usize>, ProfileError> {
                shape_of(node.input.get(i).ok_or_else(|| {
                    err(format!("node `{name}` ({}) lacks input {i}", node.op_type))
                })?)
            };
        let prod = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
        let mut macs = 0u64;
        let mut other = 0u64;
        let mut membrane = 0u64;
        let weight_bearing = WEIGHT_OPS.contains(&node.op_type.as_str())
            || (node.op_type == "Add"
                && node
                    .input
                    .iter()
                    .any(|i| produced_by.get(i.as_str()) == Some(&"MatMul")));
        match node.op_type.as_str() {
            "Gemm" => {
                let a = in_shape(0)?;
                let y = shape_of(out0())?;
                if a.len() != 2 || y.len() != 2 {
                    return Err(err(format!(
                        "Gemm `{name}` with non-2-D operands {a:?} → {y:?}"
                    )));
                }
                let k = if attr_i(node, "transA").unwrap_or(0) != 0 {
                    a[0]
                } else {
                    a[1]
                };
                macs = prod(&y) * k as u64;
            }
            "MatMul" => {
                let a = in_shape(0)?;
                let y = shape_of(out0())?;
                let k = *a
                    .last()
                    .ok_or_else(|| err(format!("MatMul `{name}` with a scalar operand")))?;
                macs = prod(&y) * k as u64;
            }
            "Conv" => {
                let w = in_shape(1)?;
                let y = shape_of(out0())?;
                macs = prod(&y) * prod(&w[1..]);
            }
            "RNN" | "GRU" | "LSTM" => {
                let x = in_shape(0)?; // [seq, batch, input]
                let w = in_shape(1)?; // [dirs, gates·hidden, input]
                let r = in_shape(2)?; // [dirs, gates·hidden, hidden]
                if x.len() != 3 || w.len() != 3 || r.len() != 3 {
                    return Err(err(format!(
                        "{} `{name}` with unexpected ranks {x:?} {w:?} {r:?}",
                        node.op_type
                    )));
                }
                macs = (x[0] * x[1]) as u64 * w[0] as u64 * (prod(&w[1..]) + prod(&r[1..]));
                if node.op_type == "RNN" {
                    other = (x[0] * x[1]) as u64 * w[0] as u64 * r[2] as u64; // one tanh per hidden unit per step
                }
            }
            "Relu" | "Tanh" | "Sigmoid" => other = prod(&shape_of(out0())?),
            "Greater" => {
                membrane = prod(&shape_of(out0())?);
                other = membrane;
            }
            "MaxPool" | "AveragePool" => {
                let k: u64 = attr_ints(node, "kernel_shape")
                    .unwrap_or_default()
                    .iter()
                    .map(|&d| d.max(1) as u64)
                    .product();
                other = prod(&shape_of(out0())?) * k.saturating_sub(1);
            }
            _ => {}
        }
        let mut params = 0u64;
        if weight_bearing {
            for i in node
                .input
                .iter()
                .skip(if node.op_type == "Add" { 0 } else { 1 })
            {
                let stored = match init.get(i) {
                    Some(&v) => Some(v),
                    // a weight generated in the graph (e.g. the `onnx` package's "light" models
                    // fill every weight with ConstantOfShape): its inferred shape's elements
                    None => match constant_of_shape.get(i.as_str()) {
                        Some(is_float) => Some((prod(&shape_of(i)?), *is_float)),
                        None => None,
                    },
                };
                if let Some((n, is_float)) = stored {
                    if is_float && counted_params.insert(i.clone()) {
                        params += n;
                    }
                }
            }
        }
        if macs > 0 || other > 0 || params > 0 {
            let op = if node.op_type == "Greater" {
                "Greater (LIF spike)".to_string()
            } else {
                node.op_type.clone()
            };
            let out_shape = shape_of(out0())?;
            let output_elements = prod(&out_shape) / b;
            // one sample: without the leading batch dimension
            let output_shape = match out_shape.split_first() {
                Some((_, rest)) if !rest.is_empty() => rest.to_vec(),
                _ => out_shape.clone(),
            };
            layers.push(ProfileLayerCounts {
                name,
                op,
                params,
                macs: macs / b,
                flops: 2 * macs / b,
                other_ops: other / b,
                membrane_updates: membrane / b,
                output_elements,
                output_shape,
                share_of_macs: 0.0,
            });
        }
    }
    let mut op_histogram: Vec<(String, usize)> = hist.into_iter().collect();
    op_histogram.sort();
    Ok(OnnxCounts {
        counts: ProfileCounts::from_layers(
            "onnx_graph",
            steps,
            input_shape.iter().product::<usize>() as u64 / b,
            layers,
        ),
        initializer_elements,
        op_histogram,
        input_shape: input_shape.to_vec(),
    })
}
