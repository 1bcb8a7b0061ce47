//! NIR graph → [`ModelSpec`] + [`Weights`]: a chain `Input → … → Output` becomes a layer stack,
//! each continuous-time neuron discretized with the time step `dt` (see the module documentation
//! of [`crate::nir`] for the equations).

use joulebench_nir::{Conv, NirError, NirGraph, NirNode, Padding, Tensor as NirTensor};

use crate::spec::{
    Encoding, Layer, LifParams, ModelSpec, Op, Preprocess, Readout, Reset, Surrogate,
};
use crate::tensor::Tensor;
use crate::weights::Weights;

use super::pool::{self, Pending, PoolKind, Pooling};

/// How to discretize and run an imported graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportOptions {
    /// Time step in seconds (snnTorch's export convention: `1e-4`).
    pub dt: f64,
    /// Time steps `T` per inference.
    pub steps: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dt: 1e-4,
            steps: 100,
        }
    }
}

/// An imported network: what a run folder holds, plus notes for the user (what was folded).
#[derive(Debug, Clone)]
pub struct Imported {
    pub spec: ModelSpec,
    pub weights: Weights,
    pub notes: Vec<String>,
}

/// Errors name the file (`file`), the node and the field.
struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, node: &str, field: Option<&str>, problem: impl Into<String>) -> NirError {
        NirError::Graph {
            file: self.file.to_string(),
            node: Some(node.to_string()),
            field: field.map(str::to_string),
            problem: problem.into(),
        }
    }
}

/// The last weighted layer whose output feeds the node being imported directly (so a
/// neuron's input gain and leak can be folded into its weights and bias).
struct Weighted {
    layer: String,
    /// Output channels (Linear: features; Conv: channels).
    channels: usize,
    /// Elements per channel of the output (1 for Linear, H·W or L for a convolution).
    per_channel: usize,
}

