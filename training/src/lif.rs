//! Leaky integrate-and-fire neurons for training and reference inference, exactly snnTorch's
//! `Leaky` (see [`joulebench_models::LifParams`]): the default neuron below, and any reset mode
//! with scalar or per-neuron β, θ, `v_reset` in [`lif_forward_neurons`] (section "Other neurons").
//!
//! # Dynamics (forward values)
//!
//! For a layer of neurons driven by the input current `I[t]` (`t = 0 … T−1`):
//!
//! ```text
//! U[t] = (β·U[t−1] + I[t]) − S[t−1]·θ        U[−1] = 0, S[−1] = 0
//! S[t] = 1 if U[t] > θ else 0                (strict: U == θ does not spike)
//! ```
//!
//! with `β = clamp(beta, 0, 1)`. The floating-point evaluation order is exactly the one written
//! (multiply, add the current, subtract the reset), as snnTorch does; engines that must agree
//! bit for bit use the same order.
//!
//! # Gradient (training)
//!
//! * The reset term `S[t−1]·θ` is detached, so `∂U[t]/∂U[t−1] = β` and `∂U[t]/∂I[t] = 1`.
//! * `∂S/∂U` is the surrogate derivative at `x = U − θ`:
//!   - arctangent (α, default 2): `g(x) = atan(π/2·α·x)/π`, `g'(x) = (α/2) / (1 + (π/2·α·x)²)`;
//!   - fast sigmoid (slope k): `g(x) = x / (1 + k·|x|)`, `g'(x) = 1 / (1 + k·|x|)²`.
//!
//! The Heaviside with a surrogate gradient is the straight-through identity
//! `S = H(x) + (g(x) − detach(g(x)))`: its value is exactly `H(x) ∈ {0, 1}` (the bracket is
//! exactly zero) and its derivative is `g'(x)`. This is the same function as the usual
//! `S = g(x) + detach(H(x) − g(x))`, written so that the forward value is exact in floating point.
//!
//! # How it is computed fast
//!
//! Layers are processed one after the other over the whole sequence (every layer's input for all
//! `T` steps is known once the layer before has run), which is the same computation as running
//! the stack step by step. For a LIF layer:
//! 1. an exact, gradient-free loop over `t` computes `U[t]` and `S[t]` with in-place tensor ops
//!    (no autograd nodes, no per-step allocations beyond tensor views);
//! 2. when the input requires a gradient, the gradient path is attached with big fused ops over
//!    all steps at once: since the reset is detached, `U` as a differentiable function of `I` is
//!    the linear leaky filter `U_lin[t] = Σ_{k≤t} β^(t−k)·I[k]` (one `[T, T]` matrix product), and
//!    `U = U_exact + (U_lin − detach(U_lin))` has exactly the values of step 1 and the BPTT
//!    gradient of the recurrence; then `S = S_exact + (U_lin − detach(U_lin))·detach(g'(U − θ))`,
//!    whose value is exactly `S_exact` and whose derivative is the surrogate's (the same gradient
//!    as the straight-through form, with fewer and cheaper ops: no `atan` in the graph).

//!
//! # Other neurons
//!
//! A layer with per-neuron values or a reset other than subtraction ([`NeuronTensors`]) runs
//! [`lif_forward_neurons`]: the exact loop computes, per step, with `β`, `θ`, `v_reset`
//! broadcast over the batch,
//!
//! ```text
//! subtract: U[t] = (β·U[t−1] + I[t]) − S[t−1]·θ
//! to:       U[t] = β·(S[t−1] ? v_reset : U[t−1]) + I[t]      (where, then multiply, then add)
//! none:     U[t] = β·U[t−1] + I[t]
//! ```
//!
//! and the gradient path is the detached-reset recurrence `G[t] = β·K[t]·G[t−1] + I[t]` with
//! `K[t] = 1 − S[t−1]` for a reset to a value (snnTorch multiplies the previous membrane by
//! the detached `1 − reset`, so no gradient flows through a reset) and `K = 1` otherwise, built
//! step by step (β varies per neuron, so no single leak-filter matrix). β, θ and `v_reset` are
//! not learned.
//!
//! A current-based layer (`LifParams::synapse`, snnTorch's `Synaptic`) first filters its input,
//! [`synaptic_current`]: `J[t] = α·J[t−1] + I[t]` (multiply, then add; never reset), and runs the
//! neuron above on `J`. The filter is linear and differentiable as written; α is not learned.

use joulebench_models::{LifParams, Reset, Surrogate};
use tch::{Kind, Tensor};

/// β (clamped), θ and `v_reset` of one LIF layer as tensors that broadcast over one step
/// `[B, sample…]`: 0-dimensional for scalars, the per-sample shape for per-neuron values.
pub struct NeuronTensors {
    pub beta: Tensor,
    pub threshold: Tensor,
    /// `Some` for [`Reset::To`].
    pub v_reset: Option<Tensor>,
    /// Synaptic current decay α (clamped), `Some` for a current-based layer.
    pub alpha: Option<Tensor>,
    pub reset: Reset,
}

