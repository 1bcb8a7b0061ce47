//! A [`ModelSpec`] built as a libtorch module.
//!
//! Parameters live in a `VarStore` under exactly the names of `ModelSpec::parameters()`
//! (`fc1.weight`, `conv1.bias`, `rnn.weight_ih`, …), so weights move between libtorch and
//! `joulebench_models::Weights` (safetensors) by name.
//!
//! Input layout (as every backend takes it, see `ModelSpec::batch_input_shape`):
//! `[B, sample…]` for non-spiking models, `[T, B, sample…]` (the already-encoded tensor) for
//! spiking ones. Internally the time axis is folded into the batch (`[T·B, …]`) so that
//! Linear/Conv/pooling layers run once over all steps; LIF layers unfold it (see [`crate::lif`]).

use std::collections::HashMap;
use std::sync::Mutex;

use joulebench_models::{LifParams, ModelSpec, Op, Readout, Reset};
use tch::nn::{self, Init, Module};
use tch::{Device, Kind, Tensor};

use crate::error::{Result, TrainError};
use crate::lif::{leak_filter, lif_forward, lif_forward_neurons, synaptic_current, NeuronTensors};
use crate::rnn::ElmanRnn;

enum Block {
    Flatten,
    Linear(nn::Linear),
    Conv1d(nn::Conv1D),
    Conv2d(nn::Conv2D),
    MaxPool1d(i64),
    MaxPool2d(i64),
    Relu,
    Tanh,
    /// RNN and the per-sample input shape it sees.
    Rnn(ElmanRnn, Vec<usize>),
    /// LIF params and, for a per-neuron layer, its fixed (not trained) `[neurons]` vectors
    /// β, θ and `v_reset` (VarStore variables `{layer}.beta`, … without gradient).
    Lif(LifParams, Option<NeuronVars>),
}

/// Per-neuron LIF values as stored in the VarStore (`[neurons]`, β not yet clamped).
struct NeuronVars {
    beta: Tensor,
    threshold: Tensor,
    v_reset: Option<Tensor>,
    alpha: Option<Tensor>,
}

/// What one forward pass gives.
pub struct NetOutput {
    /// `[B, classes]`.
    pub logits: Tensor,
    /// `[T, B, classes]`: what the readout reduces over time — the output membrane `U[t]`
    /// (membrane readouts), the output spikes `S[t]` (spike count) or the last layer's output
    /// at each step (`Readout::Output`). For a single-step net, `T = 1` and it holds the logits.
    pub per_step: Tensor,
    /// Spikes emitted per LIF layer (summed over steps and batch), by layer name; filled only
    /// when asked for.
    pub spike_counts: Vec<(String, f64)>,
}

/// A network built from a [`ModelSpec`], its parameters in a `VarStore`.
pub struct Net {
    pub spec: ModelSpec,
    pub vs: nn::VarStore,
    blocks: Vec<(String, Block)>,
    /// Leak filters per (T, β bits), on the model's device.
    filters: Mutex<HashMap<(usize, u32), Tensor>>,
}

