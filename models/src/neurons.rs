//! A LIF layer's neuron parameters resolved to one value per neuron ([`LifNeurons`]), from its
//! [`LifParams`] and, for per-neuron layers, the weights' `{layer}.beta`, `{layer}.threshold`,
//! `{layer}.alpha` and `{layer}.v_reset` vectors; and the reference update every engine
//! reproduces.

use crate::error::ModelError;
use crate::spec::{LifParams, Reset};
use crate::weights::Weights;

/// β (clamped to `[0, 1]`), θ and `v_reset` of every neuron of one LIF layer, channels-first
/// order (the order of the layer's input sample).
#[derive(Debug, Clone, PartialEq)]
pub struct LifNeurons {
    pub beta: Vec<f32>,
    pub threshold: Vec<f32>,
    /// One per neuron for [`Reset::To`] (the scalar repeated when not per neuron); empty
    /// otherwise.
    pub v_reset: Vec<f32>,
    /// Synaptic current decay α (clamped to `[0, 1]`), one per neuron for a current-based layer
    /// (`LifParams::synapse`); empty otherwise.
    pub alpha: Vec<f32>,
    pub reset: Reset,
}

impl LifNeurons {
    /// The `neurons` parameters of LIF layer `layer` with params `p`: the scalars repeated, or
    /// with `p.per_neuron` the weights' vectors (an error names a missing or mis-sized one).
    pub fn resolve(
        layer: &str,
        p: &LifParams,
        weights: &Weights,
        neurons: usize,
    ) -> Result<Self, ModelError> {
        let vector = |suffix: &str, scalar: f32| -> Result<Vec<f32>, ModelError> {
            if !p.per_neuron {
                return Ok(vec![scalar; neurons]);
            }
            let name = format!("{layer}.{suffix}");
            let t = weights.get(&name)?;
            if t.data.len() != neurons || t.shape.len() != 1 {
                return Err(ModelError::Weights(format!(
                    "tensor `{name}` has shape {:?}, the per-neuron LIF layer needs [{neurons}]",
                    t.shape
                )));
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::Weights(format!(
                    "tensor `{name}` has a non-finite value at index {i}"
                )));
            }
            Ok(t.data.clone())
        };
        let beta = vector("beta", p.beta)?
            .into_iter()
            .map(|b| b.clamp(0.0, 1.0))
            .collect();
        let threshold = vector("threshold", p.threshold)?;
        let v_reset = match p.reset {
            Reset::To { v_reset } => vector("v_reset", v_reset)?,
            _ => Vec::new(),
        };
        let alpha = match p.synapse {
            Some(a) => vector("alpha", a)?
                .into_iter()
                .map(|a| a.clamp(0.0, 1.0))
                .collect(),
            None => Vec::new(),
        };
        Ok(LifNeurons {
            beta,
            threshold,
            v_reset,
            alpha,
            reset: p.reset,
        })
    }

    pub fn len(&self) -> usize {
        self.beta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.beta.is_empty()
    }

    /// `Some((β, θ))` when every neuron has the same β and θ, resets by subtraction and has no
    /// synaptic current: snnTorch's default neuron, which the engines' fast kernels run.
    pub fn uniform_subtract(&self) -> Option<(f32, f32)> {
        let b = *self.beta.first()?;
        let t = *self.threshold.first()?;
        let same = |v: &[f32], x: f32| v.iter().all(|y| y.to_bits() == x.to_bits());
        (matches!(self.reset, Reset::Subtract)
            && self.alpha.is_empty()
            && same(&self.beta, b)
            && same(&self.threshold, t))
        .then_some((b, t))
    }

    /// True for a current-based layer (a synaptic current between input and membrane).
    pub fn has_synapse(&self) -> bool {
        !self.alpha.is_empty()
    }

    /// The synaptic current's step (a no-op without one): `J_j ← α_j·J_j + I_j` in `syn` for
    /// the neurons `j < min(len, syn.len(), cur.len())`; the membrane update that follows
    /// integrates `J` in place of `I`. A product and a sum, no fused multiply-add.
    #[inline]
    pub fn synapse_step(&self, syn: &mut [f32], cur: &[f32]) {
        for ((j, c), a) in syn.iter_mut().zip(cur).zip(&self.alpha) {
            *j = a * *j + *c;
        }
    }

    /// The reference update of neuron `j`: `U[t]` from `U[t−1] = u`, `S[t−1] = s` (0.0 or 1.0)
    /// and `I[t] = i`, in exactly the floating-point order of [`LifParams`]' equations.
    #[inline]
    pub fn update(&self, j: usize, u: f32, s: f32, i: f32) -> f32 {
        let b = self.beta[j];
        match self.reset {
            Reset::Subtract => (b * u + i) - s * self.threshold[j],
            Reset::To { .. } => b * (if s != 0.0 { self.v_reset[j] } else { u }) + i,
            Reset::None => b * u + i,
        }
    }

    /// Reorders the per-neuron vectors: entry `k` of the result is entry `order[k]` of `self`
    /// (for engines that store a layer in another layout than channels-first).
    pub fn permuted(&self, order: &[usize]) -> LifNeurons {
        let pick = |v: &[f32]| {
            if v.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&k| v[k]).collect()
            }
        };
        LifNeurons {
            beta: pick(&self.beta),
            threshold: pick(&self.threshold),
            v_reset: pick(&self.v_reset),
            alpha: pick(&self.alpha),
            reset: self.reset,
        }
    }
}