/// Imports `graph` (read from `file`, which names it in errors).
pub fn import(graph: &NirGraph, file: &str, opts: &ImportOptions) -> Result<Imported, NirError> {
    let cx = Ctx { file };
    if !(opts.dt.is_finite() && opts.dt > 0.0) {
        return Err(NirError::Graph {
            file: file.into(),
            node: None,
            field: Some("dt".into()),
            problem: format!("the time step must be a finite number > 0, got {}", opts.dt),
        });
    }
    if opts.steps == 0 {
        return Err(NirError::Graph {
            file: file.into(),
            node: None,
            field: None,
            problem: "at least 1 time step is needed".into(),
        });
    }
    let chain = graph.chain().map_err(|e| e.in_file(file))?;
    let shapes = graph.shapes().map_err(|e| e.in_file(file))?;
    let mut input_shape = None;
    let mut output_shape = None;
    let mut layers: Vec<Layer> = Vec::new();
    let mut weights = Weights::default();
    let mut notes = Vec::new();
    let mut weighted: Option<Weighted> = None;
    // Whether the stack so far ends in a spiking neuron, a leaky integrator, or neither.
    let mut tail = Tail::Other;
    // A pool after a neuron (or the Input), folded into the weighted layer after it.
    let mut pending: Option<Pending> = None;
    let folded = |e: pool::FoldError| cx.err(&e.node, e.field, e.problem);
    for (name, node) in chain {
        let (in_shape, out_shape) = shapes[name].clone();
        if let Some(p) = &pending {
            p.check_next(name, node).map_err(folded)?;
        }
        let lname = layer_name(name, layers.len());
        let mut next_weighted = None;
        match node {
            NirNode::Input { shape } => input_shape = Some(shape.clone()),
            NirNode::Output { shape } => output_shape = Some(shape.clone()),
            NirNode::Affine { weight, bias } => {
                let (out, inp) = linear_dims(&cx, name, weight, &in_shape)?;
                layers.push(linear(&lname, inp, out));
                weights.insert(format!("{lname}.weight"), tensor(weight));
                weights.insert(format!("{lname}.bias"), tensor(bias));
                next_weighted = Some(Weighted {
                    layer: lname,
                    channels: out,
                    per_channel: 1,
                });
            }
            NirNode::Linear { weight } => {
                let (out, inp) = linear_dims(&cx, name, weight, &in_shape)?;
                layers.push(linear(&lname, inp, out));
                weights.insert(format!("{lname}.weight"), tensor(weight));
                weights.insert(format!("{lname}.bias"), Tensor::zeros(vec![out]));
                notes.push(format!("{name}: Linear imported with a zero bias"));
                next_weighted = Some(Weighted {
                    layer: lname,
                    channels: out,
                    per_channel: 1,
                });
            }
            NirNode::Conv1d(c) | NirNode::Conv2d(c) => {
                let two_d = matches!(node, NirNode::Conv2d(_));
                let op = conv_op(&cx, name, c, two_d)?;
                layers.push(Layer {
                    name: lname.clone(),
                    op,
                });
                weights.insert(format!("{lname}.weight"), tensor(&c.weight));
                weights.insert(format!("{lname}.bias"), tensor(&c.bias));
                let channels = c.weight.shape[0];
                next_weighted = Some(Weighted {
                    layer: lname,
                    channels,
                    per_channel: out_shape.iter().skip(1).product(),
                });
            }
            NirNode::Flatten { .. } => {
                if out_shape.len() != 1 {
                    return Err(cx.err(
                        name,
                        Some("start_dim"),
                        format!(
                            "flattens {in_shape:?} to {out_shape:?}: joulebench flattens every dimension of a sample, not a part"
                        ),
                    ));
                }
                if in_shape.len() > 1 {
                    layers.push(Layer {
                        name: lname,
                        op: Op::Flatten,
                    });
                }
            }
            NirNode::Scale { scale } => {
                let Some(w) = weighted.as_ref() else {
                    return Err(cx.err(
                        name,
                        Some("scale"),
                        "a Scale node needs an Affine, Linear or Conv node right before it to be folded into",
                    ));
                };
                let gain = per_channel(&cx, name, "scale", scale, w)?;
                fold(&mut weights, w, &gain, None);
                notes.push(format!("{name}: Scale folded into {}", w.layer));
                next_weighted = weighted.take();
            }
            NirNode::SumPool2d(p) | NirNode::AvgPool2d(p) => {
                let kind = match node {
                    NirNode::SumPool2d(_) => PoolKind::Sum,
                    _ => PoolKind::Avg,
                };
                let pooling = Pooling::from_nir(name, kind, p).map_err(folded)?;
                if let Some(w) = weighted.take() {
                    // right after a convolution: into it (see `pool`)
                    let layer = layers
                        .iter_mut()
                        .find(|l| l.name == w.layer)
                        .expect("the weighted layer is in the stack");
                    notes.push(
                        pool::fold_backward(name, &pooling, layer, &mut weights).map_err(folded)?,
                    );
                    next_weighted = Some(Weighted {
                        per_channel: out_shape[1..].iter().product(),
                        ..w
                    });
                } else {
                    // after a neuron or the Input: into the weighted layer after it
                    pending = Some(Pending::new(name, pooling, &in_shape).map_err(folded)?);
                }
            }
            NirNode::Lif { .. }
            | NirNode::If { .. }
            | NirNode::Li { .. }
            | NirNode::CubaLif { .. }
            | NirNode::CubaLi { .. }
            | NirNode::Threshold { .. } => {
                let n = in_shape.iter().product::<usize>();
                let d = dynamics(&cx, name, node, n, opts.dt)?;
                fold_neuron(
                    &cx,
                    name,
                    &mut weights,
                    weighted.as_ref(),
                    (&d.gain, d.gain_is),
                    &d.bias,
                    &mut notes,
                )?;
                let alpha = d.alpha.as_deref();
                match firing(&cx, name, node, n)? {
                    Some((theta, v_reset)) => {
                        push_lif(
                            &mut layers,
                            &mut weights,
                            &lname,
                            &d.beta,
                            &theta,
                            v_reset.as_deref(),
                            alpha,
                        );
                        tail = Tail::Spiking;
                    }
                    None => {
                        // a leaky integrator is a LIF that never fires and never resets
                        let never = vec![f32::MAX; n];
                        push_lif(
                            &mut layers,
                            &mut weights,
                            &lname,
                            &d.beta,
                            &never,
                            None,
                            alpha,
                        );
                        tail = Tail::Integrator(name.to_string());
                    }
                }
            }
        }
        if let Tail::Integrator(li) = &tail {
            if !matches!(
                node,
                NirNode::Li { .. } | NirNode::CubaLi { .. } | NirNode::Output { .. }
            ) {
                return Err(cx.err(
                    li,
                    None,
                    format!(
                        "a leaky integrator (LI) passes its membrane on, which joulebench's layers (spikes between layers) cannot express unless it is the last node before the Output; '{name}' follows it"
                    ),
                ));
            }
        }
        if let (Some(w), Some(p)) = (&next_weighted, &pending) {
            let layer = layers
                .iter_mut()
                .find(|l| l.name == w.layer)
                .expect("the weighted layer is in the stack");
            notes.push(pool::fold_forward(p, name, layer, &mut weights).map_err(folded)?);
            pending = None;
        }
        weighted = next_weighted;
    }
    let input_shape = input_shape.expect("a chain starts with its Input");
    let output_shape = output_shape.expect("a chain ends with its Output");
    let readout = match tail {
        Tail::Spiking if matches!(layers.last().map(|l| &l.op), Some(Op::Lif(_))) => {
            Readout::SpikeCount
        }
        Tail::Integrator(_) => Readout::MembraneMean,
        _ => Readout::Output,
    };
    let spec = ModelSpec {
        preset: "nir".into(),
        input_shape,
        num_classes: output_shape.iter().product(),
        preprocess: Preprocess::default(),
        encoding: Encoding::Rate,
        steps: opts.steps,
        readout,
        layers,
    };
    spec.validate().map_err(|e| NirError::Graph {
        file: file.into(),
        node: None,
        field: None,
        problem: format!("the imported network is not valid: {e}"),
    })?;
    weights.check_against(&spec).map_err(|e| NirError::Graph {
        file: file.into(),
        node: None,
        field: None,
        problem: format!("the imported weights do not fit the network: {e}"),
    })?;
    Ok(Imported {
        spec,
        weights,
        notes,
    })
}

