//! The NIR graph: named nodes and directed edges, its checks (parameters, acyclicity, shapes
//! along every edge), its topological order and its view as a single chain.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::graph_err;
use crate::hdf5::{Dataset, Object, Value};
use crate::node::{node_group, parse_node, str_obj, Conv, Fields, NirNode, Padding, Pool};
use crate::NirError;

/// The NIR version written into files (the `nir` package release this crate was tested with).
pub const NIR_VERSION: &str = "1.0.8";

/// Each node's (input shape, output shape) by name, without batch dimension.
pub type Shapes<'a> = BTreeMap<&'a str, (Vec<usize>, Vec<usize>)>;

/// Successors (or predecessors) of every node.
type Adjacency<'a> = BTreeMap<&'a str, Vec<&'a str>>;

/// A NIR graph: nodes by name and edges `(from, to)` between them.
#[derive(Debug, Clone, PartialEq)]
pub struct NirGraph {
    pub nodes: BTreeMap<String, NirNode>,
    pub edges: Vec<(String, String)>,
}

impl NirGraph {
    /// The graph stored under `node` in a NIR file's HDF5 tree (not yet validated).
    pub(crate) fn from_tree(root: &Object) -> Result<Self, NirError> {
        let Object::Group(root) = root else {
            return Err(graph_err(None, None, "the HDF5 root is not a group"));
        };
        let Some(Object::Group(g)) = root.get("node") else {
            return Err(graph_err(
                None,
                None,
                "no 'node' group at the HDF5 root: not a NIR file (the nir package writes the graph under /node)",
            ));
        };
        let top = Fields { node: "/node", g };
        let ty = top.string("type")?;
        if ty != "NIRGraph" {
            return Err(graph_err(
                None,
                Some("node/type"),
                format!("the top node is a '{ty}', not a NIRGraph"),
            ));
        }
        let Some(Object::Group(ng)) = g.get("nodes") else {
            return Err(graph_err(
                None,
                Some("node/nodes"),
                "missing (no group of nodes)",
            ));
        };
        let mut nodes = BTreeMap::new();
        for (name, obj) in ng {
            if name.is_empty() || name == "." || name.contains(['/', '\0']) {
                return Err(graph_err(
                    None,
                    Some("node/nodes"),
                    format!("{name:?} is not a usable node name"),
                ));
            }
            let Object::Group(fg) = obj else {
                return Err(graph_err(
                    Some(name),
                    None,
                    "is a dataset, expected a group of fields",
                ));
            };
            nodes.insert(name.clone(), parse_node(&Fields { node: name, g: fg })?);
        }
        let edges = match g.get("edges") {
            None => return Err(graph_err(None, Some("node/edges"), "missing")),
            Some(Object::Dataset(Dataset {
                value: Value::Str(s),
                shape,
            })) if shape.len() == 2 && shape[1] == 2 => s
                .chunks_exact(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect(),
            // an empty edge list is written by numpy as an empty float array
            Some(Object::Dataset(d)) if d.shape.iter().product::<usize>() == 0 => Vec::new(),
            Some(Object::Dataset(d)) => {
                return Err(graph_err(
                    None,
                    Some("node/edges"),
                    format!(
                        "expected an (n, 2) array of node names, found {} {:?}",
                        d.value.kind(),
                        d.shape
                    ),
                ))
            }
            Some(Object::Group(_)) => {
                return Err(graph_err(
                    None,
                    Some("node/edges"),
                    "is a group, expected a dataset",
                ))
            }
        };
        Ok(NirGraph { nodes, edges })
    }

    /// The HDF5 tree the `nir` package writes for this graph.
    pub(crate) fn to_tree(&self) -> BTreeMap<String, Object> {
        let mut g = BTreeMap::new();
        g.insert("type".to_string(), str_obj("NIRGraph"));
        let nodes = self
            .nodes
            .iter()
            .map(|(k, n)| (k.clone(), Object::Group(node_group(n))))
            .collect();
        g.insert("nodes".to_string(), Object::Group(nodes));
        g.insert(
            "edges".to_string(),
            Object::Dataset(Dataset {
                shape: vec![self.edges.len(), 2],
                value: Value::Str(
                    self.edges
                        .iter()
                        .flat_map(|(a, b)| [a.clone(), b.clone()])
                        .collect(),
                ),
            }),
        );
        let mut root = BTreeMap::new();
        root.insert("version".to_string(), str_obj(NIR_VERSION));
        root.insert("node".to_string(), Object::Group(g));
        root
    }

    /// Checks everything [`crate::read`] checks: parameters present and finite, time constants
    /// positive, neuron parameter shapes equal, edges between existing nodes, no cycle, and
    /// every edge's shapes agreeing. Errors name the node and field.
    pub fn validate(&self) -> Result<(), NirError> {
        for (name, node) in &self.nodes {
            check_params(name, node)?;
        }
        self.shapes().map(|_| ())
    }

    /// Successors and predecessors of every node, in edge order (edges must name nodes).
    fn adjacency(&self) -> (Adjacency<'_>, Adjacency<'_>) {
        let mut succ: BTreeMap<&str, Vec<&str>> =
            self.nodes.keys().map(|k| (k.as_str(), vec![])).collect();
        let mut pred = succ.clone();
        for (a, b) in &self.edges {
            if let Some(v) = succ.get_mut(a.as_str()) {
                v.push(b);
            }
            if let Some(v) = pred.get_mut(b.as_str()) {
                v.push(a);
            }
        }
        (succ, pred)
    }

    /// Node names in an order where every edge goes forward. Refuses a missing node in an
    /// edge, and a cycle (naming the nodes on it).
    pub fn topological_order(&self) -> Result<Vec<&str>, NirError> {
        for (a, b) in &self.edges {
            for n in [a, b] {
                if !self.nodes.contains_key(n) {
                    return Err(graph_err(
                        None,
                        Some("edges"),
                        format!(
                            "edge '{a}' → '{b}' names node '{n}', which the graph does not have"
                        ),
                    ));
                }
            }
        }
        let (succ, pred) = self.adjacency();
        let mut indeg: BTreeMap<&str, usize> = pred.iter().map(|(k, v)| (*k, v.len())).collect();
        let mut ready: Vec<&str> = indeg
            .iter()
            .filter(|(_, &d)| d == 0)
            .map(|(k, _)| *k)
            .collect();
        ready.reverse();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(n) = ready.pop() {
            order.push(n);
            for b in &succ[n] {
                let d = indeg.get_mut(b).expect("checked above");
                *d -= 1;
                if *d == 0 {
                    ready.push(b);
                }
            }
        }
        if order.len() < self.nodes.len() {
            let cycle = find_cycle(&indeg, &pred);
            return Err(graph_err(
                None,
                None,
                format!(
                    "the graph has a cycle ({}): recurrent NIR graphs are not supported",
                    cycle.join(" → ")
                ),
            ));
        }
        Ok(order)
    }

    /// Each node's (input shape, output shape), checked along every edge. Inputs feeding one
    /// node must agree (NIR sums them).
    pub fn shapes(&self) -> Result<Shapes<'_>, NirError> {
        let order = self.topological_order()?;
        let (_, pred) = self.adjacency();
        let mut out: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for name in order {
            let node = &self.nodes[name];
            let preds = &pred[name];
            let input = match (node, preds.first()) {
                (NirNode::Input { shape }, None) => shape.clone(),
                (NirNode::Input { .. }, Some(p)) => {
                    return Err(graph_err(
                        Some(name),
                        None,
                        format!("is an Input but has an incoming edge from '{p}'"),
                    ))
                }
                (_, None) => {
                    return Err(graph_err(
                        Some(name),
                        None,
                        "has no incoming edge (only Input nodes may)",
                    ))
                }
                (_, Some(p)) => {
                    let s = out[p].1.clone();
                    for q in &preds[1..] {
                        if out[q].1 != s {
                            return Err(graph_err(
                                Some(name),
                                None,
                                format!(
                                    "receives shape {:?} from '{p}' but {:?} from '{q}'",
                                    s, out[q].1
                                ),
                            ));
                        }
                    }
                    s
                }
            };
            let output = output_shape(node, &input).map_err(|(field, problem)| {
                let from = preds
                    .first()
                    .map(|p| format!(" (from '{p}')"))
                    .unwrap_or_default();
                graph_err(
                    Some(name),
                    field,
                    format!("{problem}; its input shape is {input:?}{from}"),
                )
            })?;
            out.insert(name, (input, output));
        }
        Ok(out)
    }

