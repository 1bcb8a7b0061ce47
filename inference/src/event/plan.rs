//! Compiles a spiking [`ModelSpec`] and its [`Weights`] into the event engine's stages, with
//! weights laid out for event access: a fully connected layer's weight transposed to
//! `[in][out]` (one contiguous, cache-line aligned, zero-padded row per presynaptic neuron),
//! a convolution's kernel as `[in_channel][ky][kx][out_channel]`.

use joulebench_models::{LifNeurons, ModelSpec, Op, Readout, Weights};

use super::aligned::{padded, AlignedVec};
use super::chain::Chain;
use super::simd::{ConvGeom, ConvTaps};
use crate::error::InferenceError;

/// A fully connected layer, weight transposed.
#[derive(Debug, Clone)]
pub(crate) struct LinearW {
    pub in_f: usize,
    pub out_f: usize,
    /// Row stride of `w` = `out_f` padded to a multiple of 16.
    pub stride: usize,
    /// `w[i * stride + o] = W[o][i]` (PyTorch's `[out, in]` transposed), padding zero.
    pub w: AlignedVec,
    /// Bias, padded with zeros to `stride`.
    pub b: AlignedVec,
}

/// A 2-D convolution (a 1-D one is stored as height 1), channels-first input and output.
#[derive(Debug, Clone)]
pub(crate) struct ConvW {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    /// `cout` padded to a multiple of 16: the stride of the kernel and of the accumulator.
    pub cstride: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub oh: usize,
    pub ow: usize,
    /// `wt[((c * kh + ky) * kw + kx) * cstride + o] = W[o][c][ky][kx]`.
    pub wt: AlignedVec,
    pub b: Vec<f32>,
    /// For each input position `iy * w + ix`: output positions it reaches (valid kernel taps).
    pub taps: Vec<u32>,
    /// The same taps as accumulator and kernel offsets, and the geometry, for the event path
    /// ([`super::simd::conv_gather`], [`super::simd::conv_scatter_events`]).
    pub events: ConvTaps,
    /// `b` padded with zeros to `cstride`.
    pub bp: AlignedVec,
}

/// Max pooling with stride = kernel, no padding, channels-first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolDims {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum StageKind {
    /// Flatten: the channels-first buffer is already flat.
    Identity,
    Linear(LinearW),
    Conv(Box<ConvW>),
    Pool(PoolDims),
    /// `beta`/`theta` are the layer's scalars; `neurons` is `Some` for a layer that is not
    /// snnTorch's default neuron (per-neuron values or another reset), which runs the general
    /// kernel ([`super::simd::lif_step_neurons`]) and keeps the network off the fully connected
    /// fast path and the fixed-point path's scalar kernels.
    Lif {
        beta: f32,
        theta: f32,
        neurons: Option<Box<LifNeurons>>,
    },
    Relu,
    Tanh,
}

#[derive(Debug, Clone)]
pub(crate) struct Stage {
    pub name: String,
    pub kind: StageKind,
    pub in_len: usize,
    pub out_len: usize,
    /// Multiply-accumulates this stage needs per sample and step when run densely.
    pub dense_macs_per_step: u64,
}

impl Stage {
    pub fn is_lif(&self) -> bool {
        matches!(self.kind, StageKind::Lif { .. })
    }
}

/// The compiled network.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub stages: Vec<Stage>,
    pub input_len: usize,
    pub classes: usize,
    pub readout: Readout,
    /// Index of the last LIF stage (the membrane/spike readouts read it).
    pub last_lif: Option<usize>,
    /// Largest activation length (unpadded) anywhere in the network, input included.
    pub max_len: usize,
    /// The fully connected spiking chain of the fast path, when the network is one.
    pub chain: Option<Chain>,
}

