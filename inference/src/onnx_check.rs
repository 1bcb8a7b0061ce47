//! Reading an ONNX file and checking it before an engine sees it, so that malformed files give
//! a clear error naming the file and the problem (never a panic deep inside an engine). The file
//! is decoded into the project's ONNX types ([`joulebench_models::onnx::proto`]).

use std::collections::HashSet;
use std::path::Path;

use joulebench_models::onnx::proto;
use prost::Message;

use crate::error::InferenceError;

/// What the checks learned about a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxGraphInfo {
    /// Name of the one non-initializer graph input.
    pub input_name: String,
    /// Its declared dimensions: `Some(n)` fixed, `None` symbolic or unknown.
    pub input_dims: Vec<Option<usize>>,
    /// Name of the first graph output (the logits).
    pub output_name: String,
    /// Default-domain opset version (0 when not declared).
    pub opset: i64,
}

/// Decodes `bytes` (the content of `path`) as an ONNX model.
pub fn decode_model(path: &Path, bytes: &[u8]) -> Result<proto::ModelProto, InferenceError> {
    if bytes.is_empty() {
        return Err(InferenceError::onnx(path, "the file is empty"));
    }
    proto::ModelProto::decode(bytes).map_err(|e| corrupt_protobuf(path, e))
}

/// The error for bytes that do not decode as an ONNX model (`e`: the decoder's message).
pub(crate) fn corrupt_protobuf(path: &Path, e: impl std::fmt::Display) -> InferenceError {
    InferenceError::onnx(
        path,
        format!("not a valid ONNX file (truncated or corrupt protobuf: {e})"),
    )
}

/// Reads and decodes an ONNX file.
pub fn read_model(path: &Path) -> Result<proto::ModelProto, InferenceError> {
    let bytes = std::fs::read(path).map_err(|e| InferenceError::io(path, e))?;
    decode_model(path, &bytes)
}

/// Structural checks: a graph exists, has exactly one real input with a tensor type, every node
/// input is produced by something (graph input, initializer or an earlier node — a missing
/// initializer shows up here), initializers hold as many values as their dims say, and the
/// input's declared dims agree with `expected` (`None` entries accept any size).
pub fn check_model(
    path: &Path,
    model: &proto::ModelProto,
    expected: Option<&[Option<usize>]>,
) -> Result<OnnxGraphInfo, InferenceError> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| InferenceError::onnx(path, "the model has no graph"))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(0);
    for init in &graph.initializer {
        check_initializer(path, init)?;
    }
    let init_names: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let real_inputs: Vec<&proto::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !init_names.contains(i.name.as_str()))
        .collect();
    let input = match real_inputs.as_slice() {
        [one] => *one,
        [] => return Err(InferenceError::onnx(path, "the graph has no input")),
        many => {
            return Err(InferenceError::onnx(
                path,
                format!(
                "the graph has {} inputs ({}); joulebench runs classifiers with exactly one input",
                many.len(),
                many.iter()
                    .map(|i| format!("`{}`", i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ))
        }
    };
    let input_dims = declared_dims(path, input)?;
    let output = graph
        .output
        .first()
        .ok_or_else(|| InferenceError::onnx(path, "the graph has no output"))?;

    let mut known: HashSet<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    known.extend(init_names.iter().map(|s| s.to_string()));
    check_nodes(path, &graph.node, &mut known, "")?;
    for out in &graph.output {
        if !known.contains(&out.name) {
            return Err(InferenceError::onnx(
                path,
                format!("graph output `{}` is not produced by any node", out.name),
            ));
        }
    }

    if let Some(expected) = expected {
        check_dims(path, &input.name, &input_dims, expected)?;
    }
    Ok(OnnxGraphInfo {
        input_name: input.name.clone(),
        input_dims,
        output_name: output.name.clone(),
        opset,
    })
}

/// Checks that a concrete input shape fits the declared dims (rank and fixed sizes).
pub fn check_input_shape(info: &OnnxGraphInfo, shape: &[usize]) -> Result<(), InferenceError> {
    let fits = shape.len() == info.input_dims.len()
        && shape
            .iter()
            .zip(&info.input_dims)
            .all(|(s, d)| d.is_none_or(|d| d == *s));
    if fits {
        Ok(())
    } else {
        Err(InferenceError::InputShape {
            got: shape.to_vec(),
            expected: dims_to_string(&info.input_dims),
        })
    }
}

/// `[N, 1, 28, 28]`-style rendering with `?` for free dimensions.
pub fn dims_to_string(dims: &[Option<usize>]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn check_dims(
    path: &Path,
    name: &str,
    declared: &[Option<usize>],
    expected: &[Option<usize>],
) -> Result<(), InferenceError> {
    let rank_ok = declared.len() == expected.len();
    let dims_ok = rank_ok
        && declared.iter().zip(expected).all(|(d, e)| match (d, e) {
            (Some(d), Some(e)) => d == e,
            _ => true,
        });
    if dims_ok {
        return Ok(());
    }
    let what = if rank_ok { "dimensions" } else { "rank" };
    Err(InferenceError::onnx(
        path,
        format!(
            "input `{name}` is declared as {} (rank {}), but the data gives {} (rank {}): wrong input {what}{}",
            dims_to_string(declared),
            declared.len(),
            dims_to_string(expected),
            expected.len(),
            if rank_ok {
                ""
            } else {
                " — check --input-shape (one sample, without the batch dimension)"
            }
        ),
    ))
}

fn declared_dims(
    path: &Path,
    input: &proto::ValueInfoProto,
) -> Result<Vec<Option<usize>>, InferenceError> {
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(proto::type_proto::Value::TensorType(t)) => t,
        _ => {
            return Err(InferenceError::onnx(
                path,
                format!("input `{}` has no tensor type", input.name),
            ))
        }
    };
    if tensor.elem_type != proto::tensor_proto::DataType::Float as i32 {
        return Err(InferenceError::onnx(
            path,
            format!(
                "input `{}` has element type {} (only float32 inputs are supported)",
                input.name, tensor.elem_type
            ),
        ));
    }
    let shape = tensor.shape.as_ref().ok_or_else(|| {
        InferenceError::onnx(
            path,
            format!("input `{}` has no declared shape", input.name),
        )
    })?;
    Ok(shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => {
                Some(v as usize)
            }
            _ => None,
        })
        .collect())
}