    /// The graph as one chain `Input → … → Output`, in order, when it is one: exactly one Input,
    /// one Output, and every node with at most one incoming and one outgoing edge, all on the
    /// path. The importer builds a layer stack from this.
    pub fn chain(&self) -> Result<Vec<(&str, &NirNode)>, NirError> {
        self.topological_order()?;
        let inputs: Vec<&str> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!(n, NirNode::Input { .. }))
            .map(|(k, _)| k.as_str())
            .collect();
        if inputs.len() != 1 {
            return Err(graph_err(
                None,
                None,
                format!(
                    "a chain needs exactly one Input node, the graph has {} ({})",
                    inputs.len(),
                    inputs.join(", ")
                ),
            ));
        }
        let (succ, pred) = self.adjacency();
        for name in self.nodes.keys() {
            let outs = &succ[name.as_str()];
            if outs.len() > 1 {
                return Err(graph_err(Some(name), None, format!("branches to {} nodes ({}): only a single chain Input → … → Output can be imported", outs.len(), outs.join(", "))));
            }
            let ins = &pred[name.as_str()];
            if ins.len() > 1 {
                return Err(graph_err(Some(name), None, format!("merges {} inputs ({}): only a single chain Input → … → Output can be imported", ins.len(), ins.join(", "))));
            }
        }
        let mut chain = Vec::with_capacity(self.nodes.len());
        let mut cur = inputs[0];
        loop {
            chain.push((cur, &self.nodes[cur]));
            match succ[cur].first() {
                Some(b) => cur = b,
                None => break,
            }
        }
        if !matches!(chain.last().map(|c| c.1), Some(NirNode::Output { .. })) {
            return Err(graph_err(
                Some(cur),
                None,
                "ends the chain from the Input but is not an Output node",
            ));
        }
        if chain.len() != self.nodes.len() {
            let on: BTreeSet<&str> = chain.iter().map(|c| c.0).collect();
            let off: Vec<&str> = self
                .nodes
                .keys()
                .map(String::as_str)
                .filter(|k| !on.contains(k))
                .collect();
            return Err(graph_err(
                None,
                None,
                format!("nodes not on the Input → Output chain: {}", off.join(", ")),
            ));
        }
        Ok(chain)
    }
}