enum Tail {
    Other,
    Spiking,
    Integrator(String),
}

/// Layer names keep the NIR node names where they are usable as tensor-name prefixes.
fn layer_name(node: &str, index: usize) -> String {
    let clean: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        format!("layer{index}")
    } else {
        clean
    }
}

fn linear(name: &str, inp: usize, out: usize) -> Layer {
    Layer {
        name: name.to_string(),
        op: Op::Linear {
            in_features: inp,
            out_features: out,
        },
    }
}

/// `(out, in)` of a weight matrix applied to a vector input (a sample of another rank needs a
/// Flatten node before it).
fn linear_dims(
    cx: &Ctx<'_>,
    node: &str,
    w: &NirTensor,
    input: &[usize],
) -> Result<(usize, usize), NirError> {
    if input.len() != 1 {
        return Err(cx.err(
            node,
            Some("weight"),
            format!("is applied to an input of shape {input:?}: joulebench's dense layers take vectors (put a Flatten node before it)"),
        ));
    }
    match w.shape[..] {
        [out, inp] => Ok((out, inp)),
        _ => Err(cx.err(
            node,
            Some("weight"),
            format!("must be a matrix (out, in), got shape {:?}", w.shape),
        )),
    }
}

fn conv_op(cx: &Ctx<'_>, node: &str, c: &Conv, two_d: bool) -> Result<Op, NirError> {
    let dims = if two_d { 2 } else { 1 };
    if c.groups != 1 {
        return Err(cx.err(
            node,
            Some("groups"),
            format!("only groups = 1 is supported, got {}", c.groups),
        ));
    }
    if c.dilation.iter().any(|&d| d != 1) {
        return Err(cx.err(
            node,
            Some("dilation"),
            format!("only dilation 1 is supported, got {:?}", c.dilation),
        ));
    }
    let k = &c.weight.shape[2..];
    if k.len() != dims || k.iter().any(|&x| x != k[0]) {
        return Err(cx.err(
            node,
            Some("weight"),
            format!("only square kernels are supported, got {k:?}"),
        ));
    }
    let kernel = k[0];
    let stride = uniform(cx, node, "stride", &c.stride)?;
    let padding = match &c.padding {
        Padding::Explicit(p) => uniform(cx, node, "padding", p)?,
        Padding::Valid => 0,
        Padding::Same if stride == 1 && kernel % 2 == 1 => kernel / 2,
        Padding::Same => {
            return Err(cx.err(
                node,
                Some("padding"),
                "'same' padding is supported for stride 1 and an odd kernel only",
            ))
        }
    };
    let (out_channels, in_channels) = (c.weight.shape[0], c.weight.shape[1]);
    Ok(if two_d {
        Op::Conv2d {
            in_channels,
            out_channels,
            kernel_size: kernel,
            stride,
            padding,
        }
    } else {
        Op::Conv1d {
            in_channels,
            out_channels,
            kernel_size: kernel,
            stride,
            padding,
        }
    })
}

