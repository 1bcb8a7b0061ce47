//! `ModelSpec`: the one description of an architecture that training, ONNX export,
//! operation counting and the native engines all read.
//!
//! Conventions (PyTorch's, so weights and results compare with the field):
//! * tensors are channels-first; a sample of MNIST is `[1, 28, 28]`, of MNIST-1D `[1, 40]`;
//! * parameters are named `"{layer}.weight"` / `"{layer}.bias"` (RNN: `weight_ih`, `weight_hh`,
//!   `bias_ih`, `bias_hh`), with PyTorch layouts (`Linear` weight `[out, in]`, `Conv2d`
//!   `[out, in, kh, kw]`);
//! * a spiking network runs its whole layer stack once per time step; LIF layers keep state.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// A whole network: what it eats, its layers, how time and readout work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Preset name this spec was built from (`ann`, `snn-temporal`, ...).
    pub preset: String,
    /// Shape of one sample as fed to the first layer, after preprocessing (channels first).
    pub input_shape: Vec<usize>,
    pub num_classes: usize,
    /// What is done to raw samples (already scaled to `[0, 1]` for image data) before layer 0.
    pub preprocess: Preprocess,
    /// How an analog input is turned into the per-step input of the network.
    pub encoding: Encoding,
    /// Number of time steps `T` (1 for every non-spiking and single-step model).
    pub steps: usize,
    pub readout: Readout,
    pub layers: Vec<Layer>,
}

/// One named layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    pub op: Op,
}

/// Layer kinds. Pooling uses stride = kernel, no padding (PyTorch's default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// Flattens everything but the batch dimension.
    Flatten,
    /// `y = x Wᵀ + b`, weight `[out_features, in_features]`, bias `[out_features]`.
    Linear {
        in_features: usize,
        out_features: usize,
    },
    /// Weight `[out, in, k]`, bias `[out]`.
    Conv1d {
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
    },
    /// Weight `[out, in, k, k]`, bias `[out]`.
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
    },
    MaxPool1d {
        kernel_size: usize,
    },
    MaxPool2d {
        kernel_size: usize,
    },
    Relu,
    Tanh,
    /// Elman RNN with tanh, one layer, zero initial state:
    /// `h[t] = tanh(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh)`; the output is the last `h`.
    /// The input sample `[1, H, W]` is read as `H` steps of `W` features (one image row per
    /// step); `[C, L]` is read as `L` steps of `C` features.
    Rnn {
        input_size: usize,
        hidden_size: usize,
    },
    /// Leaky integrate-and-fire neurons, one per element of the previous layer's output.
    Lif(LifParams),
}

/// Leaky integrate-and-fire neuron, snnTorch's `Leaky` (defaults: reset by subtraction, scalar
/// β and θ):
///
/// ```text
/// reset by subtraction (`Reset::Subtract`, the default):
///     U[t] = β·U[t−1] + I[t] − S[t−1]·θ
/// reset to a value (`Reset::To { v_reset }`; `v_reset = 0` is snnTorch's `reset_mechanism="zero"`):
///     U[t] = β·(S[t−1] ? v_reset : U[t−1]) + I[t]
/// no reset (`Reset::None`, snnTorch's `reset_mechanism="none"`):
///     U[t] = β·U[t−1] + I[t]
/// S[t] = 1 if U[t] > θ else 0             (strict comparison)
/// U[−1] = 0, S[−1] = 0
/// ```
///
/// with `β` clamped to `[0, 1]`. Floating-point order is exactly as written (multiply, add the
/// current, then subtract the reset), no fused multiply-add. The reset acts at the step after
/// the spike, as snnTorch's does: the membrane a readout sees at the spiking step is the
/// pre-reset `U[t]`. For `v_reset = 0` the value equals snnTorch's
/// `β·((1 − S[t−1])·U[t−1]) + I[t]`; for another `v_reset` it is NIR's "after a spike
/// `v ← v_reset`" applied before the next step's leak.
///
/// With a synaptic current (`synapse: Some(α)`, a current-based neuron: NIR's `CubaLIF`,
/// snnTorch's `Synaptic`), the input first passes a first-order low-pass filter that is never
/// reset, and the membrane integrates the filtered current instead of `I[t]`:
///
/// ```text
/// J[t] = α·J[t−1] + I[t]        J[−1] = 0, α clamped to [0, 1]
/// U[t] = (the reset's equation above with J[t] in place of I[t])
/// ```
///
/// With `per_neuron`, β, θ, α (with a synapse) and (for `Reset::To`) `v_reset` are vectors, one value per neuron
/// (per element of the layer's input sample, channels-first), stored in the weights as
/// `{layer}.beta`, `{layer}.threshold`, `{layer}.alpha` and `{layer}.v_reset` of shape `[neurons]`; the scalar
/// fields then only serve as the initial value of those tensors (`Weights::random`, training's
/// initialisation). Training keeps them fixed (not learned).
///
/// In training the reset term is detached from the gradient and `∂S/∂U` is replaced by the
/// surrogate's derivative. The layer passes `S[t]` on to the next layer; a membrane readout
/// reads `U[t]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifParams {
    pub beta: f32,
    pub threshold: f32,
    pub surrogate: Surrogate,
    /// What a spike does to the membrane (default: subtract θ).
    #[serde(default)]
    pub reset: Reset,
    /// β, θ, α and `v_reset` per neuron, from the weights (see above).
    #[serde(default)]
    pub per_neuron: bool,
    /// Decay `α` of a synaptic current between the input and the membrane (see above); `None`:
    /// the membrane integrates the input directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse: Option<f32>,
}