impl Plan {
    pub fn build(spec: &ModelSpec, weights: &Weights) -> Result<Plan, InferenceError> {
        spec.validate()?;
        if !spec.is_spiking() {
            return Err(InferenceError::Other(format!(
                "the event engine runs spiking models; preset `{}` has no LIF layer (use tract, ort or native)",
                spec.preset
            )));
        }
        weights.check_against(spec)?;
        let mut shape = spec.input_shape.clone();
        let input_len: usize = shape.iter().product();
        let mut max_len = input_len;
        let mut stages = Vec::with_capacity(spec.layers.len());
        for layer in &spec.layers {
            let out_shape = layer.output_shape(&shape)?;
            let in_len: usize = shape.iter().product();
            let out_len: usize = out_shape.iter().product();
            max_len = max_len.max(out_len);
            let (kind, macs) = match layer.op {
                Op::Flatten => (StageKind::Identity, 0),
                Op::Linear {
                    in_features,
                    out_features,
                } => {
                    let wt = weights.get(&format!("{}.weight", layer.name))?;
                    let bt = weights.get(&format!("{}.bias", layer.name))?;
                    let stride = padded(out_features);
                    let mut w = AlignedVec::zeros(in_features * stride);
                    let ws = w.as_mut_slice();
                    for o in 0..out_features {
                        for i in 0..in_features {
                            ws[i * stride + o] = wt.data[o * in_features + i];
                        }
                    }
                    let mut b = AlignedVec::zeros(stride);
                    b.as_mut_slice()[..out_features].copy_from_slice(&bt.data);
                    let macs = (in_features * out_features) as u64;
                    (
                        StageKind::Linear(LinearW {
                            in_f: in_features,
                            out_f: out_features,
                            stride,
                            w,
                            b,
                        }),
                        macs,
                    )
                }
                Op::Conv1d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                } => {
                    let c = conv(
                        weights,
                        &layer.name,
                        in_channels,
                        out_channels,
                        [1, shape[1]],
                        [1, kernel_size],
                        [1, stride],
                        [0, padding],
                        &out_shape,
                    )?;
                    let macs = (c.oh * c.ow * c.cout * c.cin * c.kh * c.kw) as u64;
                    (StageKind::Conv(Box::new(c)), macs)
                }
                Op::Conv2d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                } => {
                    let c = conv(
                        weights,
                        &layer.name,
                        in_channels,
                        out_channels,
                        [shape[1], shape[2]],
                        [kernel_size; 2],
                        [stride; 2],
                        [padding; 2],
                        &out_shape,
                    )?;
                    let macs = (c.oh * c.ow * c.cout * c.cin * c.kh * c.kw) as u64;
                    (StageKind::Conv(Box::new(c)), macs)
                }
                Op::MaxPool1d { kernel_size } => (
                    StageKind::Pool(PoolDims {
                        c: shape[0],
                        h: 1,
                        w: shape[1],
                        kh: 1,
                        kw: kernel_size,
                        oh: 1,
                        ow: out_shape[1],
                    }),
                    0,
                ),
                Op::MaxPool2d { kernel_size } => (
                    StageKind::Pool(PoolDims {
                        c: shape[0],
                        h: shape[1],
                        w: shape[2],
                        kh: kernel_size,
                        kw: kernel_size,
                        oh: out_shape[1],
                        ow: out_shape[2],
                    }),
                    0,
                ),
                Op::Lif(p) => {
                    let n = LifNeurons::resolve(&layer.name, &p, weights, out_len)?;
                    let neurons = match n.uniform_subtract() {
                        Some(_) => None,
                        None => Some(Box::new(n)),
                    };
                    (
                        StageKind::Lif {
                            beta: p.beta_clamped(),
                            theta: p.threshold,
                            neurons,
                        },
                        0,
                    )
                }
                Op::Relu => (StageKind::Relu, 0),
                Op::Tanh => (StageKind::Tanh, 0),
                Op::Rnn { .. } => {
                    return Err(InferenceError::Other(format!(
                        "layer `{}`: the event engine has no RNN layer",
                        layer.name
                    )))
                }
            };
            stages.push(Stage {
                name: layer.name.clone(),
                kind,
                in_len,
                out_len,
                dense_macs_per_step: macs,
            });
            shape = out_shape;
        }
        let last_lif = stages.iter().rposition(|s| s.is_lif());
        let mut plan = Plan {
            stages,
            input_len,
            classes: spec.num_classes,
            readout: spec.readout,
            last_lif,
            max_len,
            chain: None,
        };
        plan.chain = Chain::build(&plan);
        Ok(plan)
    }

    /// Bytes of the network's weights as the engine stores them (transposed, padded; the
    /// fully connected fast path keeps a second, block-contiguous copy of the same size that
    /// is not counted).
    pub fn weight_bytes(&self) -> usize {
        self.stages
            .iter()
            .map(|s| match &s.kind {
                StageKind::Linear(l) => l.w.bytes() + l.b.bytes(),
                StageKind::Conv(c) => c.wt.bytes() + c.b.len() * 4,
                _ => 0,
            })
            .sum()
    }

    /// Bytes of per-sample neuron state: membrane `U` and previous spike `S` of every LIF neuron.
    pub fn state_bytes(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.is_lif())
            .map(|s| 2 * 4 * s.out_len)
            .sum()
    }
}