/// One cycle among the nodes Kahn's algorithm left (`indeg` > 0), first node repeated last.
fn find_cycle<'a>(
    indeg: &BTreeMap<&'a str, usize>,
    pred: &BTreeMap<&'a str, Vec<&'a str>>,
) -> Vec<&'a str> {
    let left: BTreeSet<&str> = indeg
        .iter()
        .filter(|(_, &d)| d > 0)
        .map(|(k, _)| *k)
        .collect();
    // every remaining node has a predecessor among the remaining ones: walk backwards until a
    // node repeats
    let Some(&start) = left.iter().next() else {
        return vec![];
    };
    let mut path = vec![start];
    let mut on_path: BTreeMap<&str, usize> = BTreeMap::from([(start, 0)]);
    loop {
        let cur = *path.last().expect("not empty");
        let Some(&prev) = pred[cur].iter().find(|p| left.contains(*p)) else {
            return path;
        };
        if let Some(&i) = on_path.get(prev) {
            // path[i..] walks the cycle backwards: reverse it, start at its smallest name
            let mut cyc: Vec<&str> = path[i..].to_vec();
            cyc.reverse();
            let first = (0..cyc.len()).min_by_key(|&j| cyc[j]).unwrap_or(0);
            cyc.rotate_left(first);
            cyc.push(cyc[0]);
            return cyc;
        }
        on_path.insert(prev, path.len());
        path.push(prev);
    }
}