/// What a LIF neuron's spike does to its membrane at the next step (see [`LifParams`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reset {
    /// `U[t] = β·U[t−1] + I[t] − S[t−1]·θ` (snnTorch's `subtract`).
    #[default]
    Subtract,
    /// `U[t] = β·(S[t−1] ? v_reset : U[t−1]) + I[t]` (`v_reset = 0`: snnTorch's `zero`).
    To { v_reset: f32 },
    /// `U[t] = β·U[t−1] + I[t]` (snnTorch's `none`).
    None,
}

impl Reset {
    /// Parses `subtract`, `zero` (= `to:0`), `to:V` or `none`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let bad = || {
            ModelError::Invalid(format!(
                "unknown reset `{s}` (expected subtract, zero, to:V_RESET or none)"
            ))
        };
        Ok(match s {
            "subtract" => Reset::Subtract,
            "zero" => Reset::To { v_reset: 0.0 },
            "none" => Reset::None,
            _ => match s.strip_prefix("to:") {
                Some(v) => match v.trim().parse::<f32>() {
                    Ok(v) if v.is_finite() => Reset::To { v_reset: v },
                    _ => {
                        return Err(ModelError::Invalid(format!(
                            "reset `{s}`: v_reset must be a finite number"
                        )))
                    }
                },
                None => return Err(bad()),
            },
        })
    }

    pub fn name(&self) -> String {
        match self {
            Reset::Subtract => "subtract".into(),
            Reset::To { v_reset } if *v_reset == 0.0 => "zero".into(),
            Reset::To { v_reset } => format!("to:{v_reset}"),
            Reset::None => "none".into(),
        }
    }
}

impl LifParams {
    pub fn new(beta: f32) -> Self {
        LifParams {
            beta,
            threshold: 1.0,
            surrogate: Surrogate::default(),
            reset: Reset::Subtract,
            per_neuron: false,
            synapse: None,
        }
    }

    /// True for snnTorch's default neuron: reset by subtraction, scalar β and θ, no synaptic
    /// current (the engines' fast paths handle exactly this case).
    pub fn is_default_neuron(&self) -> bool {
        matches!(self.reset, Reset::Subtract) && !self.per_neuron && self.synapse.is_none()
    }

    /// `α` as used by the dynamics: clamped to `[0, 1]` (`None` without a synaptic current).
    pub fn alpha_clamped(&self) -> Option<f32> {
        self.synapse.map(|a| a.clamp(0.0, 1.0))
    }

    /// `β` as used by the dynamics: clamped to `[0, 1]`.
    pub fn beta_clamped(&self) -> f32 {
        self.beta.clamp(0.0, 1.0)
    }