impl NeuronTensors {
    /// The scalar values of `p` on `device`.
    pub fn scalar(p: &LifParams, device: tch::Device) -> Self {
        let t = |v: f32| Tensor::from(v).to_device(device);
        NeuronTensors {
            beta: t(p.beta_clamped()),
            threshold: t(p.threshold),
            v_reset: match p.reset {
                Reset::To { v_reset } => Some(t(v_reset)),
                _ => None,
            },
            alpha: p.alpha_clamped().map(t),
            reset: p.reset,
        }
    }
}

/// The synaptic current of a current-based layer over a sequence `[T, …]`:
/// `J[t] = α·J[t−1] + I[t]`, `J[0] = I[0]` (α·0 + I = I), exactly snnTorch's `Synaptic` order
/// (multiply, then add). Differentiable in `current` when it requires a gradient.
pub fn synaptic_current(current: &Tensor, alpha: &Tensor) -> Tensor {
    let steps = current.size()[0];
    let mut j: Vec<Tensor> = Vec::with_capacity(steps as usize);
    for t in 0..steps {
        let i = current.get(t);
        let next = match j.last() {
            None => i,
            Some(prev) => prev * alpha + i,
        };
        j.push(next);
    }
    Tensor::stack(&j, 0)
}

/// Exact dynamics of any neuron ([`NeuronTensors`]; see "Other neurons" in the module docs),
/// no gradient: `current` is `[T, B, …]`; returns `(U, S)` of the same shape.
pub fn lif_exact_neurons(current: &Tensor, n: &NeuronTensors) -> (Tensor, Tensor) {
    tch::no_grad(|| {
        let current = current.detach().contiguous();
        let size = current.size();
        let opts = (current.kind(), current.device());
        let u_all = Tensor::empty(size.as_slice(), opts);
        let s_all = Tensor::empty(size.as_slice(), opts);
        for t in 0..size[0] {
            let mut u = u_all.get(t);
            if t == 0 {
                u.copy_(&current.get(0));
            } else {
                let (up, sp) = (u_all.get(t - 1), s_all.get(t - 1));
                match (&n.reset, &n.v_reset) {
                    (Reset::To { .. }, Some(v)) => {
                        let fired = sp.gt(0.0);
                        u.copy_(&v.where_self(&fired, &up));
                    }
                    _ => u.copy_(&up),
                }
                let _ = u.g_mul_(&n.beta);
                let _ = u.g_add_(&current.get(t));
                if matches!(n.reset, Reset::Subtract) {
                    let _ = u.g_sub_(&(&sp * &n.threshold));
                }
            }
            let mut s = s_all.get(t);
            s.copy_(&u.gt_tensor(&n.threshold));
        }
        (u_all, s_all)
    })
}

/// LIF layer of any neuron over a sequence (see "Other neurons" in the module docs): values
/// exactly [`lif_exact_neurons`]', gradient of the detached-reset recurrence with the surrogate.
pub fn lif_forward_neurons(current: &Tensor, p: &LifParams, n: &NeuronTensors) -> LifOutput {
    let (u_exact, s_exact) = lif_exact_neurons(current, n);
    if !current.requires_grad() {
        return LifOutput {
            spikes: s_exact,
            membrane: u_exact,
        };
    }
    let steps = current.size()[0];
    let mut g: Vec<Tensor> = Vec::with_capacity(steps as usize);
    for t in 0..steps {
        let i = current.get(t);
        let next = match g.last() {
            None => i,
            Some(prev) => {
                let decay = match n.reset {
                    Reset::To { .. } => {
                        let keep = tch::no_grad(|| 1.0 - s_exact.get(t - 1));
                        &n.beta * keep
                    }
                    _ => n.beta.shallow_clone(),
                };
                prev * decay + i
            }
        };
        g.push(next);
    }
    let u_lin = Tensor::stack(&g, 0);
    let d = &u_lin - u_lin.detach();
    let membrane = &u_exact + &d;
    let x = tch::no_grad(|| &u_exact - &n.threshold);
    let gprime = surrogate_derivative_at(x, &p.surrogate);
    let spikes = &s_exact + &d * &gprime;
    LifOutput { spikes, membrane }
}

/// Spikes and membrane of one LIF layer over a sequence, both shaped like the input current
/// (`[T, …]`).
pub struct LifOutput {
    pub spikes: Tensor,
    pub membrane: Tensor,
}