impl Net {
    /// Builds the network on `device`. Initialisation follows PyTorch's defaults (weights and
    /// biases uniform in ±1/√fan_in, see `pytorch_uniform`; the RNN ±1/√hidden) and uses
    /// libtorch's generator: call
    /// `tch::manual_seed` first for reproducible weights.
    pub fn new(spec: &ModelSpec, device: Device) -> Result<Net> {
        spec.validate()?;
        if spec.steps > 1 && !spec.is_spiking() {
            return Err(TrainError::Config(format!(
                "model {}: T > 1 needs LIF layers",
                spec.preset
            )));
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut blocks = Vec::with_capacity(spec.layers.len());
        let mut shape = spec.input_shape.clone();
        for layer in &spec.layers {
            let p = &root / layer.name.as_str();
            let block = match layer.op {
                Op::Flatten => Block::Flatten,
                Op::Linear {
                    in_features,
                    out_features,
                } => Block::Linear(nn::linear(
                    p,
                    in_features as i64,
                    out_features as i64,
                    linear_config(in_features),
                )),
                Op::Conv1d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                } => {
                    let cfg = conv_config(in_channels * kernel_size, stride, padding);
                    Block::Conv1d(nn::conv1d(
                        p,
                        in_channels as i64,
                        out_channels as i64,
                        kernel_size as i64,
                        cfg,
                    ))
                }
                Op::Conv2d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                } => {
                    let cfg = conv_config(in_channels * kernel_size * kernel_size, stride, padding);
                    Block::Conv2d(nn::conv2d(
                        p,
                        in_channels as i64,
                        out_channels as i64,
                        kernel_size as i64,
                        cfg,
                    ))
                }
                Op::MaxPool1d { kernel_size } => Block::MaxPool1d(kernel_size as i64),
                Op::MaxPool2d { kernel_size } => Block::MaxPool2d(kernel_size as i64),
                Op::Relu => Block::Relu,
                Op::Tanh => Block::Tanh,
                Op::Rnn {
                    input_size,
                    hidden_size,
                } => {
                    if spec.is_spiking() {
                        return Err(TrainError::Config(
                            "an RNN layer inside a spiking model is not supported".into(),
                        ));
                    }
                    Block::Rnn(
                        ElmanRnn::new(p, input_size as i64, hidden_size as i64),
                        shape.clone(),
                    )
                }
                Op::Lif(params) => {
                    let vars = params.per_neuron.then(|| {
                        let n = shape.iter().product::<usize>() as i64;
                        let fixed = |name: &str, v: f32| {
                            let mut t = p.zeros_no_train(name, &[n]);
                            tch::no_grad(|| {
                                let _ = t.fill_(v as f64);
                            });
                            t
                        };
                        NeuronVars {
                            beta: fixed("beta", params.beta),
                            threshold: fixed("threshold", params.threshold),
                            v_reset: match params.reset {
                                Reset::To { v_reset } => Some(fixed("v_reset", v_reset)),
                                _ => None,
                            },
                            alpha: params.synapse.map(|a| fixed("alpha", a)),
                        }
                    });
                    Block::Lif(params, vars)
                }
            };
            shape = layer.output_shape(&shape)?;
            blocks.push((layer.name.clone(), block));
        }
        Ok(Net {
            spec: spec.clone(),
            vs,
            blocks,
            filters: Mutex::new(HashMap::new()),
        })
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    fn filter(&self, steps: usize, beta: f32) -> Tensor {
        let mut map = self.filters.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((steps, beta.to_bits()))
            .or_insert_with(|| {
                Tensor::from_slice(&leak_filter(steps, beta))
                    .reshape([steps as i64, steps as i64])
                    .to_device(self.device())
            })
            .shallow_clone()
    }

    /// The input shape this model takes for a batch of `b` (see the module docs).
    pub fn input_shape(&self, b: usize) -> Vec<i64> {
        self.spec
            .batch_input_shape(b)
            .into_iter()
            .map(|d| d as i64)
            .collect()
    }

    /// Checks an input tensor's shape against the spec; returns `(T, B)`.
    pub fn check_input(&self, x: &Tensor) -> Result<(i64, i64)> {
        let size = x.size();
        let spiking = self.spec.is_spiking();
        let lead = if spiking { 2 } else { 1 };
        let sample: Vec<i64> = self.spec.input_shape.iter().map(|&d| d as i64).collect();
        let ok = size.len() == lead + sample.len()
            && size[lead..] == sample[..]
            && (!spiking || size[0] == self.spec.steps as i64);
        if !ok {
            let want = if spiking {
                format!("[{}, batch, {:?}]", self.spec.steps, self.spec.input_shape)
            } else {
                format!("[batch, {:?}]", self.spec.input_shape)
            };
            return Err(TrainError::Config(format!(
                "input shape {size:?} does not fit the model (expected {want})"
            )));
        }
        Ok(if spiking {
            (size[0], size[1])
        } else {
            (1, size[0])
        })
    }