fn check_initializer(path: &Path, t: &proto::TensorProto) -> Result<(), InferenceError> {
    if t.dims.iter().any(|&d| d < 0) {
        return Err(InferenceError::onnx(
            path,
            format!("initializer `{}` has negative dims {:?}", t.name, t.dims),
        ));
    }
    if t.data_location == proto::tensor_proto::DataLocation::External as i32 {
        return Ok(()); // external data: the engine resolves it relative to the file
    }
    let n = t
        .dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
        .ok_or_else(|| {
            InferenceError::onnx(
                path,
                format!(
                    "initializer `{}` has dims {:?}: more elements than memory can hold",
                    t.name, t.dims
                ),
            )
        })?;
    let elem = match proto::tensor_proto::DataType::try_from(t.data_type) {
        Ok(proto::tensor_proto::DataType::Float) | Ok(proto::tensor_proto::DataType::Int32) => 4,
        Ok(proto::tensor_proto::DataType::Int64) | Ok(proto::tensor_proto::DataType::Double) => 8,
        _ => return Ok(()), // other types: leave the checks to the engine
    };
    let have = if !t.raw_data.is_empty() {
        if !t.raw_data.len().is_multiple_of(elem) {
            return Err(InferenceError::onnx(
                path,
                format!(
                    "initializer `{}`: raw data of {} bytes is not a whole number of elements",
                    t.name,
                    t.raw_data.len()
                ),
            ));
        }
        t.raw_data.len() / elem
    } else {
        t.float_data.len() + t.int32_data.len() + t.int64_data.len() + t.double_data.len()
    };
    if have != n {
        return Err(InferenceError::onnx(
            path,
            format!(
                "initializer `{}` has dims {:?} ({n} values) but holds {have} values",
                t.name, t.dims
            ),
        ));
    }
    Ok(())
}

fn check_nodes(
    path: &Path,
    nodes: &[proto::NodeProto],
    known: &mut HashSet<String>,
    scope: &str,
) -> Result<(), InferenceError> {
    // ONNX requires topological order; produced names are collected as we go.
    for (i, node) in nodes.iter().enumerate() {
        let node_name = node_label(node, i);
        for input in node.input.iter().filter(|s| !s.is_empty()) {
            if !known.contains(input) {
                return Err(InferenceError::onnx(
                    path,
                    format!(
                        "{scope}node `{node_name}` ({}) reads `{input}`, which is neither a graph input, an initializer \
                         nor the output of an earlier node (missing initializer?)",
                        node.op_type
                    ),
                ));
            }
        }
        // Subgraphs (Loop, Scan, If) see the outer scope plus their own inputs and initializers.
        for attr in &node.attribute {
            for g in attr.g.iter().chain(attr.graphs.iter()) {
                let mut inner = known.clone();
                inner.extend(g.input.iter().map(|i| i.name.clone()));
                inner.extend(g.initializer.iter().map(|t| t.name.clone()));
                for init in &g.initializer {
                    check_initializer(path, init)?;
                }
                check_nodes(
                    path,
                    &g.node,
                    &mut inner,
                    &format!("{scope}subgraph of `{node_name}`: "),
                )?;
            }
        }
        known.extend(node.output.iter().filter(|s| !s.is_empty()).cloned());
    }
    Ok(())
}

/// A node's name, or a description when it has none.
pub fn node_label(node: &proto::NodeProto, index: usize) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else if let Some(o) = node.output.first().filter(|o| !o.is_empty()) {
        format!("#{index} producing `{o}`")
    } else {
        format!("#{index}")
    }
}

/// Every (op, domain, node) of the graph, subgraphs included, in order.
pub fn all_ops(model: &proto::ModelProto) -> Vec<(String, String, String)> {
    fn walk(nodes: &[proto::NodeProto], out: &mut Vec<(String, String, String)>) {
        for (i, n) in nodes.iter().enumerate() {
            out.push((n.op_type.clone(), n.domain.clone(), node_label(n, i)));
            for a in &n.attribute {
                for g in a.g.iter().chain(a.graphs.iter()) {
                    walk(&g.node, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(g) = &model.graph {
        walk(&g.node, &mut out);
    }
    out
}

thread_local! {
    /// Set while this thread runs inside [`guard_engine`]: its panics become errors, unprinted.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once per process) a panic hook that stays silent for panics inside
/// [`guard_engine`] on the same thread and defers to the previous hook for every other panic.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
}

/// Runs `f` (a call into an ONNX engine on an untrusted graph) and turns a panic inside the
/// engine into `Err` with the panic's message, so a malformed graph that trips an engine's
/// internal assertion (e.g. tract 0.23.9's `Squeeze` shape rule on an out-of-range axis, found
/// by `fuzz/`) is reported as an error naming the file instead of aborting the process. The
/// panic itself prints nothing (no message, no backtrace): the error carries its message.
pub fn guard_engine<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("the engine failed on this graph (internal error: {msg})")
    })
}