    /// `Err(message)` unless β and θ are finite and the surrogate's α or slope is a finite
    /// number > 0. (β is clamped to [0, 1] when used; every float engine handles a θ of either
    /// sign — the int8 engine refuses θ ≤ 0 itself —, while `--threshold` asks for θ > 0.)
    pub fn check(&self) -> Result<(), String> {
        if !self.beta.is_finite() {
            return Err(format!("beta must be a finite number, got {}", self.beta));
        }
        if !self.threshold.is_finite() {
            return Err(format!(
                "threshold must be a finite number, got {}",
                self.threshold
            ));
        }
        if let Reset::To { v_reset } = self.reset {
            if !v_reset.is_finite() {
                return Err(format!("v_reset must be a finite number, got {v_reset}"));
            }
        }
        if let Some(a) = self.synapse {
            if !a.is_finite() {
                return Err(format!("synapse alpha must be a finite number, got {a}"));
            }
        }
        let (what, v) = match self.surrogate {
            Surrogate::Atan { alpha } => ("alpha", alpha),
            Surrogate::FastSigmoid { slope } => ("slope", slope),
        };
        if !(v.is_finite() && v > 0.0) {
            return Err(format!(
                "surrogate {what} must be a finite number > 0, got {v}"
            ));
        }
        Ok(())
    }
}

/// Surrogate derivative of the Heaviside spike function, used by training only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Surrogate {
    /// snnTorch `atan`: `∂S/∂U = (α/2) / (1 + (π/2 · α · (U−θ))²)`.
    Atan { alpha: f32 },
    /// snnTorch `fast_sigmoid`: `∂S/∂U = 1 / (slope·|U−θ| + 1)²`.
    FastSigmoid { slope: f32 },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::Atan { alpha: 2.0 }
    }
}

impl Surrogate {
    /// Parses `atan`, `atan:ALPHA`, `fast-sigmoid` or `fast-sigmoid:SLOPE` (defaults α = 2,
    /// slope = 25, as snnTorch's).
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let value = |default: f32, what: &str| -> Result<f32, ModelError> {
            match arg {
                None => Ok(default),
                Some(a) => match a.trim().parse::<f32>() {
                    Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
                    _ => Err(ModelError::Invalid(format!(
                        "surrogate `{s}`: {what} must be a finite number > 0, got `{a}`"
                    ))),
                },
            }
        };
        match name {
            "atan" | "arctan" => Ok(Surrogate::Atan {
                alpha: value(2.0, "alpha")?,
            }),
            "fast-sigmoid" | "fast_sigmoid" => Ok(Surrogate::FastSigmoid {
                slope: value(25.0, "slope")?,
            }),
            other => Err(ModelError::Invalid(format!(
                "unknown surrogate `{other}` (expected atan, atan:ALPHA, fast-sigmoid or fast-sigmoid:SLOPE)"
            ))),
        }
    }

    /// The surrogate derivative at `x = U − θ`.
    pub fn derivative(&self, x: f32) -> f32 {
        match *self {
            Surrogate::Atan { alpha } => {
                let z = std::f32::consts::FRAC_PI_2 * alpha * x;
                (alpha / 2.0) / (1.0 + z * z)
            }
            Surrogate::FastSigmoid { slope } => {
                let d = slope * x.abs() + 1.0;
                1.0 / (d * d)
            }
        }
    }
}

/// Input transforms applied to a raw sample (values in `[0, 1]` for images).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Preprocess {
    pub transform: InputTransform,
    /// `x ← (x − mean) / std`, after the transform.
    pub normalize: Option<Normalize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    pub mean: f32,
    pub std: f32,
}

/// Spatial transform of a 2-D image (the FLOPs notebook's input-size study).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputTransform {
    #[default]
    Identity,
    /// Area-averaging resize of a 28×28 image to 14×14.
    Resize14,
    /// Center crop 28×28 → 14×14.
    Crop14,
    /// Area-averaging resize to 8×8.
    Resize8,
}