    /// Forward pass. `x` as described in the module docs. Gradients are recorded unless the
    /// caller runs it under `tch::no_grad`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_full(x, false)?.logits)
    }

    /// Training forward pass: as [`Net::forward`], with dropout of probability `dropout` on the
    /// input of the last `Linear` layer (the classifier's features; inverted dropout, so the
    /// network at inference — every other engine, the ONNX export — is unchanged).
    pub fn forward_train(&self, x: &Tensor, dropout: f64) -> Result<NetOutput> {
        self.forward_impl(x, false, dropout)
    }

    /// Forward pass, optionally counting spikes of every LIF layer.
    pub fn forward_full(&self, x: &Tensor, count_spikes: bool) -> Result<NetOutput> {
        self.forward_impl(x, count_spikes, 0.0)
    }

    fn forward_impl(&self, x: &Tensor, count_spikes: bool, dropout: f64) -> Result<NetOutput> {
        // the classifier's input: only looked for when dropout is on
        let last_linear = (dropout > 0.0)
            .then(|| {
                self.blocks
                    .iter()
                    .rposition(|(_, b)| matches!(b, Block::Linear(_)))
            })
            .flatten();
        let (t, b) = self.check_input(x)?;
        // fold time into the batch: [T·B, sample…]
        let mut h = if self.spec.is_spiking() {
            let mut s = vec![t * b];
            s.extend(x.size()[2..].iter());
            x.reshape(s.as_slice())
        } else {
            x.shallow_clone()
        };
        let mut last_lif: Option<(Tensor, Tensor)> = None; // (S, U) as [T, B, …]
        let mut counts = Vec::new();
        for (i, (name, block)) in self.blocks.iter().enumerate() {
            if Some(i) == last_linear {
                h = h.dropout(dropout, true);
            }
            h = match block {
                Block::Flatten => h.flatten(1, -1),
                Block::Linear(l) => l.forward(&h),
                Block::Conv1d(c) => c.forward(&h),
                Block::Conv2d(c) => c.forward(&h),
                Block::MaxPool1d(k) => h.max_pool1d([*k], [*k], [0], [1], false),
                Block::MaxPool2d(k) => h.max_pool2d([*k, *k], [*k, *k], [0, 0], [1, 1], false),
                Block::Relu => h.relu(),
                Block::Tanh => h.tanh(),
                Block::Rnn(r, sample) => r.forward(&h, sample),
                Block::Lif(p, vars) => {
                    let size = h.size();
                    let mut seq = vec![t];
                    seq.push(b);
                    seq.extend(size[1..].iter());
                    let cur = h.reshape(seq.as_slice());
                    let out = if p.is_default_neuron() {
                        let filter = if t > 1 && cur.requires_grad() {
                            Some(self.filter(t as usize, p.beta))
                        } else {
                            None
                        };
                        lif_forward(&cur, p, filter.as_ref())
                    } else {
                        let n = match vars {
                            Some(v) => {
                                let sample = &size[1..];
                                NeuronTensors {
                                    beta: v.beta.clamp(0.0, 1.0).reshape(sample),
                                    threshold: v.threshold.reshape(sample),
                                    v_reset: v.v_reset.as_ref().map(|r| r.reshape(sample)),
                                    alpha: v
                                        .alpha
                                        .as_ref()
                                        .map(|a| a.clamp(0.0, 1.0).reshape(sample)),
                                    reset: p.reset,
                                }
                            }
                            None => NeuronTensors::scalar(p, self.device()),
                        };
                        match &n.alpha {
                            Some(a) => lif_forward_neurons(&synaptic_current(&cur, a), p, &n),
                            None => lif_forward_neurons(&cur, p, &n),
                        }
                    };
                    if count_spikes {
                        counts.push((name.clone(), crate::lif::count_spikes(&out.spikes)));
                    }
                    let next = out.spikes.reshape(size.as_slice());
                    last_lif = Some((out.spikes, out.membrane));
                    next
                }
            };
        }
        let classes = self.spec.num_classes as i64;
        let (logits, per_step) = match self.spec.readout {
            Readout::Output => {
                let per_step = h.reshape([t, b, classes]);
                let logits = if t == 1 {
                    h.reshape([b, classes])
                } else {
                    per_step.mean_dim(0i64, false, Kind::Float)
                };
                (logits, per_step)
            }
            other => {
                let (s, u) = last_lif.ok_or_else(|| {
                    TrainError::Config("membrane/spike readout needs a LIF layer".into())
                })?;
                let s = s.reshape([t, b, classes]);
                let u = u.reshape([t, b, classes]);
                match other {
                    Readout::MembraneMean => (u.mean_dim(0i64, false, Kind::Float), u),
                    Readout::MembraneLast => (u.get(t - 1), u),
                    Readout::SpikeCount => (s.sum_dim_intlist(0i64, false, Kind::Float), s),
                    Readout::Output => unreachable!(),
                }
            }
        };
        Ok(NetOutput {
            logits,
            per_step,
            spike_counts: counts,
        })
    }
}

/// PyTorch's default initialisation of Linear and Conv layers: `kaiming_uniform_(a = √5)` for
/// the weights, which is uniform in ±1/√fan_in, and the bias uniform in ±1/√fan_in.
/// (tch's own default, Kaiming-uniform with the ReLU gain, draws weights √6 ≈ 2.45× wider.)
fn pytorch_uniform(fan_in: usize) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// PyTorch's `nn.Linear` defaults (see [`pytorch_uniform`]).
fn linear_config(fan_in: usize) -> nn::LinearConfig {
    nn::LinearConfig {
        ws_init: pytorch_uniform(fan_in),
        bs_init: Some(pytorch_uniform(fan_in)),
        bias: true,
    }
}

/// PyTorch's `nn.Conv*d` defaults (see [`pytorch_uniform`]).
fn conv_config(fan_in: usize, stride: usize, padding: usize) -> nn::ConvConfig {
    nn::ConvConfig {
        stride: stride as i64,
        padding: padding as i64,
        ws_init: pytorch_uniform(fan_in),
        bs_init: pytorch_uniform(fan_in),
        ..Default::default()
    }
}
