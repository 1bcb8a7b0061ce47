//! NIR node types with typed parameters, and their mapping to and from the HDF5 group each node
//! is stored as (`type` string plus one dataset per field, as the `nir` package writes them).

use std::collections::BTreeMap;

use crate::error::graph_err;
use crate::hdf5::{Dataset, Object, Value};
use crate::NirError;

/// A dense array of `f32` in row-major order (integer and float64 datasets are converted).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: vec![value; shape.iter().product()],
        }
    }
    /// A 1-D tensor.
    pub fn vector(data: Vec<f32>) -> Self {
        Tensor {
            shape: vec![data.len()],
            data,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// True when the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Convolution padding: explicit amounts per spatial dimension, or PyTorch's `same`/`valid`.
#[derive(Debug, Clone, PartialEq)]
pub enum Padding {
    Explicit(Vec<usize>),
    Same,
    Valid,
}

/// Parameters shared by [`NirNode::Conv1d`] and [`NirNode::Conv2d`]. Spatial vectors
/// (`stride`, `dilation`, explicit padding, `input_shape`) have one entry per spatial
/// dimension (1 or 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// `(C_out, C_in / groups, k)` or `(C_out, C_in / groups, kH, kW)`.
    pub weight: Tensor,
    /// `(C_out,)`.
    pub bias: Tensor,
    pub stride: Vec<usize>,
    pub padding: Padding,
    pub dilation: Vec<usize>,
    pub groups: usize,
    /// Spatial input size (`N` or `(H, W)`), when the file gives it.
    pub input_shape: Option<Vec<usize>>,
}

/// Parameters of [`NirNode::SumPool2d`] and [`NirNode::AvgPool2d`] (each `(height, width)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kernel_size: Vec<usize>,
    pub stride: Vec<usize>,
    pub padding: Vec<usize>,
}