fn uniform(cx: &Ctx<'_>, node: &str, field: &str, v: &[usize]) -> Result<usize, NirError> {
    match v.first() {
        Some(&x) if v.iter().all(|&y| y == x) => Ok(x),
        _ => Err(cx.err(
            node,
            Some(field),
            format!("must be the same in every dimension, got {v:?}"),
        )),
    }
}

fn tensor(t: &NirTensor) -> Tensor {
    Tensor {
        shape: t.shape.clone(),
        data: t.data.clone(),
    }
}

/// One value per neuron: a scalar (one element) is broadcast; otherwise the element count must
/// be the neuron count.
fn per_neuron(
    cx: &Ctx<'_>,
    node: &str,
    field: &str,
    t: &NirTensor,
    n: usize,
) -> Result<Vec<f32>, NirError> {
    let v = match t.data.len() {
        1 => vec![t.data[0]; n],
        len if len == n => t.data.clone(),
        len => {
            return Err(cx.err(
                node,
                Some(field),
                format!("has {len} values for {n} neurons"),
            ))
        }
    };
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(cx.err(
            node,
            Some(field),
            format!("value {} at neuron {i} is not finite", v[i]),
        ));
    }
    Ok(v)
}

/// Per output channel of the weighted layer `w` (a scalar is broadcast; for a convolution, one
/// value per channel, or one per output element when it is the same across each channel).
fn per_channel(
    cx: &Ctx<'_>,
    node: &str,
    field: &str,
    t: &NirTensor,
    w: &Weighted,
) -> Result<Vec<f32>, NirError> {
    let n = w.channels * w.per_channel;
    let v = per_neuron(cx, node, field, t, n)?;
    let mut out = Vec::with_capacity(w.channels);
    for c in 0..w.channels {
        let chunk = &v[c * w.per_channel..(c + 1) * w.per_channel];
        if chunk.iter().any(|x| x.to_bits() != chunk[0].to_bits()) {
            return Err(cx.err(
                node,
                Some(field),
                format!(
                    "differs within channel {c} of '{}': it can be folded into the convolution only when it is the same for every position of a channel",
                    w.layer
                ),
            ));
        }
        out.push(chunk[0]);
    }
    Ok(out)
}

/// `W ← g ⊙ W` (row / output channel `c` scaled by `gain[c]`), `b ← g ⊙ b + add`.
fn fold(weights: &mut Weights, w: &Weighted, gain: &[f32], add: Option<&[f32]>) {
    let wt = weights
        .tensors
        .get_mut(&format!("{}.weight", w.layer))
        .expect("weighted layers have a weight");
    let per_row = wt.data.len() / w.channels;
    for (c, row) in wt.data.chunks_mut(per_row).enumerate() {
        if gain[c] != 1.0 {
            row.iter_mut().for_each(|x| *x *= gain[c]);
        }
    }
    let bt = weights
        .tensors
        .get_mut(&format!("{}.bias", w.layer))
        .expect("weighted layers have a bias");
    for (c, b) in bt.data.iter_mut().enumerate() {
        if gain[c] != 1.0 {
            *b *= gain[c];
        }
        if let Some(add) = add {
            *b += add[c];
        }
    }
}

/// An input gain `r·dt/τ` this close to 1 is 1: `r = τ/dt` written in float32 (snnTorch's
/// convention) rounds, and snnTorch's own importer treats such gains as 1 (`np.allclose`).
pub const UNIT_GAIN_TOLERANCE: f32 = 1e-6;