/// Parameters present, finite, time constants positive, neuron parameter shapes equal.
fn check_params(name: &str, node: &NirNode) -> Result<(), NirError> {
    for (field, t) in node.tensors() {
        let n: usize = t.shape.iter().product();
        if n != t.data.len() {
            return Err(graph_err(
                Some(name),
                Some(field),
                format!("{} values for shape {:?}", t.data.len(), t.shape),
            ));
        }
        if t.data.is_empty() {
            return Err(graph_err(Some(name), Some(field), "is empty"));
        }
        if let Some((i, v)) = t.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(graph_err(
                Some(name),
                Some(field),
                format!("value {i} is {v} (parameters must be finite)"),
            ));
        }
        if field.starts_with("tau") {
            if let Some((i, v)) = t.data.iter().enumerate().find(|(_, &v)| v <= 0.0) {
                return Err(graph_err(
                    Some(name),
                    Some(field),
                    format!("value {i} is {v}: a time constant must be > 0"),
                ));
            }
        }
    }
    if node.is_neuron() {
        let ts = node.tensors();
        let (f0, t0) = ts[0];
        for (f, t) in &ts[1..] {
            if t.shape != t0.shape {
                return Err(graph_err(
                    Some(name),
                    Some(f),
                    format!(
                        "has shape {:?} ({} neurons) but '{f0}' has shape {:?} ({} neurons)",
                        t.shape,
                        t.len(),
                        t0.shape,
                        t0.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

type ShapeErr = (Option<&'static str>, String);

/// The output shape of `node` for `input` (no batch dimension), or (field, problem).
pub fn output_shape(
    node: &NirNode,
    input: &[usize],
) -> Result<Vec<usize>, (Option<&'static str>, String)> {
    let same = |field: &'static str, shape: &[usize]| -> Result<Vec<usize>, ShapeErr> {
        if shape == input {
            Ok(input.to_vec())
        } else {
            Err((
                Some(field),
                format!(
                    "has shape {shape:?} ({} values) but the node receives shape {input:?} ({} values): one value per neuron is needed",
                    shape.iter().product::<usize>(),
                    input.iter().product::<usize>()
                ),
            ))
        }
    };
    match node {
        NirNode::Input { shape } => Ok(shape.clone()),
        NirNode::Output { shape } => {
            if shape == input {
                Ok(shape.clone())
            } else {
                Err((
                    Some("shape"),
                    format!("declares shape {shape:?} but receives {input:?}"),
                ))
            }
        }
        NirNode::Affine { weight, bias } => {
            let out = dense(weight, input)?;
            if bias.shape != out {
                return Err((
                    Some("bias"),
                    format!("has shape {:?}, the weight's output is {out:?}", bias.shape),
                ));
            }
            Ok(out)
        }
        NirNode::Linear { weight } => dense(weight, input),
        NirNode::Scale { scale } => same("scale", &scale.shape),
        NirNode::Threshold { threshold } => same("threshold", &threshold.shape),
        n if n.is_neuron() => {
            let ts = n.tensors();
            same(ts[0].0, &ts[0].1.shape)
        }
        NirNode::Flatten {
            start_dim,
            end_dim,
            input_type,
        } => {
            if let Some(t) = input_type {
                if t != input {
                    return Err((Some("input_type"), format!("declares input shape {t:?}")));
                }
            }
            let r = input.len() as i64;
            let norm = |d: i64| if d < 0 { d + r } else { d };
            let (s, e) = (norm(*start_dim), norm(*end_dim));
            if !(0 <= s && s <= e && e < r) {
                return Err((
                    Some("start_dim"),
                    format!("dimensions {start_dim}..={end_dim} do not fit an input of rank {r}"),
                ));
            }
            let (s, e) = (s as usize, e as usize);
            let mut out = input[..s].to_vec();
            out.push(input[s..=e].iter().product());
            out.extend_from_slice(&input[e + 1..]);
            Ok(out)
        }
        NirNode::Conv1d(c) => conv(c, input, 1),
        NirNode::Conv2d(c) => conv(c, input, 2),
        NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => pool(p, input),
        _ => unreachable!("every node type handled above"),
    }
}

fn dense(weight: &crate::Tensor, input: &[usize]) -> Result<Vec<usize>, ShapeErr> {
    if weight.shape.len() != 2 {
        return Err((
            Some("weight"),
            format!("has shape {:?}, expected (out, in)", weight.shape),
        ));
    }
    if input != [weight.shape[1]] {
        return Err((
            Some("weight"),
            format!(
                "has shape {:?} (takes {} inputs) but the node receives shape {input:?}",
                weight.shape, weight.shape[1]
            ),
        ));
    }
    Ok(vec![weight.shape[0]])
}

/// PyTorch's size rule per spatial dimension: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1.
fn spatial_out(n: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    if s == 0 || d == 0 || k == 0 {
        return None;
    }
    let span = d.checked_mul(k - 1)?.checked_add(1)?;
    let padded = n.checked_add(p.checked_mul(2)?)?;
    padded.checked_sub(span).map(|x| x / s + 1)
}

fn conv(c: &Conv, input: &[usize], dims: usize) -> Result<Vec<usize>, ShapeErr> {
    let w = &c.weight.shape;
    if w.len() != dims + 2 {
        return Err((
            Some("weight"),
            format!(
                "has shape {w:?}, expected (C_out, C_in/groups{})",
                if dims == 1 { ", k" } else { ", kH, kW" }
            ),
        ));
    }
    if c.bias.shape != [w[0]] {
        return Err((
            Some("bias"),
            format!("has shape {:?}, expected [{}]", c.bias.shape, w[0]),
        ));
    }
    if input.len() != dims + 1 {
        return Err((
            None,
            format!(
                "expects a (channels{}) input",
                if dims == 1 {
                    ", length"
                } else {
                    ", height, width"
                }
            ),
        ));
    }
    if input[0] != w[1] * c.groups || !w[0].is_multiple_of(c.groups) {
        return Err((
            Some("weight"),
            format!(
                "has shape {w:?} with groups {} ({} input channels) but the input has {} channels",
                c.groups,
                w[1] * c.groups,
                input[0]
            ),
        ));
    }
    if let Some(s) = &c.input_shape {
        if s[..] != input[1..] {
            return Err((Some("input_shape"), format!("declares spatial size {s:?}")));
        }
    }
    let mut out = vec![w[0]];
    for i in 0..dims {
        let n = input[1 + i];
        let o = match &c.padding {
            Padding::Same => Some(n),
            Padding::Valid => spatial_out(n, w[2 + i], c.stride[i], 0, c.dilation[i]),
            Padding::Explicit(p) => spatial_out(n, w[2 + i], c.stride[i], p[i], c.dilation[i]),
        };
        out.push(o.filter(|&o| o > 0).ok_or((
            Some("weight"),
            format!("kernel {w:?} does not fit spatial size {n}"),
        ))?);
    }
    Ok(out)
}

fn pool(p: &Pool, input: &[usize]) -> Result<Vec<usize>, ShapeErr> {
    if input.len() != 3 {
        return Err((None, "expects a (channels, height, width) input".into()));
    }
    let mut out = vec![input[0]];
    for i in 0..2 {
        let o = spatial_out(input[1 + i], p.kernel_size[i], p.stride[i], p.padding[i], 1)
            .filter(|&o| o > 0)
            .ok_or((
                Some("kernel_size"),
                format!(
                    "{:?} with stride {:?} does not fit",
                    p.kernel_size, p.stride
                ),
            ))?;
        out.push(o);
    }
    Ok(out)
}
