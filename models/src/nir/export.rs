//! [`ModelSpec`] + [`Weights`] → NIR graph (`Input → layers → Output`), the inverse of
//! [`super::import()`] with the same time step convention.

use joulebench_nir::{Conv, NirGraph, NirNode, Padding, Tensor as NirTensor};

use crate::error::ModelError;
use crate::spec::{LifParams, ModelSpec, Op, Readout, Reset};
use crate::weights::Weights;

/// How to write a network NIR cannot express exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportOptions {
    /// Time step in seconds that τ is written for (`τ = dt/(1−β)`, `r = τ/dt`).
    pub dt: f64,
    /// Write the nearest faithful graph where NIR has no exact equivalent (reset by subtraction
    /// becomes reset to 0; a membrane readout becomes the output layer's spikes) instead of
    /// refusing. Every such change is listed in [`Exported::changes`].
    pub nearest: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            dt: 1e-4,
            nearest: false,
        }
    }
}

/// A NIR graph and the list of ways it differs from the network (empty when exact).
#[derive(Debug, Clone)]
pub struct Exported {
    pub graph: NirGraph,
    pub changes: Vec<String>,
}

/// Writes `spec` with `weights` as a NIR graph. Refuses (naming the layer and the reason)
/// what NIR cannot express — max pooling, ReLU/tanh, RNN layers, a LIF without reset — and,
/// unless `opts.nearest`, what it can only approximate.
pub fn export(
    spec: &ModelSpec,
    weights: &Weights,
    opts: &ExportOptions,
) -> Result<Exported, ModelError> {
    if !(opts.dt.is_finite() && opts.dt > 0.0) {
        return Err(ModelError::Invalid(format!(
            "the NIR time step must be a finite number > 0, got {}",
            opts.dt
        )));
    }
    spec.validate()?;
    weights.check_against(spec)?;
    let shapes = spec.layer_shapes()?;
    let mut nodes = Vec::new();
    let mut approx = Vec::new();
    nodes.push((
        "input".to_string(),
        NirNode::Input {
            shape: spec.input_shape.clone(),
        },
    ));
    let mut input = spec.input_shape.clone();
    let last_lif = spec.layers.iter().rposition(|l| matches!(l.op, Op::Lif(_)));
    for (i, layer) in spec.layers.iter().enumerate() {
        let refuse = |what: &str| {
            ModelError::Invalid(format!(
                "layer `{}`: {what} has no NIR node; this network cannot be written as NIR",
                layer.name
            ))
        };
        let w = |suffix: &str| -> Result<NirTensor, ModelError> {
            let t = weights.get(&format!("{}.{suffix}", layer.name))?;
            Ok(NirTensor {
                shape: t.shape.clone(),
                data: t.data.clone(),
            })
        };
        let node = match &layer.op {
            Op::Flatten => NirNode::Flatten {
                start_dim: 0,
                end_dim: -1,
                input_type: Some(input.clone()),
            },
            Op::Linear { .. } => NirNode::Affine {
                weight: w("weight")?,
                bias: w("bias")?,
            },
            Op::Conv1d {
                stride, padding, ..
            }
            | Op::Conv2d {
                stride, padding, ..
            } => {
                let dims = if matches!(layer.op, Op::Conv2d { .. }) {
                    2
                } else {
                    1
                };
                let c = Conv {
                    weight: w("weight")?,
                    bias: w("bias")?,
                    stride: vec![*stride; dims],
                    padding: Padding::Explicit(vec![*padding; dims]),
                    dilation: vec![1; dims],
                    groups: 1,
                    input_shape: Some(input[1..].to_vec()),
                };
                if dims == 2 {
                    NirNode::Conv2d(c)
                } else {
                    NirNode::Conv1d(c)
                }
            }
            Op::MaxPool1d { .. } | Op::MaxPool2d { .. } => {
                return Err(refuse("max pooling (NIR pools by sum or average)"))
            }
            Op::Relu | Op::Tanh => {
                return Err(refuse(
                    "an analog activation (NIR describes spiking networks)",
                ))
            }
            Op::Rnn { .. } => return Err(refuse("an Elman RNN")),
            Op::Lif(p) => {
                let membrane_out = Some(i) == last_lif && spec.readout != Readout::SpikeCount;
                if membrane_out {
                    approx.push(format!(
                        "layer `{}`: the network reads its membrane ({}); NIR's Output carries this layer's spikes",
                        layer.name,
                        spec.readout.name()
                    ));
                }
                lif_node(&layer.name, p, &input, weights, opts.dt, &mut approx)?
            }
        };
        nodes.push((layer.name.clone(), node));
        input = shapes[i].clone();
    }
    nodes.push((
        "output".to_string(),
        NirNode::Output {
            shape: input.clone(),
        },
    ));
    if !approx.is_empty() && !opts.nearest {
        return Err(ModelError::Invalid(format!(
            "NIR cannot express this network exactly: {}. Pass --nearest to write the nearest graph (these changes are then listed), or train with --reset zero and --readout spike-count",
            approx.join("; ")
        )));
    }
    let edges = nodes
        .windows(2)
        .map(|w| (w[0].0.clone(), w[1].0.clone()))
        .collect();
    Ok(Exported {
        graph: NirGraph {
            nodes: nodes.into_iter().collect(),
            edges,
        },
        changes: approx,
    })
}