/// Exact LIF dynamics without gradient: `current` is `[T, …]`; returns `(U, S)` of the same
/// shape, `S` as 0.0/1.0 floats.
pub fn lif_exact(current: &Tensor, p: &LifParams) -> (Tensor, Tensor) {
    tch::no_grad(|| {
        let current = current.detach().contiguous();
        let size = current.size();
        let steps = size[0];
        let beta = p.beta_clamped() as f64;
        let theta = p.threshold as f64;
        let opts = (current.kind(), current.device());
        let u_all = Tensor::empty(size.as_slice(), opts);
        let s_all = Tensor::empty(size.as_slice(), opts);
        let reset = Tensor::zeros(&size[1..], opts);
        let mut prev: Option<Tensor> = None;
        for t in 0..steps {
            let mut u = u_all.get(t);
            match &prev {
                // U[t] = (β·U[t−1] + I[t]) − S[t−1]·θ
                Some(up) => {
                    u.copy_(up);
                    let _ = u.g_mul_scalar_(beta);
                    let _ = u.g_add_(&current.get(t));
                    let _ = u.g_sub_(&reset);
                }
                // U[0] = (β·0 + I[0]) − 0·θ = I[0]
                None => u.copy_(&current.get(t)),
            }
            let s = s_all.get(t);
            let _ = u.gt_scalar_out(&s, theta);
            // reset for the next step: S[t]·θ
            let mut r = reset.shallow_clone();
            r.copy_(&s);
            if theta != 1.0 {
                let _ = r.g_mul_scalar_(theta);
            }
            prev = Some(u);
        }
        (u_all, s_all)
    })
}

/// The surrogate's antiderivative `g(x)` (see the module docs); its autograd derivative is the
/// surrogate derivative.
pub fn surrogate_primitive(x: &Tensor, s: &Surrogate) -> Tensor {
    match *s {
        Surrogate::Atan { alpha } => {
            let c = std::f64::consts::FRAC_PI_2 * alpha as f64;
            (x * c).atan() * std::f64::consts::FRAC_1_PI
        }
        Surrogate::FastSigmoid { slope } => x / (x.abs() * slope as f64 + 1.0),
    }
}

/// Heaviside `H(x) = [x > 0]` with the surrogate gradient: value exactly `H(x)`, derivative
/// `g'(x)`. `x` is `U − θ`.
pub fn spike_fn(x: &Tensor, s: &Surrogate) -> Tensor {
    let h = tch::no_grad(|| x.gt(0.0).to_kind(x.kind()));
    if !x.requires_grad() {
        return h;
    }
    let g = surrogate_primitive(x, s);
    h + (&g - g.detach())
}

/// The leaky filter matrix `L[t, k] = β^(t−k)` for `t ≥ k`, else 0 (`[T, T]`, row-major).
pub fn leak_filter(steps: usize, beta: f32) -> Vec<f32> {
    let b = beta.clamp(0.0, 1.0) as f64;
    let mut m = vec![0.0f32; steps * steps];
    for t in 0..steps {
        let mut pw = 1.0f64;
        for k in (0..=t).rev() {
            m[t * steps + k] = pw as f32;
            pw *= b;
        }
    }
    m
}

/// LIF layer over a sequence. `current` is `[T, …]`. `filter` is [`leak_filter`] for `T` and this
/// layer's `β` as a `[T, T]` tensor on the current's device (only used when `current` requires a
/// gradient and `T > 1`).
pub fn lif_forward(current: &Tensor, p: &LifParams, filter: Option<&Tensor>) -> LifOutput {
    let (u_exact, s_exact) = lif_exact(current, p);
    if !current.requires_grad() {
        return LifOutput {
            spikes: s_exact,
            membrane: u_exact,
        };
    }
    let size = current.size();
    let steps = size[0];
    let u_lin = if steps == 1 {
        current.shallow_clone()
    } else {
        let f = filter.expect("lif_forward: a leak filter is needed for T > 1 with gradients");
        f.matmul(&current.reshape([steps, -1]))
            .reshape(size.as_slice())
    };
    // zero-valued, gradient = identity into U_lin
    let d = &u_lin - u_lin.detach();
    let membrane = &u_exact + &d;
    let gprime = surrogate_derivative(&u_exact, p);
    let spikes = &s_exact + &d * &gprime;
    LifOutput { spikes, membrane }
}

/// The surrogate derivative `g'(U − θ)` evaluated elementwise without gradient (fused in-place
/// ops, no transcendental functions).
pub fn surrogate_derivative(u: &Tensor, p: &LifParams) -> Tensor {
    surrogate_derivative_at(tch::no_grad(|| u - p.threshold as f64), &p.surrogate)
}

/// The surrogate derivative `g'(x)` elementwise, in place on `x` (no gradient).
pub fn surrogate_derivative_at(mut x: Tensor, s: &Surrogate) -> Tensor {
    tch::no_grad(|| {
        match *s {
            Surrogate::Atan { alpha } => {
                // (α/2) / (1 + (π/2·α·x)²)
                let _ = x.g_mul_scalar_(std::f64::consts::FRAC_PI_2 * alpha as f64);
                let _ = x.square_();
                let _ = x.g_add_scalar_(1.0);
                let _ = x.reciprocal_();
                let _ = x.g_mul_scalar_(alpha as f64 / 2.0);
            }
            Surrogate::FastSigmoid { slope } => {
                // 1 / (1 + k·|x|)²
                let _ = x.abs_();
                let _ = x.g_mul_scalar_(slope as f64);
                let _ = x.g_add_scalar_(1.0);
                let _ = x.square_();
                let _ = x.reciprocal_();
            }
        }
        x
    })
}

/// Number of spikes in a 0/1 spike tensor.
pub fn count_spikes(s: &Tensor) -> f64 {
    tch::no_grad(|| s.sum(Kind::Double).double_value(&[]))
}