/// Folds a neuron's input gain and constant input into the weighted layer before it; nothing to
/// do (and no layer needed) when the gain is 1 and the constant 0 for every neuron.
fn fold_neuron(
    cx: &Ctx<'_>,
    node: &str,
    weights: &mut Weights,
    w: Option<&Weighted>,
    (gain, gain_is): (&[f32], &str),
    bias: &[f32],
    notes: &mut Vec<String>,
) -> Result<(), NirError> {
    let unit = gain.iter().all(|&g| g == 1.0) && bias.iter().all(|&b| b == 0.0);
    if unit {
        return Ok(());
    }
    let gain: Vec<f32> = gain
        .iter()
        .map(|&g| {
            if (g - 1.0).abs() <= UNIT_GAIN_TOLERANCE {
                1.0
            } else {
                g
            }
        })
        .collect();
    let gain = &gain[..];
    if gain.iter().all(|&g| g == 1.0) && bias.iter().all(|&b| b == 0.0) {
        return Ok(());
    }
    let Some(w) = w else {
        return Err(cx.err(
            node,
            Some("r"),
            format!("its input gain ({gain_is}) is not 1 or its leak (v_leak) is not 0, which joulebench folds into an Affine, Linear or Conv node right before the neuron — there is none"),
        ));
    };
    let g = per_channel(cx, node, "r", &NirTensor::vector(gain.to_vec()), w)?;
    let b = per_channel(cx, node, "v_leak", &NirTensor::vector(bias.to_vec()), w)?;
    fold(weights, w, &g, Some(&b));
    let leak = bias.iter().any(|&b| b != 0.0);
    notes.push(format!(
        "{node}: input gain {gain_is}{} folded into {}'s weights{}",
        if leak { " and leak dt/τ·v_leak" } else { "" },
        w.layer,
        if leak { " and bias" } else { "" },
    ));
    Ok(())
}

/// `β = 1 − dt/τ` per neuron, as an f32. A τ written by snnTorch's exporter (`τ = dt/(1−β)` in
/// float32) gives back exactly its β for β ≥ 0.5 (below 0.5, `1 − β` itself rounds and the file
/// cannot tell neighbouring values apart): the nearest f32 to `1 − dt/τ` or a neighbour, whichever
/// reproduces τ that way. τ must be ≥ dt (else β < 0: the Euler step diverges).
fn betas(
    cx: &Ctx<'_>,
    node: &str,
    field: &str,
    tau: &[f32],
    dt: f64,
) -> Result<Vec<f32>, NirError> {
    tau.iter()
        .copied()
        .enumerate()
        .map(|(i, t)| {
            if t.is_nan() || t <= 0.0 {
                return Err(cx.err(node, Some(field), format!("must be > 0, got {t} at neuron {i}")));
            }
            if (t as f64) < dt {
                return Err(cx.err(
                    node,
                    Some(field),
                    format!("τ = {t} s at neuron {i} is shorter than the time step dt = {dt} s (β = 1 − dt/τ < 0): pass a smaller --dt"),
                ));
            }
            Ok(beta_from_tau(t, dt))
        })
        .collect()
}

/// A leaky neuron's `β` (see [`betas`]), input gain `r·dt/τ` and constant input `dt/τ·v_leak`,
/// one per neuron, from its `[tau, r, v_leak]` tensors.
fn leaky(
    cx: &Ctx<'_>,
    node: &str,
    [tau, r, v_leak]: [&NirTensor; 3],
    n: usize,
    dt: f64,
) -> Result<[Vec<f32>; 3], NirError> {
    let taus = per_neuron(cx, node, "tau", tau, n)?;
    let beta = betas(cx, node, "tau", &taus, dt)?;
    let dt_tau: Vec<f64> = taus.iter().map(|&t| dt / t as f64).collect();
    let times = |field: &str, t: &NirTensor| -> Result<Vec<f32>, NirError> {
        Ok(per_neuron(cx, node, field, t, n)?
            .iter()
            .zip(&dt_tau)
            .map(|(&x, &k)| (x as f64 * k) as f32)
            .collect())
    };
    Ok([beta, times("r", r)?, times("v_leak", v_leak)?])
}