impl InputTransform {
    /// Output `[C, H, W]` for an input `[C, H, W]`; `None` when the transform needs 2-D input.
    pub fn apply_shape(&self, shape: &[usize]) -> Option<Vec<usize>> {
        match self {
            InputTransform::Identity => Some(shape.to_vec()),
            _ if shape.len() != 3 => None,
            InputTransform::Resize14 | InputTransform::Crop14 => Some(vec![shape[0], 14, 14]),
            InputTransform::Resize8 => Some(vec![shape[0], 8, 8]),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            InputTransform::Identity => "identity",
            InputTransform::Resize14 => "resize14",
            InputTransform::Crop14 => "crop14",
            InputTransform::Resize8 => "resize8",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Ok(match s {
            "identity" | "none" | "full" | "28" => InputTransform::Identity,
            "resize14" => InputTransform::Resize14,
            "crop14" => InputTransform::Crop14,
            "resize8" => InputTransform::Resize8,
            other => {
                return Err(ModelError::Invalid(format!(
                    "unknown input transform `{other}` (expected identity, resize14, crop14 or resize8)"
                )))
            }
        })
    }
}

/// How the (preprocessed) analog sample becomes the network's input at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The analog values themselves, the same at every step (single-step SNNs, ANNs).
    Direct,
    /// Rate coding as snnTorch's `spikegen.rate`: clamp to `[0,1]`, Bernoulli(p = x) per step.
    Rate,
    /// Poisson spike trains (see the data crate's encoder for the exact definition).
    Poisson,
}

impl Encoding {
    pub fn is_spiking(&self) -> bool {
        !matches!(self, Encoding::Direct)
    }
}

/// How logits are read from the network over its `T` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// The last layer's output (mean over steps when `T > 1`).
    Output,
    /// Mean over steps of the final LIF layer's membrane `U[t]`.
    MembraneMean,
    /// The final LIF layer's membrane at the last step.
    MembraneLast,
    /// Number of spikes of the final LIF layer over all steps.
    SpikeCount,
}

impl Readout {
    /// Parses `membrane-mean`, `membrane-last`, `spike-count` (or `output`).
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Ok(match s.replace('_', "-").as_str() {
            "output" => Readout::Output,
            "membrane-mean" | "mean-membrane" => Readout::MembraneMean,
            "membrane-last" | "last-membrane" => Readout::MembraneLast,
            "spike-count" | "spikes" => Readout::SpikeCount,
            _ => {
                return Err(ModelError::Invalid(format!(
                    "unknown readout `{s}` (expected membrane-mean, membrane-last or spike-count)"
                )))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Readout::Output => "output",
            Readout::MembraneMean => "membrane-mean",
            Readout::MembraneLast => "membrane-last",
            Readout::SpikeCount => "spike-count",
        }
    }
}

impl ModelSpec {
    /// True when any layer is a LIF layer.
    pub fn is_spiking(&self) -> bool {
        self.layers.iter().any(|l| matches!(l.op, Op::Lif(_)))
    }

    /// Shape of the network's input tensor for a batch, as the ONNX export and the backends
    /// take it: `[batch, input_shape…]` for non-spiking models and
    /// `[T, batch, input_shape…]` for spiking ones (the encoder stays outside the graph).
    pub fn batch_input_shape(&self, batch: usize) -> Vec<usize> {
        let mut s = Vec::with_capacity(self.input_shape.len() + 2);
        if self.is_spiking() {
            s.push(self.steps);
        }
        s.push(batch);
        s.extend_from_slice(&self.input_shape);
        s
    }

    /// Output shape (per sample, no batch) of every layer, in order.
    pub fn layer_shapes(&self) -> Result<Vec<Vec<usize>>, ModelError> {
        let mut shape = self.input_shape.clone();
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            shape = layer.output_shape(&shape)?;
            out.push(shape.clone());
        }
        Ok(out)
    }

