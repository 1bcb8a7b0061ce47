//! A small ONNX graph builder over [`super::proto`]: nodes, attributes, initializers, value
//! infos, renaming and dead-node removal. Knows nothing about joulebench layers.

use std::collections::HashSet;

use super::proto;
use super::proto::attribute_proto::AttributeType;
use super::proto::tensor_proto::DataType;
use super::proto::tensor_shape_proto::{dimension, Dimension};

/// One attribute of a node.
pub(crate) fn attr_int(name: &str, v: i64) -> proto::AttributeProto {
    proto::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

pub(crate) fn attr_ints(name: &str, v: &[i64]) -> proto::AttributeProto {
    proto::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A dimension: a fixed size or a symbolic name (`dim_param`).
#[derive(Debug, Clone)]
pub(crate) enum Dim {
    Fixed(usize),
    Symbol(&'static str),
}

/// A float tensor value description (graph input or output).
pub(crate) fn value_info(name: &str, dims: &[Dim]) -> proto::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => dimension::Value::DimValue(*n as i64),
                Dim::Symbol(s) => dimension::Value::DimParam((*s).to_string()),
            }),
        })
        .collect();
    proto::ValueInfoProto {
        name: name.into(),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: Some(proto::TensorShapeProto { dim }),
                },
            )),
        }),
    }
}

/// Nodes and initializers of one graph, in topological order of insertion.
#[derive(Default)]
pub(crate) struct GraphBuilder {
    pub nodes: Vec<proto::NodeProto>,
    pub initializers: Vec<proto::TensorProto>,
    init_names: HashSet<String>,
}

impl GraphBuilder {
    /// Adds a node named `name` with one output, also called `name`; returns that name.
    pub fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<proto::AttributeProto>,
    ) -> String {
        self.node_outputs(op, name, inputs, &[name], attrs);
        name.to_string()
    }

    /// Adds a node with explicit output names (`""` for an omitted optional output).
    pub fn node_outputs(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<proto::AttributeProto>,
    ) {
        self.nodes.push(proto::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: name.into(),
            op_type: op.into(),
            domain: String::new(),
            attribute: attrs,
        });
    }

    /// Adds a float initializer (once: a second call with the same name keeps the first).
    pub fn init_f32(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        if self.init_names.insert(name.to_string()) {
            self.initializers.push(proto::TensorProto {
                dims: dims.iter().map(|&d| d as i64).collect(),
                data_type: DataType::Float as i32,
                name: name.into(),
                raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            });
        }
        name.to_string()
    }

    /// Adds an int64 initializer (once per name).
    pub fn init_i64(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        if self.init_names.insert(name.to_string()) {
            self.initializers.push(proto::TensorProto {
                dims: dims.iter().map(|&d| d as i64).collect(),
                data_type: DataType::Int64 as i32,
                name: name.into(),
                raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            });
        }
        name.to_string()
    }

    /// Renames value `from` to `to` everywhere it is produced or consumed.
    pub fn rename_value(&mut self, from: &str, to: &str) {
        for n in &mut self.nodes {
            for v in n.input.iter_mut().chain(n.output.iter_mut()) {
                if v == from {
                    *v = to.to_string();
                }
            }
        }
    }

    /// Drops nodes that do not contribute to `outputs`, then initializers no node reads.
    pub fn prune(&mut self, outputs: &[&str]) {
        let mut needed: HashSet<String> = outputs.iter().map(|s| s.to_string()).collect();
        let mut keep = vec![false; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate().rev() {
            if n.output.iter().any(|o| !o.is_empty() && needed.contains(o)) {
                keep[i] = true;
                needed.extend(n.input.iter().filter(|s| !s.is_empty()).cloned());
            }
        }
        let mut k = keep.into_iter();
        self.nodes.retain(|_| k.next().unwrap_or(false));
        self.initializers.retain(|t| needed.contains(&t.name));
        self.init_names = self.initializers.iter().map(|t| t.name.clone()).collect();
    }
}