/// One NIR node. Neuron parameters are tensors of the layer's shape (one value per neuron).
#[derive(Debug, Clone, PartialEq)]
pub enum NirNode {
    /// Graph input of `shape` (no batch dimension).
    Input {
        shape: Vec<usize>,
    },
    /// Graph output of `shape`.
    Output {
        shape: Vec<usize>,
    },
    /// `y = W x + b`, `weight` `(out, in)`, `bias` `(out,)`.
    Affine {
        weight: Tensor,
        bias: Tensor,
    },
    /// `y = W x`, `weight` `(out, in)`.
    Linear {
        weight: Tensor,
    },
    /// `y = s ⊙ x`.
    Scale {
        scale: Tensor,
    },
    /// Flattens dimensions `start_dim..=end_dim` (negative: from the end) of the input
    /// (no batch dimension); `input_type` is the input shape when the file gives it.
    Flatten {
        start_dim: i64,
        end_dim: i64,
        input_type: Option<Vec<usize>>,
    },
    Conv1d(Conv),
    Conv2d(Conv),
    SumPool2d(Pool),
    AvgPool2d(Pool),
    /// `τ dv/dt = (v_leak − v) + r I`; spike when `v > v_threshold`, then `v ← v_reset`.
    Lif {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    /// `dv/dt = r I`; spike when `v > v_threshold`, then `v ← v_reset`.
    If {
        r: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    /// `τ dv/dt = (v_leak − v) + r I` (no spikes).
    Li {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
    },
    /// `τ_syn dI/dt = −I + w_in S`, `τ_mem dv/dt = (v_leak − v) + r I`; spike when
    /// `v > v_threshold`, then `v ← v_reset`.
    CubaLif {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
        w_in: Tensor,
    },
    /// `τ_syn dI/dt = −I + w_in S`, `τ_mem dv/dt = (v_leak − v) + r I` (no spikes).
    CubaLi {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        w_in: Tensor,
    },
    /// Spike (1) where `x > threshold`, else 0.
    Threshold {
        threshold: Tensor,
    },
}

/// The `type` strings this crate reads and writes, as the `nir` package spells them.
pub const SUPPORTED_TYPES: &[&str] = &[
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "LIF",
    "IF",
    "LI",
    "CubaLIF",
    "CubaLI",
    "Threshold",
];

impl NirNode {
    /// The NIR `type` string of this node.
    pub fn type_name(&self) -> &'static str {
        match self {
            NirNode::Input { .. } => "Input",
            NirNode::Output { .. } => "Output",
            NirNode::Affine { .. } => "Affine",
            NirNode::Linear { .. } => "Linear",
            NirNode::Scale { .. } => "Scale",
            NirNode::Flatten { .. } => "Flatten",
            NirNode::Conv1d(_) => "Conv1d",
            NirNode::Conv2d(_) => "Conv2d",
            NirNode::SumPool2d(_) => "SumPool2d",
            NirNode::AvgPool2d(_) => "AvgPool2d",
            NirNode::Lif { .. } => "LIF",
            NirNode::If { .. } => "IF",
            NirNode::Li { .. } => "LI",
            NirNode::CubaLif { .. } => "CubaLIF",
            NirNode::CubaLi { .. } => "CubaLI",
            NirNode::Threshold { .. } => "Threshold",
        }
    }

    /// The HDF5 datasets this node is stored as (`type` plus one per field), exactly what
    /// [`crate::write`] puts in the node's group.
    pub fn fields(&self) -> BTreeMap<String, Object> {
        node_group(self)
    }

    /// True for the stateful neuron nodes (LIF, IF, LI, CubaLIF, CubaLI).
    pub fn is_neuron(&self) -> bool {
        matches!(
            self,
            NirNode::Lif { .. }
                | NirNode::If { .. }
                | NirNode::Li { .. }
                | NirNode::CubaLif { .. }
                | NirNode::CubaLi { .. }
        )
    }

    /// The float parameters by field name (for validation and messages).
    pub fn tensors(&self) -> Vec<(&'static str, &Tensor)> {
        match self {
            NirNode::Input { .. }
            | NirNode::Output { .. }
            | NirNode::Flatten { .. }
            | NirNode::SumPool2d(_)
            | NirNode::AvgPool2d(_) => vec![],
            NirNode::Affine { weight, bias } => vec![("weight", weight), ("bias", bias)],
            NirNode::Linear { weight } => vec![("weight", weight)],
            NirNode::Scale { scale } => vec![("scale", scale)],
            NirNode::Conv1d(c) | NirNode::Conv2d(c) => {
                vec![("weight", &c.weight), ("bias", &c.bias)]
            }
            NirNode::Lif {
                tau,
                r,
                v_leak,
                v_threshold,
                v_reset,
            } => vec![
                ("tau", tau),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
            ],
            NirNode::If {
                r,
                v_threshold,
                v_reset,
            } => vec![("r", r), ("v_threshold", v_threshold), ("v_reset", v_reset)],
            NirNode::Li { tau, r, v_leak } => vec![("tau", tau), ("r", r), ("v_leak", v_leak)],
            NirNode::CubaLif {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
            } => vec![
                ("tau_syn", tau_syn),
                ("tau_mem", tau_mem),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
                ("w_in", w_in),
            ],
            NirNode::CubaLi {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                w_in,
            } => vec![
                ("tau_syn", tau_syn),
                ("tau_mem", tau_mem),
                ("r", r),
                ("v_leak", v_leak),
                ("w_in", w_in),
            ],
            NirNode::Threshold { threshold } => vec![("threshold", threshold)],
        }
    }
}

/// Reads the fields of one node's group.
pub(crate) struct Fields<'a> {
    pub node: &'a str,
    pub g: &'a BTreeMap<String, Object>,
}