    /// Checks shapes chain, widths are positive, readout fits the layers and steps ≥ 1.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.steps == 0 {
            return Err(ModelError::Invalid("steps must be at least 1".into()));
        }
        if self.input_shape.contains(&0) || self.input_shape.is_empty() {
            return Err(ModelError::Invalid(format!(
                "bad input shape {:?}",
                self.input_shape
            )));
        }
        let shapes = self.layer_shapes()?;
        let last = shapes
            .last()
            .ok_or_else(|| ModelError::Invalid("model has no layers".into()))?;
        if last.iter().product::<usize>() != self.num_classes || last.len() != 1 {
            return Err(ModelError::Invalid(format!(
                "last layer output {:?} does not match {} classes",
                last, self.num_classes
            )));
        }
        let last_is_lif = matches!(self.layers.last().map(|l| &l.op), Some(Op::Lif(_)));
        match self.readout {
            Readout::Output => {}
            _ if !last_is_lif => {
                return Err(ModelError::Invalid(format!(
                    "readout {:?} needs a LIF layer last",
                    self.readout
                )))
            }
            _ => {}
        }
        if self.encoding.is_spiking() && !self.is_spiking() {
            return Err(ModelError::Invalid(
                "spike encoding on a model without LIF layers".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for l in &self.layers {
            if !names.insert(&l.name) {
                return Err(ModelError::Invalid(format!(
                    "duplicate layer name `{}`",
                    l.name
                )));
            }
            if let Op::Lif(p) = &l.op {
                p.check()
                    .map_err(|e| ModelError::Invalid(format!("LIF layer `{}`: {e}", l.name)))?;
            }
        }
        Ok(())
    }

    /// Every parameter tensor (weights, biases and per-neuron LIF vectors): name and shape, in
    /// layer order. Needs the layer shapes to chain (see [`ModelSpec::validate`]); layers after
    /// a shape error contribute their shape-free tensors only.
    pub fn parameters(&self) -> Vec<ParamInfo> {
        let mut shape = self.input_shape.clone();
        let mut out = Vec::new();
        for l in &self.layers {
            out.extend(l.parameters_for(&shape));
            shape = l.output_shape(&shape).unwrap_or_default();
        }
        out
    }

    pub fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ModelSpec serializes")
    }

    pub fn from_json(s: &str) -> Result<Self, ModelError> {
        let spec: ModelSpec = serde_json::from_str(s)
            .map_err(|e| ModelError::Invalid(format!("bad model spec JSON: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }
}

/// A learnable tensor's name and shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
}

impl ParamInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

fn conv_out(len: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = len + 2 * pad;
    if padded < k || stride == 0 {
        None
    } else {
        Some((padded - k) / stride + 1)
    }
}

impl Layer {
    pub fn new(name: impl Into<String>, op: Op) -> Self {
        Layer {
            name: name.into(),
            op,
        }
    }

    /// Output shape for a per-sample input shape.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        let bad = |what: String| ModelError::Shape {
            layer: self.name.clone(),
            input: input.to_vec(),
            what,
        };
        Ok(match &self.op {
            Op::Flatten => vec![input.iter().product()],
            Op::Linear {
                in_features,
                out_features,
            } => {
                if input.len() != 1 || input[0] != *in_features {
                    return Err(bad(format!("expects [{in_features}]")));
                }
                if *out_features == 0 {
                    return Err(bad("out_features is 0".into()));
                }
                vec![*out_features]
            }
            Op::Conv1d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
            } => {
                if input.len() != 2 || input[0] != *in_channels {
                    return Err(bad(format!("expects [{in_channels}, L]")));
                }
                let l = conv_out(input[1], *kernel_size, *stride, *padding)
                    .ok_or_else(|| bad("input shorter than the kernel".into()))?;
                vec![*out_channels, l]
            }
            Op::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
            } => {
                if input.len() != 3 || input[0] != *in_channels {
                    return Err(bad(format!("expects [{in_channels}, H, W]")));
                }
                let h = conv_out(input[1], *kernel_size, *stride, *padding)
                    .ok_or_else(|| bad("input smaller than the kernel".into()))?;
                let w = conv_out(input[2], *kernel_size, *stride, *padding)
                    .ok_or_else(|| bad("input smaller than the kernel".into()))?;
                vec![*out_channels, h, w]
            }
            Op::MaxPool1d { kernel_size } => {
                if input.len() != 2 || input[1] < *kernel_size || *kernel_size == 0 {
                    return Err(bad(format!("expects [C, L ≥ {kernel_size}]")));
                }
                vec![input[0], input[1] / kernel_size]
            }
            Op::MaxPool2d { kernel_size } => {
                if input.len() != 3
                    || input[1] < *kernel_size
                    || input[2] < *kernel_size
                    || *kernel_size == 0
                {
                    return Err(bad(format!("expects [C, H, W ≥ {kernel_size}]")));
                }
                vec![input[0], input[1] / kernel_size, input[2] / kernel_size]
            }
            Op::Relu | Op::Tanh | Op::Lif(_) => input.to_vec(),
            Op::Rnn {
                input_size,
                hidden_size,
            } => {
                let (_, feat) =
                    rnn_sequence(input).ok_or_else(|| bad("expects [1, H, W] or [C, L]".into()))?;
                if feat != *input_size {
                    return Err(bad(format!(
                        "expects {input_size} features per step, got {feat}"
                    )));
                }
                if *hidden_size == 0 {
                    return Err(bad("hidden_size is 0".into()));
                }
                vec![*hidden_size]
            }
        })
    }

    /// Parameter tensors of this layer for a per-sample input shape `input`: [`Layer::parameters`]
    /// plus, for a LIF layer with `per_neuron`, `{name}.beta`, `{name}.threshold`, (with a
    /// synaptic current) `{name}.alpha` and (reset to a value) `{name}.v_reset`, each `[neurons]` with `neurons` the element count of `input`.
    pub fn parameters_for(&self, input: &[usize]) -> Vec<ParamInfo> {
        match &self.op {
            Op::Lif(p) if p.per_neuron => {
                let n = vec![input.iter().product::<usize>()];
                let mut v = vec![
                    ParamInfo {
                        name: format!("{}.beta", self.name),
                        shape: n.clone(),
                    },
                    ParamInfo {
                        name: format!("{}.threshold", self.name),
                        shape: n.clone(),
                    },
                ];
                if p.synapse.is_some() {
                    v.push(ParamInfo {
                        name: format!("{}.alpha", self.name),
                        shape: n.clone(),
                    });
                }
                if matches!(p.reset, Reset::To { .. }) {
                    v.push(ParamInfo {
                        name: format!("{}.v_reset", self.name),
                        shape: n,
                    });
                }
                v
            }
            _ => self.parameters(),
        }
    }

    /// Tensors of this layer whose shape does not depend on its input (weights and biases;
    /// see [`Layer::parameters_for`] for per-neuron LIF vectors).
    pub fn parameters(&self) -> Vec<ParamInfo> {
        let p = |suffix: &str, shape: Vec<usize>| ParamInfo {
            name: format!("{}.{}", self.name, suffix),
            shape,
        };
        match &self.op {
            Op::Linear {
                in_features,
                out_features,
            } => {
                vec![
                    p("weight", vec![*out_features, *in_features]),
                    p("bias", vec![*out_features]),
                ]
            }
            Op::Conv1d {
                in_channels,
                out_channels,
                kernel_size,
                ..
            } => vec![
                p("weight", vec![*out_channels, *in_channels, *kernel_size]),
                p("bias", vec![*out_channels]),
            ],
            Op::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                ..
            } => vec![
                p(
                    "weight",
                    vec![*out_channels, *in_channels, *kernel_size, *kernel_size],
                ),
                p("bias", vec![*out_channels]),
            ],
            Op::Rnn {
                input_size,
                hidden_size,
            } => vec![
                p("weight_ih", vec![*hidden_size, *input_size]),
                p("weight_hh", vec![*hidden_size, *hidden_size]),
                p("bias_ih", vec![*hidden_size]),
                p("bias_hh", vec![*hidden_size]),
            ],
            _ => vec![],
        }
    }
}

/// How an RNN reads a per-sample input shape: `(sequence length, features per step)`.
/// `[1, H, W]` → `(H, W)` (one image row per step); `[C, L]` → `(L, C)`.
pub fn rnn_sequence(input: &[usize]) -> Option<(usize, usize)> {
    match input {
        [1, h, w] => Some((*h, *w)),
        [c, l] => Some((*l, *c)),
        _ => None,
    }
}