/// A LIF layer as NIR `LIF` (`τ = dt/(1−β)`, `r = τ/dt` so the input gain is 1, `v_leak = 0`),
/// or `IF` when β = 1 (`r = 1/dt`); a current-based one as `CubaLIF` (`τ_syn = dt/(1−α)`,
/// `τ_mem = dt/(1−β)`, `w_in = τ_syn/dt`, `r = τ_mem/dt`: both gains 1).
fn lif_node(
    layer: &str,
    p: &LifParams,
    shape: &[usize],
    weights: &Weights,
    dt: f64,
    approx: &mut Vec<String>,
) -> Result<NirNode, ModelError> {
    let n: usize = shape.iter().product();
    let vec_of = |suffix: &str, scalar: f32| -> Result<Vec<f32>, ModelError> {
        if p.per_neuron {
            Ok(weights.get(&format!("{layer}.{suffix}"))?.data.clone())
        } else {
            Ok(vec![scalar; n])
        }
    };
    let beta: Vec<f32> = vec_of("beta", p.beta)?
        .into_iter()
        .map(|b| b.clamp(0.0, 1.0))
        .collect();
    let theta = vec_of("threshold", p.threshold)?;
    let v_reset = match p.reset {
        Reset::To { v_reset } => vec_of("v_reset", v_reset)?,
        Reset::Subtract => {
            approx.push(format!(
                "layer `{layer}` resets by subtracting θ, which NIR's LIF cannot express (it resets to v_reset); written with v_reset = 0"
            ));
            vec![0.0; n]
        }
        Reset::None => {
            return Err(ModelError::Invalid(format!(
                "layer `{layer}`: a LIF without reset has no NIR node (NIR's LIF and IF reset to v_reset)"
            )))
        }
    };
    // one value per neuron, in the shape of the layer's input (NIR checks it)
    let t = |data: Vec<f32>| NirTensor {
        shape: shape.to_vec(),
        data,
    };
    let dt32 = dt as f32;
    if p.synapse.is_some() {
        // a current-based layer: CubaLIF with unit gains (w_in·dt/τ_syn = r·dt/τ_mem = 1)
        let alpha: Vec<f32> = vec_of("alpha", p.synapse.unwrap_or(0.0))?
            .into_iter()
            .map(|a| a.clamp(0.0, 1.0))
            .collect();
        if let Some((what, i)) = [("α", &alpha), ("β", &beta)]
            .into_iter()
            .find_map(|(what, v)| v.iter().position(|&x| x == 1.0).map(|i| (what, i)))
        {
            return Err(ModelError::Invalid(format!(
                "layer `{layer}`: neuron {i} has {what} = 1 (τ = ∞), which NIR's CubaLIF cannot write"
            )));
        }
        let tau = |v: &[f32]| -> Vec<f32> { v.iter().map(|&b| dt32 / (1.0 - b)).collect() };
        let (tau_syn, tau_mem) = (tau(&alpha), tau(&beta));
        let per_dt = |v: &[f32]| -> Vec<f32> { v.iter().map(|&x| x / dt32).collect() };
        return Ok(NirNode::CubaLif {
            w_in: t(per_dt(&tau_syn)),
            r: t(per_dt(&tau_mem)),
            tau_syn: t(tau_syn),
            tau_mem: t(tau_mem),
            v_leak: t(vec![0.0; n]),
            v_threshold: t(theta),
            v_reset: t(v_reset),
        });
    }
    if beta.iter().all(|&b| b == 1.0) {
        return Ok(NirNode::If {
            r: t(vec![1.0 / dt32; n]),
            v_threshold: t(theta),
            v_reset: t(v_reset),
        });
    }
    if let Some(i) = beta.iter().position(|&b| b == 1.0) {
        return Err(ModelError::Invalid(format!(
            "layer `{layer}`: neuron {i} has β = 1 (no leak, τ = ∞) while others leak; NIR needs one neuron type per node"
        )));
    }
    // snnTorch's export convention, in float32 as it computes it
    let tau: Vec<f32> = beta.iter().map(|&b| dt32 / (1.0 - b)).collect();
    let r: Vec<f32> = tau.iter().map(|&x| x / dt32).collect();
    Ok(NirNode::Lif {
        tau: t(tau),
        r: t(r),
        v_leak: t(vec![0.0; n]),
        v_threshold: t(theta),
        v_reset: t(v_reset),
    })
}