/// `β = 1 − dt/τ` as an f32: the nearest f32 to `1 − dt/τ`, or a neighbour of it when that one
/// gives back `τ` as snnTorch's exporter computes it (`dt/(1 − β)` in float32), so that an LIF
/// written by snnTorch comes back as exactly its β (for β ≥ 0.5).
pub fn beta_from_tau(tau: f32, dt: f64) -> f32 {
    let b = (1.0 - dt / tau as f64) as f32;
    let dt32 = dt as f32;
    let next = |x: f32, up: bool| -> f32 {
        if x == 0.0 {
            return if up { f32::from_bits(1) } else { x };
        }
        let bits = x.to_bits();
        f32::from_bits(if up == (x > 0.0) { bits + 1 } else { bits - 1 })
    };
    [b, next(b, false), next(b, true)]
        .into_iter()
        .find(|&c| (0.0..=1.0).contains(&c) && dt32 / (1.0 - c) == tau)
        .unwrap_or(b)
}

/// A neuron node's discretized dynamics, one value per neuron: `β`, the synaptic `α` of a
/// current-based neuron, and the input gain (with its formula, for messages) and constant input
/// folded into the layer before it.
struct Dynamics {
    beta: Vec<f32>,
    alpha: Option<Vec<f32>>,
    gain: Vec<f32>,
    gain_is: &'static str,
    bias: Vec<f32>,
}

/// The dynamics of neuron node `node` (LIF, IF, LI, CubaLIF, CubaLI, Threshold) over `n`
/// neurons with time step `dt` (see the table in `super`):
/// LIF/LI `β = 1 − dt/τ`, gain `r·dt/τ`, input `dt/τ·v_leak`; IF `β = 1`, gain `r·dt`;
/// CubaLIF/CubaLI [`cuba`]; Threshold `β = 0` (`U[t] = I[t]`), gain 1.
fn dynamics(
    cx: &Ctx<'_>,
    node: &str,
    n_node: &NirNode,
    n: usize,
    dt: f64,
) -> Result<Dynamics, NirError> {
    let zero = || vec![0.0; n];
    Ok(match n_node {
        NirNode::Lif { tau, r, v_leak, .. } | NirNode::Li { tau, r, v_leak } => {
            let [beta, gain, bias] = leaky(cx, node, [tau, r, v_leak], n, dt)?;
            Dynamics {
                beta,
                alpha: None,
                gain,
                gain_is: "r·dt/τ",
                bias,
            }
        }
        NirNode::If { r, .. } => Dynamics {
            beta: vec![1.0; n],
            alpha: None,
            gain: per_neuron(cx, node, "r", r, n)?
                .iter()
                .map(|&r| (r as f64 * dt) as f32)
                .collect(),
            gain_is: "r·dt",
            bias: zero(),
        },
        NirNode::CubaLif {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            w_in,
            ..
        }
        | NirNode::CubaLi {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            w_in,
        } => {
            let c = cuba(cx, node, [tau_syn, tau_mem, r, v_leak, w_in], n, dt)?;
            Dynamics {
                beta: c.beta,
                alpha: Some(c.alpha),
                gain: c.gain,
                gain_is: "w_in·dt/τ_syn · r·dt/τ_mem",
                bias: zero(),
            }
        }
        // U[t] = 0·U[t−1] + I[t] = I[t]; S[t] = I[t] > θ
        _ => Dynamics {
            beta: zero(),
            alpha: None,
            gain: vec![1.0; n],
            gain_is: "1",
            bias: zero(),
        },
    })
}

/// A spiking neuron node's threshold and reset values (`None` for no reset: Threshold), one per
/// neuron; `None` for the leaky integrators (LI, CubaLI), which never fire.
#[allow(clippy::type_complexity)]
fn firing(
    cx: &Ctx<'_>,
    node: &str,
    n_node: &NirNode,
    n: usize,
) -> Result<Option<(Vec<f32>, Option<Vec<f32>>)>, NirError> {
    let reset = |v_threshold, v_reset| -> Result<_, NirError> {
        Ok(Some((
            per_neuron(cx, node, "v_threshold", v_threshold, n)?,
            Some(per_neuron(cx, node, "v_reset", v_reset, n)?),
        )))
    };
    match n_node {
        NirNode::Lif {
            v_threshold,
            v_reset,
            ..
        }
        | NirNode::If {
            v_threshold,
            v_reset,
            ..
        }
        | NirNode::CubaLif {
            v_threshold,
            v_reset,
            ..
        } => reset(v_threshold, v_reset),
        NirNode::Threshold { threshold } => Ok(Some((
            per_neuron(cx, node, "threshold", threshold, n)?,
            None,
        ))),
        _ => Ok(None),
    }
}