impl Fields<'_> {
    fn err(&self, field: &str, problem: impl Into<String>) -> NirError {
        graph_err(Some(self.node), Some(field), problem)
    }
    fn dataset(&self, field: &str) -> Result<Option<&Dataset>, NirError> {
        match self.g.get(field) {
            None => Ok(None),
            Some(Object::Dataset(d)) => Ok(Some(d)),
            Some(Object::Group(_)) => Err(self.err(field, "is a group, expected a dataset")),
        }
    }
    pub fn string(&self, field: &str) -> Result<String, NirError> {
        match self.dataset(field)? {
            None => Err(self.err(field, "missing")),
            Some(Dataset {
                value: Value::Str(s),
                ..
            }) if s.len() == 1 => Ok(s[0].clone()),
            Some(d) => Err(self.err(
                field,
                format!(
                    "expected one string, found {} {:?}",
                    d.value.kind(),
                    d.shape
                ),
            )),
        }
    }
    pub fn tensor_opt(&self, field: &str) -> Result<Option<Tensor>, NirError> {
        let Some(d) = self.dataset(field)? else {
            return Ok(None);
        };
        let data: Vec<f32> = match &d.value {
            Value::F32(v) => v.clone(),
            // float64 parameters are narrowed to f32 (joulebench computes in f32)
            Value::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Value::Int(v) => v.iter().map(|&x| x as f32).collect(),
            Value::Str(_) => return Err(self.err(field, "is a string, expected numbers")),
        };
        Ok(Some(Tensor {
            shape: d.shape.clone(),
            data,
        }))
    }
    pub fn tensor(&self, field: &str) -> Result<Tensor, NirError> {
        self.tensor_opt(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }
    /// Integers (scalar or vector) as a vector.
    pub fn ints_opt(&self, field: &str) -> Result<Option<Vec<i64>>, NirError> {
        let Some(d) = self.dataset(field)? else {
            return Ok(None);
        };
        let v = match &d.value {
            Value::Int(v) => v.clone(),
            Value::F32(v) => floats_to_ints(v.iter().map(|&x| x as f64))
                .ok_or_else(|| self.err(field, "expected integers"))?,
            Value::F64(v) => floats_to_ints(v.iter().copied())
                .ok_or_else(|| self.err(field, "expected integers"))?,
            Value::Str(_) => return Err(self.err(field, "is a string, expected integers")),
        };
        if d.shape.len() > 1 {
            return Err(self.err(
                field,
                format!("expected a scalar or a vector, found shape {:?}", d.shape),
            ));
        }
        Ok(Some(v))
    }
    pub fn sizes_opt(&self, field: &str) -> Result<Option<Vec<usize>>, NirError> {
        match self.ints_opt(field)? {
            None => Ok(None),
            Some(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x).map_err(|_| self.err(field, format!("negative value {x}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }
    pub fn sizes(&self, field: &str) -> Result<Vec<usize>, NirError> {
        self.sizes_opt(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }
    /// A spatial vector of `dims` entries (a scalar is repeated).
    pub fn spatial(&self, field: &str, dims: usize) -> Result<Vec<usize>, NirError> {
        let v = self.sizes(field)?;
        spread(v, dims).map_err(|p| self.err(field, p))
    }
    pub fn int(&self, field: &str) -> Result<i64, NirError> {
        match self.ints_opt(field)? {
            Some(v) if v.len() == 1 => Ok(v[0]),
            Some(v) => Err(self.err(field, format!("expected one integer, found {}", v.len()))),
            None => Err(self.err(field, "missing")),
        }
    }
}

fn floats_to_ints(v: impl Iterator<Item = f64>) -> Option<Vec<i64>> {
    v.map(|x| (x.fract() == 0.0 && x.abs() < 9e15).then_some(x as i64))
        .collect()
}

fn spread(v: Vec<usize>, dims: usize) -> Result<Vec<usize>, String> {
    match v.len() {
        1 => Ok(vec![v[0]; dims]),
        n if n == dims => Ok(v),
        n => Err(format!("expected 1 or {dims} values, found {n}")),
    }
}

/// Parses one node group (its `type` decides the fields).
pub(crate) fn parse_node(f: &Fields) -> Result<NirNode, NirError> {
    let ty = f.string("type")?;
    let conv = |dims: usize| -> Result<Conv, NirError> {
        let padding = match f.dataset("padding")? {
            Some(Dataset {
                value: Value::Str(s),
                ..
            }) => match s.first().map(String::as_str) {
                Some("same") => Padding::Same,
                Some("valid") => Padding::Valid,
                other => {
                    return Err(f.err(
                        "padding",
                        format!("{other:?} is not 'same', 'valid' or a number"),
                    ))
                }
            },
            _ => Padding::Explicit(f.spatial("padding", dims)?),
        };
        let input_shape = match f.sizes_opt("input_shape")? {
            None => None,
            Some(v) => Some(spread(v, dims).map_err(|p| f.err("input_shape", p))?),
        };
        let groups = f.int("groups")?;
        Ok(Conv {
            weight: f.tensor("weight")?,
            bias: f.tensor("bias")?,
            stride: f.spatial("stride", dims)?,
            padding,
            dilation: f.spatial("dilation", dims)?,
            groups: usize::try_from(groups)
                .ok()
                .filter(|&g| g > 0)
                .ok_or_else(|| f.err("groups", format!("{groups} is not a positive integer")))?,
            input_shape,
        })
    };
    let pool = || -> Result<Pool, NirError> {
        Ok(Pool {
            kernel_size: f.spatial("kernel_size", 2)?,
            stride: f.spatial("stride", 2)?,
            padding: f.spatial("padding", 2)?,
        })
    };
    // v_reset is absent in files older than nir 1.0: default 0 (as the nir package does)
    let v_reset = || -> Result<Tensor, NirError> {
        match f.tensor_opt("v_reset")? {
            Some(t) => Ok(t),
            None => {
                let thr = f.tensor("v_threshold")?;
                Ok(Tensor::full(&thr.shape, 0.0))
            }
        }
    };
    // w_in defaults to 1 per neuron (the nir package's default)
    let w_in = |like: &str| -> Result<Tensor, NirError> {
        match f.tensor_opt("w_in")? {
            Some(t) => Ok(t),
            None => Ok(Tensor::full(&f.tensor(like)?.shape, 1.0)),
        }
    };
    Ok(match ty.as_str() {
        "Input" => NirNode::Input { shape: f.sizes("shape")? },
        "Output" => NirNode::Output { shape: f.sizes("shape")? },
        "Affine" => NirNode::Affine {
            weight: f.tensor("weight")?,
            bias: f.tensor("bias")?,
        },
        "Linear" => NirNode::Linear { weight: f.tensor("weight")? },
        "Scale" => NirNode::Scale { scale: f.tensor("scale")? },
        "Flatten" => NirNode::Flatten {
            start_dim: f.int("start_dim")?,
            end_dim: f.int("end_dim")?,
            input_type: f.sizes_opt("input_type")?,
        },
        "Conv1d" => NirNode::Conv1d(conv(1)?),
        "Conv2d" => NirNode::Conv2d(conv(2)?),
        "SumPool2d" => NirNode::SumPool2d(pool()?),
        "AvgPool2d" => NirNode::AvgPool2d(pool()?),
        "LIF" => NirNode::Lif {
            tau: f.tensor("tau")?,
            r: f.tensor("r")?,
            v_leak: f.tensor("v_leak")?,
            v_threshold: f.tensor("v_threshold")?,
            v_reset: v_reset()?,
        },
        "IF" => NirNode::If {
            r: f.tensor("r")?,
            v_threshold: f.tensor("v_threshold")?,
            v_reset: v_reset()?,
        },
        "LI" => NirNode::Li {
            tau: f.tensor("tau")?,
            r: f.tensor("r")?,
            v_leak: f.tensor("v_leak")?,
        },
        "CubaLIF" => NirNode::CubaLif {
            tau_syn: f.tensor("tau_syn")?,
            tau_mem: f.tensor("tau_mem")?,
            r: f.tensor("r")?,
            v_leak: f.tensor("v_leak")?,
            v_threshold: f.tensor("v_threshold")?,
            v_reset: v_reset()?,
            w_in: w_in("v_threshold")?,
        },
        "CubaLI" => NirNode::CubaLi {
            tau_syn: f.tensor("tau_syn")?,
            tau_mem: f.tensor("tau_mem")?,
            r: f.tensor("r")?,
            v_leak: f.tensor("v_leak")?,
            w_in: w_in("v_leak")?,
        },
        "Threshold" => NirNode::Threshold {
            threshold: f.tensor("threshold")?,
        },
        "NIRGraph" => {
            return Err(graph_err(
                Some(f.node),
                None,
                "is a nested NIRGraph (subgraph): not supported; flatten the graph in Python before export",
            ))
        }
        other => {
            return Err(graph_err(
                Some(f.node),
                Some("type"),
                format!("unknown node type '{other}' (supported: {})", SUPPORTED_TYPES.join(", ")),
            ))
        }
    })
}

fn ds(shape: Vec<usize>, value: Value) -> Object {
    Object::Dataset(Dataset { shape, value })
}
fn tensor_obj(t: &Tensor) -> Object {
    ds(t.shape.clone(), Value::F32(t.data.clone()))
}
fn ints_obj(v: &[usize]) -> Object {
    ds(
        vec![v.len()],
        Value::Int(v.iter().map(|&x| x as i64).collect()),
    )
}
fn int_obj(x: i64) -> Object {
    ds(vec![], Value::Int(vec![x]))
}
pub(crate) fn str_obj(s: &str) -> Object {
    ds(vec![], Value::Str(vec![s.to_string()]))
}

/// The HDF5 group the `nir` package would write for `node`.
pub(crate) fn node_group(node: &NirNode) -> BTreeMap<String, Object> {
    let mut g = BTreeMap::new();
    g.insert("type".to_string(), str_obj(node.type_name()));
    for (name, t) in node.tensors() {
        g.insert(name.to_string(), tensor_obj(t));
    }
    let mut put = |k: &str, o: Object| {
        g.insert(k.to_string(), o);
    };
    match node {
        NirNode::Input { shape } | NirNode::Output { shape } => put("shape", ints_obj(shape)),
        NirNode::Flatten {
            start_dim,
            end_dim,
            input_type,
        } => {
            put("start_dim", int_obj(*start_dim));
            put("end_dim", int_obj(*end_dim));
            if let Some(t) = input_type {
                put("input_type", ints_obj(t));
            }
        }
        NirNode::Conv1d(c) | NirNode::Conv2d(c) => {
            // Conv1d's spatial fields are scalars in the nir package, Conv2d's are pairs
            let one = matches!(node, NirNode::Conv1d(_));
            let sp = |v: &[usize]| {
                if one && v.len() == 1 {
                    int_obj(v[0] as i64)
                } else {
                    ints_obj(v)
                }
            };
            put("stride", sp(&c.stride));
            put("dilation", sp(&c.dilation));
            put("groups", int_obj(c.groups as i64));
            put(
                "padding",
                match &c.padding {
                    Padding::Explicit(p) => sp(p),
                    Padding::Same => str_obj("same"),
                    Padding::Valid => str_obj("valid"),
                },
            );
            if let Some(s) = &c.input_shape {
                put("input_shape", sp(s));
            }
        }
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => {
            put("kernel_size", ints_obj(&p.kernel_size));
            put("stride", ints_obj(&p.stride));
            put("padding", ints_obj(&p.padding));
        }
        _ => {}
    }
    g
}