#[allow(clippy::too_many_arguments)]
fn conv(
    weights: &Weights,
    name: &str,
    cin: usize,
    cout: usize,
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [ph, pw]: [usize; 2],
    out_shape: &[usize],
) -> Result<ConvW, InferenceError> {
    let wt = weights.get(&format!("{name}.weight"))?;
    let bt = weights.get(&format!("{name}.bias"))?;
    let (oh, ow) = if out_shape.len() == 3 {
        (out_shape[1], out_shape[2])
    } else {
        (1, out_shape[1])
    };
    let cstride = padded(cout);
    let mut t = AlignedVec::zeros(cin * kh * kw * cstride);
    let ts = t.as_mut_slice();
    for o in 0..cout {
        for c in 0..cin {
            for ky in 0..kh {
                for kx in 0..kw {
                    ts[((c * kh + ky) * kw + kx) * cstride + o] =
                        wt.data[((o * cin + c) * kh + ky) * kw + kx];
                }
            }
        }
    }
    let mut taps = vec![0u32; h * w];
    for iy in 0..h {
        for ix in 0..w {
            let ny = (0..kh)
                .filter(|&ky| out_pos(iy, ky, sh, ph, oh).is_some())
                .count();
            let nx = (0..kw)
                .filter(|&kx| out_pos(ix, kx, sw, pw, ow).is_some())
                .count();
            taps[iy * w + ix] = (ny * nx) as u32;
        }
    }
    let events = ConvTaps::new(&ConvGeom {
        cin,
        hw: [h, w],
        kernel: [kh, kw],
        stride: [sh, sw],
        padding: [ph, pw],
        out: [oh, ow],
        cs: cstride,
    });
    let mut bp = AlignedVec::zeros(cstride);
    bp.as_mut_slice()[..cout].copy_from_slice(&bt.data);
    Ok(ConvW {
        events,
        bp,
        cin,
        h,
        w,
        cout,
        cstride,
        kh,
        kw,
        sh,
        sw,
        ph,
        pw,
        oh,
        ow,
        wt: t,
        b: bt.data.clone(),
        taps,
    })
}

/// The output coordinate an input coordinate `i` reaches through kernel tap `k`, if any:
/// `o·s + k − p = i`.
#[inline]
pub(crate) fn out_pos(i: usize, k: usize, s: usize, p: usize, o_len: usize) -> Option<usize> {
    let num = (i + p).checked_sub(k)?;
    if num % s != 0 {
        return None;
    }
    let o = num / s;
    (o < o_len).then_some(o)
}