/// A current-based neuron's (CubaLIF, CubaLI) per-neuron `α = 1 − dt/τ_syn`,
/// `β = 1 − dt/τ_mem` ([`beta_from_tau`]) and input gain `w_in·dt/τ_syn · r·dt/τ_mem`.
struct Cuba {
    alpha: Vec<f32>,
    beta: Vec<f32>,
    gain: Vec<f32>,
}

/// Discretizes `τ_syn J̇ = −J + w_in·x`, `τ_mem v̇ = (v_leak − v) + r·J` with forward Euler
/// (the current first, then the membrane with the new current, as snnTorch's `Synaptic`):
/// `J' = α·J' + I` and `U = β·U + J'` with `J' = r·dt/τ_mem · J` and `I = gain · x`. A nonzero
/// `v_leak` (a constant drive of the membrane that bypasses the synapse) is refused: it cannot
/// be folded into the input of a synaptic filter.
fn cuba(
    cx: &Ctx<'_>,
    node: &str,
    [tau_syn, tau_mem, r, v_leak, w_in]: [&NirTensor; 5],
    n: usize,
    dt: f64,
) -> Result<Cuba, NirError> {
    let ts = per_neuron(cx, node, "tau_syn", tau_syn, n)?;
    let tm = per_neuron(cx, node, "tau_mem", tau_mem, n)?;
    let alpha = betas(cx, node, "tau_syn", &ts, dt)?;
    let beta = betas(cx, node, "tau_mem", &tm, dt)?;
    let r = per_neuron(cx, node, "r", r, n)?;
    let w_in = per_neuron(cx, node, "w_in", w_in, n)?;
    if let Some(i) = per_neuron(cx, node, "v_leak", v_leak, n)?
        .iter()
        .position(|&v| v != 0.0)
    {
        return Err(cx.err(
            node,
            Some("v_leak"),
            format!("is not 0 at neuron {i}: joulebench's current-based neurons have no constant membrane drive (only v_leak = 0 is supported)"),
        ));
    }
    let gain = (0..n)
        .map(|j| (w_in[j] as f64 * dt / ts[j] as f64 * (r[j] as f64 * dt / tm[j] as f64)) as f32)
        .collect();
    Ok(Cuba { alpha, beta, gain })
}

/// Appends a LIF layer: scalar parameters when every neuron has the same, else per-neuron
/// tensors. `v_reset: None` = no reset; `alpha: Some` = a synaptic current with that decay.
fn push_lif(
    layers: &mut Vec<Layer>,
    weights: &mut Weights,
    name: &str,
    beta: &[f32],
    theta: &[f32],
    v_reset: Option<&[f32]>,
    alpha: Option<&[f32]>,
) {
    let same = |v: &[f32]| v.iter().all(|x| x.to_bits() == v[0].to_bits());
    let per_neuron =
        !(same(beta) && same(theta) && v_reset.is_none_or(same) && alpha.is_none_or(same));
    let reset = match v_reset {
        Some(v) => Reset::To { v_reset: v[0] },
        None => Reset::None,
    };
    layers.push(Layer {
        name: name.to_string(),
        op: Op::Lif(LifParams {
            beta: beta[0],
            threshold: theta[0],
            surrogate: Surrogate::default(),
            reset,
            per_neuron,
            synapse: alpha.map(|a| a[0]),
        }),
    });
    if per_neuron {
        let n = beta.len();
        weights.insert(
            format!("{name}.beta"),
            Tensor::new(vec![n], beta.to_vec()).expect("n values"),
        );
        weights.insert(
            format!("{name}.threshold"),
            Tensor::new(vec![n], theta.to_vec()).expect("n values"),
        );
        if let Some(v) = v_reset {
            weights.insert(
                format!("{name}.v_reset"),
                Tensor::new(vec![n], v.to_vec()).expect("n values"),
            );
        }
        if let Some(a) = alpha {
            weights.insert(
                format!("{name}.alpha"),
                Tensor::new(vec![n], a.to_vec()).expect("n values"),
            );
        }
    }
}
