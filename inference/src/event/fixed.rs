//! Fixed-point execution of the event engine ([`Precision::Int8`](super::Precision)): int8
//! weights, int32 accumulators, int16 membranes — the arithmetic of neuromorphic chips and
//! microcontrollers. Supports fully connected spiking networks: any `Flatten`s, then
//! `Linear → LIF` pairs (the `snn`, `snn-1step`, `snn-temporal` presets).
//!
//! # Quantization (per layer, symmetric, computed once from the f32 weights)
//!
//! For a `Linear` layer with weight `W`, bias `b`, followed by LIF with `β`, `θ > 0`:
//!
//! * weights: `s_w = max|W| / 127`, `w_q = clamp(round(W / s_w), −127, 127)` as `i8`
//!   (round half away from zero);
//! * input: spikes are `x_q = 1` (`s_x = 1`); analog input (only possible in the first layer)
//!   must lie in `[0, 1]` and is `x_q = round(255·x)` with `s_x = 1/255`. To keep one scale per
//!   layer, the first layer always uses `s_x = 1/255`, and a spike then counts `255`;
//! * accumulator: `acc = Σ_i x_q[i] · w_q[i][o]` in `i32` (for spikes: `Σ` of the spiking
//!   rows, no multiplies; exact, any order);
//! * membrane: `U = U_q · s_u` with `s_u = s_x·s_w / 2^e`, where the integer `e` is chosen so
//!   that the threshold `θ_q = round(θ / s_u)` lies in `(1024, 2048]`: the `i16` membrane then
//!   spans at least `±16θ` with a resolution of at most `θ/1024` (membranes beyond saturate);
//! * current in membrane units: `I_q = shift(acc, e) + b_q`, `b_q = round(b / s_u)`, where
//!   `shift(a, e) = a · 2^e` for `e ≥ 0` and `(a + 2^(−e−1)) >> −e` (arithmetic shift, round
//!   half up) for `e < 0`; evaluated in `i64`;
//! * `β` as unsigned Q0.15: `β_q = round(β · 2^15) ∈ [0, 32768]` (β clamped to `[0, 1]`);
//!   `β·U` is `(β_q · U_q + 2^14) >> 15` (arithmetic shift: round half up), exact for β = 1;
//! * LIF step (snnTorch `Leaky`, reset by subtraction, strict threshold), in `i64`, then
//!   saturated to `i16`: `U_q ← sat16(((β_q·U_q + 2^14) >> 15) + I_q − S_prev·θ_q)`,
//!   `S = [U_q > θ_q]`.
//!
//! Readouts are dequantized: the membrane ones as `U_q · s_u` (the mean over steps from an
//! `i64` sum), the spike count as a count, the last layer's output (its spikes) as their mean.

use joulebench_models::{LifNeurons, Readout, Reset};

use super::baseline::Baseline;
use super::plan::{Plan, StageKind};
use super::simd;
use super::spikes::{decode_row, row_to_masks};
use super::worker::{Counters, Source};
use crate::error::InferenceError;
use crate::isa::Isa;

/// Membrane units of the threshold are in `(THETA_LO, 2·THETA_LO]`.
const THETA_LO: f64 = 1024.0;
/// Input quantization of the first layer: `x_q = round(255·x)`.
const IN_Q: i32 = 255;

/// How one `Linear → LIF` pair was quantized (see [`EventEngine::set_precision`](super::EventEngine::set_precision)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerQuant {
    /// Name of the `Linear` layer.
    pub linear: String,
    pub inputs: usize,
    pub outputs: usize,
    /// `s_w`: real weight per `i8` unit.
    pub weight_scale: f64,
    /// `s_u`: real membrane (and current) per `i16` unit.
    pub membrane_scale: f64,
    /// `e`: the accumulator is multiplied by `2^e` (a rounding right shift when negative).
    pub shift: i32,
    /// Input units per spike (255 in the first layer, else 1).
    pub spike_units: i32,
    /// `θ_q = round(θ / s_u)`.
    pub theta_q: i32,
    /// `β_q = round(β·2^15)`.
    pub beta_q: i64,
    /// Quantized biases `round(b / s_u)`.
    pub bias_q: Vec<i32>,
}

/// One `Linear → LIF` pair, quantized.
#[derive(Debug, Clone)]
pub(crate) struct FixedLayer {
    pub name: String,
    /// Plan stage of the `Linear` (the LIF is the next stage).
    pub linear_stage: usize,
    pub in_f: usize,
    pub out_f: usize,
    /// Row stride of `w` (`out_f` padded to a multiple of 64 bytes).
    pub stride: usize,
    /// `w[i · stride + o] = w_q[o][i]`, padding zero.
    pub w: Vec<i8>,
    /// Bias in membrane units.
    pub b: Vec<i32>,
    /// Input units per spike (255 in the first layer, else 1).
    pub spike_q: i32,
    /// Power-of-two exponent from accumulator to membrane units.
    pub e: i32,
    pub beta_q: i64,
    pub theta_q: i32,
    /// Per-neuron values or another reset than subtraction (`None`: every neuron has
    /// `beta_q`, `theta_q` and resets by subtraction).
    pub neurons: Option<FixedNeurons>,
    /// Weight scale `s_w` and membrane scale `s_u` (real value per integer unit).
    pub s_w: f64,
    pub s_u: f64,
    /// Every current `I_q` of this layer provably lies in `±2^30` (see [`FixedLayer::narrow`]):
    /// the default neuron's update then runs in `i32` lanes (twice as many per vector as `i64`)
    /// with exactly the same values.
    pub narrow: bool,
}

impl FixedLayer {
    /// Whether every intermediate of the LIF update fits `i32`: `|acc·spike_q| ≤ 127·255·in_f`
    /// (int8 weights, inputs ≤ 255 units), shifted left by `e` when `e > 0`, plus the rounding
    /// term and the largest bias, at most `2^30`. Then `(acc·q << shl) + round` fits, `I_q` is
    /// within `±2^30`, `β_q·U_q ≤ 2^15·2^15`, and `(β_q·U_q + 2^14 >> 15) + I_q − θ_q` within
    /// `±(2^30 + 2^16)`: no `i32` operation overflows, so the `i32` and `i64` evaluations agree.
    pub fn narrow(in_f: usize, e: i32, bias: &[i32]) -> bool {
        let acc = 127i128 * 255 * in_f as i128;
        let shifted = if e > 0 { acc << e.min(40) } else { acc };
        let round = if e < 0 { 1i128 << (-e - 1).min(40) } else { 0 };
        let b = bias.iter().map(|&b| (b as i128).abs()).max().unwrap_or(0);
        shifted + round + b <= 1 << 30
    }

    /// True for a current-based layer (its neurons carry a synaptic current).
    pub fn has_synapse(&self) -> bool {
        self.neurons.as_ref().is_some_and(|n| !n.alpha_q.is_empty())
    }
}

/// A layer's neurons quantized one by one: `β_q[j] = round(β_j·2^15)`, `θ_q[j] = round(θ_j / s_u)`,
/// `v_q[j] = round(v_reset_j / s_u)` (in `i16`). Each step, with `H = (S_prev ? v_q : U_q)` for
/// a reset to a value and `H = U_q` otherwise:
/// `U_q ← sat_i16(((β_q·H + 2^14) >> 15) + I_q − [subtract]·S_prev·θ_q)`, `S = [U_q > θ_q]`.
/// A current-based layer (synaptic current, `α_q[j] = round(α_j·2^15)`) first updates its
/// `i32` current in membrane units, `J_q ← sat_i32(((α_q·J_q + 2^14) >> 15) + I_q)`, and the
/// membrane update reads `J_q` for `I_q`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FixedNeurons {
    pub beta_q: Vec<i64>,
    pub theta_q: Vec<i32>,
    /// Empty unless the reset is to a value.
    pub v_reset_q: Vec<i32>,
    /// Synaptic decay in Q0.15; empty unless the layer has a synaptic current.
    pub alpha_q: Vec<i64>,
    pub reset: Reset,
}

/// The quantized network.
#[derive(Debug, Clone)]
pub(crate) struct FixedPlan {
    pub layers: Vec<FixedLayer>,
    /// Leading `Flatten` stages.
    pub lead: usize,
    pub input_len: usize,
    pub classes: usize,
    pub readout: Readout,
    /// Whether the input layer's accumulators are formed against a baseline of its frequent
    /// inputs (exact in integers; see [`FixedWorker::run_sample`]).
    pub baseline: bool,
}

impl FixedPlan {
    pub fn build(plan: &Plan, preset: &str) -> Result<FixedPlan, InferenceError> {
        let unsupported = |why: String| {
            InferenceError::Other(format!(
                "the int8 fixed-point mode runs fully connected spiking networks (Flatten, then Linear → LIF pairs); `{preset}` {why}"
            ))
        };
        let lead = plan
            .stages
            .iter()
            .position(|s| !matches!(s.kind, StageKind::Identity))
            .unwrap_or(plan.stages.len());
        let rest = &plan.stages[lead..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            return Err(unsupported("does not end in Linear → LIF pairs".into()));
        }
        let mut layers = Vec::new();
        for (k, pair) in rest.chunks(2).enumerate() {
            let (
                StageKind::Linear(l),
                StageKind::Lif {
                    beta,
                    theta,
                    neurons,
                },
            ) = (&pair[0].kind, &pair[1].kind)
            else {
                return Err(unsupported(format!(
                    "has `{}` → `{}` where a Linear → LIF pair is needed",
                    pair[0].name, pair[1].name
                )));
            };
            if l.in_f >= (i32::MAX as usize) / (127 * 255) {
                return Err(unsupported(format!(
                    "has {} inputs in `{}`: too many for an i32 accumulator",
                    l.in_f, pair[0].name
                )));
            }
            // The largest threshold sets the membrane scale (the only one unless per neuron).
            let theta = match neurons {
                None => *theta,
                Some(n) => n.threshold.iter().fold(f32::NEG_INFINITY, |m, &t| m.max(t)),
            };
            let theta = &theta;
            let min_theta = neurons.as_ref().map_or(*theta, |n| {
                n.threshold.iter().fold(*theta, |m, &t| m.min(t))
            });
            if !(theta.is_finite() && min_theta > 0.0) {
                return Err(unsupported(format!(
                    "has threshold {min_theta} in `{}` (must be positive)",
                    pair[1].name
                )));
            }
            let ws = l.w.as_slice();
            let maxw = (0..l.in_f)
                .flat_map(|i| ws[i * l.stride..][..l.out_f].iter())
                .fold(0.0f64, |m, &v| m.max((v as f64).abs()));
            let s_w = if maxw > 0.0 { maxw / 127.0 } else { 1.0 };
            let spike_q = if k == 0 { IN_Q } else { 1 };
            let k_scale = s_w / spike_q as f64;
            // θ / s_u = θ·2^e / k_scale ∈ (1024, 2048].
            let ratio = *theta as f64 / k_scale;
            let e = ((2.0 * THETA_LO / ratio).log2().floor() as i32).clamp(-30, 30);
            let s_u = k_scale / 2f64.powi(e);
            let theta_q = (*theta as f64 / s_u).round().clamp(1.0, i16::MAX as f64) as i32;
            let neurons = match neurons {
                None => None,
                Some(n) => Some(quantize_neurons(n, s_u).map_err(|why| {
                    unsupported(format!("has LIF layer `{}` {why}", pair[1].name))
                })?),
            };
            let stride = l.out_f.div_ceil(64) * 64;
            let mut w = vec![0i8; l.in_f * stride];
            for i in 0..l.in_f {
                for o in 0..l.out_f {
                    let q = (ws[i * l.stride + o] as f64 / s_w)
                        .round()
                        .clamp(-127.0, 127.0);
                    w[i * stride + o] = q as i8;
                }
            }
            let b: Vec<i32> = l.b.as_slice()[..l.out_f]
                .iter()
                .map(|&v| {
                    (v as f64 / s_u)
                        .round()
                        .clamp(i32::MIN as f64, i32::MAX as f64) as i32
                })
                .collect();
            let narrow = FixedLayer::narrow(l.in_f, e, &b);
            layers.push(FixedLayer {
                name: pair[0].name.clone(),
                linear_stage: lead + 2 * k,
                in_f: l.in_f,
                out_f: l.out_f,
                stride,
                w,
                b,
                spike_q,
                e,
                beta_q: (*beta as f64 * 32768.0).round() as i64,
                theta_q,
                neurons,
                s_w,
                s_u,
                narrow,
            });
        }
        Ok(FixedPlan {
            layers,
            lead,
            input_len: plan.input_len,
            classes: plan.classes,
            readout: plan.readout,
            baseline: true,
        })
    }

    pub fn describe(&self) -> Vec<LayerQuant> {
        self.layers
            .iter()
            .map(|l| LayerQuant {
                linear: l.name.clone(),
                inputs: l.in_f,
                outputs: l.out_f,
                weight_scale: l.s_w,
                membrane_scale: l.s_u,
                shift: l.e,
                spike_units: l.spike_q,
                theta_q: l.theta_q,
                beta_q: l.beta_q,
                bias_q: l.b.clone(),
            })
            .collect()
    }

    /// Bytes of quantized weights (padded storage) and biases.
    pub fn weight_bytes(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + 4 * l.b.len()).sum()
    }

    /// Bytes of per-sample state: `i16` membrane and one spike byte per LIF neuron, and an `i32`
    /// synaptic current per neuron of a current-based layer.
    pub fn state_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (3 + 4 * l.has_synapse() as usize) * l.out_f)
            .sum()
    }
}

/// Quantizes per-neuron values with membrane scale `s_u` (see [`FixedNeurons`]); `Err(why)`
/// when a threshold rounds below one unit or a `v_reset` leaves the `i16` range.
fn quantize_neurons(n: &LifNeurons, s_u: f64) -> Result<FixedNeurons, String> {
    let theta_q = n
        .threshold
        .iter()
        .enumerate()
        .map(|(j, &t)| {
            let q = (t as f64 / s_u).round();
            if q >= 1.0 {
                Ok(q as i32)
            } else {
                Err(format!(
                    "whose neuron {j} has threshold {t}: below one membrane unit ({s_u:e}) of its layer"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let v_reset_q = n
        .v_reset
        .iter()
        .enumerate()
        .map(|(j, &v)| {
            let q = (v as f64 / s_u).round();
            if (i16::MIN as f64..=i16::MAX as f64).contains(&q) {
                Ok(q as i32)
            } else {
                Err(format!(
                    "whose neuron {j} has v_reset {v}: outside the i16 membrane range (±{:e})",
                    s_u * i16::MAX as f64
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FixedNeurons {
        beta_q: n
            .beta
            .iter()
            .map(|&b| (b as f64 * 32768.0).round() as i64)
            .collect(),
        theta_q,
        v_reset_q,
        alpha_q: n
            .alpha
            .iter()
            .map(|&a| (a as f64 * 32768.0).round() as i64)
            .collect(),
        reset: n.reset,
    })
}

// The integer semantics one neuron at a time, as documented on `EventEngine::set_precision`;
// the engine runs the branch-free row version (`lif_row`), tested equal to these.

/// `shift(a, e)`: `a·2^e`, or a rounding arithmetic right shift for negative `e`.
#[cfg(test)]
fn shift_round(a: i64, e: i32) -> i64 {
    if e >= 0 {
        a << e
    } else {
        let s = (-e) as u32;
        (a + (1i64 << (s - 1))) >> s
    }
}

/// `β·U` in Q0.15 with round half up.
#[cfg(test)]
fn beta_mul(beta_q: i64, u: i16) -> i64 {
    (beta_q * u as i64 + (1 << 14)) >> 15
}

/// One LIF update of one neuron (see the module documentation); returns the new membrane and
/// whether it spiked.
#[cfg(test)]
fn lif_fixed(u: i16, spiked_before: bool, i_q: i64, beta_q: i64, theta_q: i32) -> (i16, bool) {
    let reset = if spiked_before { theta_q as i64 } else { 0 };
    let un = (beta_mul(beta_q, u) + i_q - reset).clamp(i16::MIN as i64, i16::MAX as i64) as i16;
    (un, un as i32 > theta_q)
}

/// The synaptic current's step of neuron `k` of a current-based layer: the new `J_q` from the
/// old one and `I_q` (see [`FixedNeurons`]).
#[cfg(test)]
fn synapse_fixed(j_q: i32, i_q: i64, n: &FixedNeurons, k: usize) -> i32 {
    (((n.alpha_q[k] * j_q as i64 + (1 << 14)) >> 15) + i_q).clamp(i32::MIN as i64, i32::MAX as i64)
        as i32
}

/// [`lif_fixed`] for a neuron of a [`FixedNeurons`] layer (`i_q`: its synaptic current for a
/// current-based layer).
#[cfg(test)]
fn lif_fixed_neuron(
    u: i16,
    spiked_before: bool,
    i_q: i64,
    n: &FixedNeurons,
    j: usize,
) -> (i16, bool) {
    let (held, reset) = match n.reset {
        Reset::Subtract => (
            u as i64,
            if spiked_before {
                n.theta_q[j] as i64
            } else {
                0
            },
        ),
        Reset::To { .. } if spiked_before => (n.v_reset_q[j] as i64, 0),
        Reset::To { .. } | Reset::None => (u as i64, 0),
    };
    let un = (((n.beta_q[j] * held + (1 << 14)) >> 15) + i_q - reset)
        .clamp(i16::MIN as i64, i16::MAX as i64) as i16;
    (un, un as i32 > n.theta_q[j])
}

/// Defines `$name(isa, args…)`, which runs the `#[inline(always)]` portable function `$body`
/// either as it is or compiled a second time with AVX-512 enabled (the compiler widens the same
/// loop), as `isa` says.
macro_rules! avx512_twin {
    ($(#[$doc:meta])* fn $name:ident $(<const $g:ident: bool>)? ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $body:ident) => {
        $(#[$doc])*
        fn $name$(<const $g: bool>)?(isa: Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if isa == Isa::Avx512 {
                #[target_feature(enable = "avx512f,avx512bw")]
                unsafe fn twin$(<const $g: bool>)?($($arg: $ty),*) -> $ret {
                    $body$(::<$g>)?($($arg),*)
                }
                // SAFETY: AVX-512 support was checked when the ISA was chosen; the body is safe
                // code (bounds checked).
                return unsafe { twin$(::<$g>)?($($arg),*) };
            }
            let _ = isa;
            $body$(::<$g>)?($($arg),*)
        }
    };
}

#[path = "fixed_chain.rs"]
mod chain;

avx512_twin! {
    /// The LIF update of layer `l`'s neurons from their accumulators: exactly [`shift_round`]
    /// and [`lif_fixed`] per neuron, written without branches so that it vectorizes (8 `i64`
    /// lanes at a time with AVX-512). Returns the number of non-zero currents.
    fn lif_row(
        l: &FixedLayer,
        acc: &[i32],
        spike_q: i64,
        u: &mut [i16],
        s: &mut [bool],
        j: &mut [i32],
    ) -> u64
        = lif_row_portable
}

#[inline(always)]
fn lif_row_portable(
    l: &FixedLayer,
    acc: &[i32],
    spike_q: i64,
    u: &mut [i16],
    s: &mut [bool],
    j: &mut [i32],
) -> u64 {
    // `shift_round(x, e)` as `((x << shl) + round) >> shr` with one of the shifts zero.
    let (shl, shr) = (l.e.max(0) as u32, (-l.e).max(0) as u32);
    let round = if shr > 0 { 1i64 << (shr - 1) } else { 0 };
    if let Some(n) = &l.neurons {
        let sh = (shl, shr, round);
        return if n.alpha_q.is_empty() {
            lif_row_neurons::<false>(n, acc, spike_q, sh, &l.b, u, s, j)
        } else {
            lif_row_neurons::<true>(n, acc, spike_q, sh, &l.b, u, s, j)
        };
    }
    if l.narrow {
        return lif_row_narrow(l, acc, spike_q as i32, (shl, shr, round as i32), u, s);
    }
    let (beta_q, theta_q) = (l.beta_q, l.theta_q as i64);
    let mut nz = 0u64;
    for (((&a, &bias), u), s) in acc.iter().zip(&l.b).zip(u.iter_mut()).zip(s.iter_mut()) {
        let i_q = ((((a as i64 * spike_q) << shl) + round) >> shr) + bias as i64;
        nz += (i_q != 0) as u64;
        let un = ((beta_q * *u as i64 + (1 << 14)) >> 15) + i_q - theta_q * (*s as i64);
        let un = un.clamp(i16::MIN as i64, i16::MAX as i64);
        *u = un as i16;
        *s = un > theta_q;
    }
    nz
}

/// [`lif_row_portable`]'s default neuron in `i32` lanes, for a [`FixedLayer::narrow`] layer: the
/// same operations, none of which overflows there.
#[inline(always)]
fn lif_row_narrow(
    l: &FixedLayer,
    acc: &[i32],
    spike_q: i32,
    (shl, shr, round): (u32, u32, i32),
    u: &mut [i16],
    s: &mut [bool],
) -> u64 {
    let n = NarrowLif::of(l, spike_q, (shl, shr, round));
    let mut nz = 0u32;
    for (((&a, &bias), u), s) in acc.iter().zip(&l.b).zip(u.iter_mut()).zip(s.iter_mut()) {
        let (un, fire, nonzero) = n.lane(a, bias, *u as i32, *s as i32);
        nz += nonzero as u32;
        *u = un as i16;
        *s = fire;
    }
    nz as u64
}

/// The default neuron's update in `i32` for a [`FixedLayer::narrow`] layer, one lane at a time
/// (shared by [`lif_row_narrow`] and the layer-by-layer path in `fixed_chain.rs`).
#[derive(Clone, Copy)]
pub(crate) struct NarrowLif {
    spike_q: i32,
    shl: u32,
    shr: u32,
    round: i32,
    beta_q: i32,
    theta_q: i32,
}

impl NarrowLif {
    #[inline(always)]
    pub fn of(l: &FixedLayer, spike_q: i32, (shl, shr, round): (u32, u32, i32)) -> Self {
        NarrowLif {
            spike_q,
            shl,
            shr,
            round,
            beta_q: l.beta_q as i32,
            theta_q: l.theta_q,
        }
    }

    /// From accumulator `a`, bias, `U_q` and `S_prev` (0/1): the new `U_q`, whether it spikes,
    /// and whether the current `I_q` was non-zero.
    #[inline(always)]
    pub fn lane(&self, a: i32, bias: i32, u: i32, s: i32) -> (i32, bool, bool) {
        let i_q = ((((a * self.spike_q) << self.shl) + self.round) >> self.shr) + bias;
        let un = ((self.beta_q * u + (1 << 14)) >> 15) + i_q - self.theta_q * s;
        let un = un.clamp(i16::MIN as i32, i16::MAX as i32);
        (un, un > self.theta_q, i_q != 0)
    }
}

/// [`lif_row_portable`] for a layer with per-neuron values or another reset (see
/// [`FixedNeurons`]), branch-free; with `SYN` (a current-based layer) the synaptic current `J_q`
/// in `j` first, and the membrane on `J_q`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lif_row_neurons<const SYN: bool>(
    n: &FixedNeurons,
    acc: &[i32],
    spike_q: i64,
    (shl, shr, round): (u32, u32, i64),
    bias: &[i32],
    u: &mut [i16],
    s: &mut [bool],
    j: &mut [i32],
) -> u64 {
    let sub = matches!(n.reset, Reset::Subtract) as i64;
    let to = matches!(n.reset, Reset::To { .. });
    let vr: &[i32] = if to { &n.v_reset_q } else { &n.theta_q };
    // every slice cut to the same length, so that the indexed loop has no bounds checks
    let len = u.len().min(s.len()).min(acc.len()).min(bias.len());
    let (acc, bias, u, s) = (&acc[..len], &bias[..len], &mut u[..len], &mut s[..len]);
    let (bq, tq, vr) = (&n.beta_q[..len], &n.theta_q[..len], &vr[..len]);
    let (aq, j) = if SYN {
        (&n.alpha_q[..len], &mut j[..len])
    } else {
        (&[][..], &mut [][..])
    };
    let mut nz = 0u64;
    for k in 0..len {
        let mut i_q = ((((acc[k] as i64 * spike_q) << shl) + round) >> shr) + bias[k] as i64;
        nz += (i_q != 0) as u64;
        if SYN {
            let jn = (((aq[k] * j[k] as i64 + (1 << 14)) >> 15) + i_q)
                .clamp(i32::MIN as i64, i32::MAX as i64);
            j[k] = jn as i32;
            i_q = jn;
        }
        let sp = s[k] as i64;
        let held = if to && s[k] {
            vr[k] as i64
        } else {
            u[k] as i64
        };
        let un = ((bq[k] * held + (1 << 14)) >> 15) + i_q - sub * tq[k] as i64 * sp;
        let un = un.clamp(i16::MIN as i64, i16::MAX as i64);
        u[k] = un as i16;
        s[k] = un > tq[k] as i64;
    }
    nz
}

avx512_twin! {
    /// `acc[o] += Σ_k w[idx[k]·stride + o]` for `o < stride` (`-=` with `NEG`; never wraps: the
    /// plan accepts only layers with `127 · 255 · in_f < 2^31`); with AVX-512 the compiler
    /// widens 16 `i8` at a time.
    fn add_rows<const NEG: bool>(acc: &mut [i32], w: &[i8], stride: usize, idx: &[u32]) -> ()
        = add_rows_portable
}

/// Columns per register block of [`add_rows`]: 64 `i32` accumulators (four 512-bit or eight
/// 256-bit registers) stay in registers while every row of the list is added.
const BLOCK: usize = 64;

#[inline(always)]
fn add_rows_portable<const NEG: bool>(acc: &mut [i32], w: &[i8], stride: usize, idx: &[u32]) {
    let rows = w.len() / stride.max(1);
    assert!(
        idx.iter().all(|&i| (i as usize) < rows),
        "spike index beyond the weight rows"
    );
    assert!(
        stride.is_multiple_of(BLOCK),
        "rows are padded to {BLOCK} columns"
    );
    for (c, block) in acc[..stride].chunks_exact_mut(BLOCK).enumerate() {
        let mut a = [0i32; BLOCK];
        a.copy_from_slice(block);
        for &i in idx {
            let row: &[i8; BLOCK] = w[i as usize * stride + c * BLOCK..][..BLOCK]
                .try_into()
                .expect("a block");
            for (a, &x) in a.iter_mut().zip(row) {
                if NEG {
                    *a -= x as i32;
                } else {
                    *a += x as i32;
                }
            }
        }
        block.copy_from_slice(&a);
    }
}

/// The input layer's baseline for one sample (see [`FixedWorker::run_sample`]): every step's
/// input spikes as bits, their split against the inputs spiking at more than half of the steps
/// ([`Baseline::split`], as the f32 path's), and those inputs' rows summed.
#[derive(Debug, Default)]
struct InputBaseline {
    /// Step `t`'s spikes as mask words: `masks[t·W..(t + 1)·W]`, `W = ⌈n / 16⌉`.
    masks: Vec<u16>,
    /// Spikes per step.
    counts: Vec<u32>,
    split: Baseline,
    /// `Σ_{i ∈ base} w[i]`, `stride` accumulators.
    acc: Vec<i32>,
}

impl InputBaseline {
    /// Reads every step's input of sample `b` as bits; `None` when some input is not a spike
    /// (the steps then read their input one by one, analog values included), else the spikes.
    fn gather(
        &mut self,
        isa: Isa,
        src: Source<'_>,
        n: usize,
        b: usize,
        steps: usize,
    ) -> Option<usize> {
        let words = n.div_ceil(16);
        self.masks.resize(steps * words, 0);
        self.counts.resize(steps, 0);
        for t in 0..steps {
            let masks = &mut self.masks[t * words..(t + 1) * words];
            self.counts[t] = match src {
                Source::Bits(sb) => row_to_masks(sb.row(t, b), masks),
                Source::F32 { data, batch } => {
                    let x = &data[(t * batch + b) * n..][..n];
                    simd::scan_spikes(isa, x, &[], None, masks)? as u32
                }
            };
        }
        Some(self.counts.iter().map(|&c| c as usize).sum())
    }

    /// Chooses the baseline and sums its rows; false when it would save too little (see
    /// [`Baseline::split`]).
    fn choose(&mut self, isa: Isa, l: &FixedLayer, steps: usize, spikes: usize) -> bool {
        let words = l.in_f.div_ceil(16);
        let nb = self.split.split(isa, &self.masks, words, steps, spikes);
        if nb == 0 {
            return false;
        }
        self.acc.clear();
        self.acc.resize(l.stride, 0);
        add_rows::<false>(isa, &mut self.acc, &l.w, l.stride, &self.split.base[..nb]);
        true
    }
}

/// `acc[o] += Σ_k q[k] · w[idx[k]·stride + o]` (analog input).
fn add_rows_scaled(acc: &mut [i32], w: &[i8], stride: usize, idx: &[u32], q: &[i32]) {
    let acc = &mut acc[..stride];
    for (&i, &x) in idx.iter().zip(q) {
        let row = &w[i as usize * stride..][..stride];
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += x * v as i32;
        }
    }
}

/// One worker's buffers for fixed-point runs.
pub(crate) struct FixedWorker {
    acc: Vec<i32>,
    u: Vec<Vec<i16>>,
    s: Vec<Vec<bool>>,
    /// Synaptic currents `J_q` (empty for layers without one).
    j: Vec<Vec<i32>>,
    /// Spike lists: `lists[0]` the network input, `lists[k + 1]` layer `k`'s output.
    lists: Vec<Vec<u32>>,
    counts: Vec<usize>,
    vals: Vec<f32>,
    qvals: Vec<i32>,
    readout: Vec<i64>,
    input_base: InputBaseline,
    chain: chain::ChainScratch,
    /// Samples run layer by layer ([`FixedWorker::run_layers`]).
    layered_runs: u64,
    pub counters: Counters,
    pub raster: Vec<Vec<Vec<u32>>>,
}

impl FixedWorker {
    pub fn new(fp: &FixedPlan) -> Self {
        let max_stride = fp.layers.iter().map(|l| l.stride).max().unwrap_or(0);
        let mut lists = vec![vec![0u32; fp.input_len]];
        lists.extend(fp.layers.iter().map(|l| vec![0u32; l.out_f]));
        FixedWorker {
            acc: vec![0; max_stride],
            u: fp.layers.iter().map(|l| vec![0; l.out_f]).collect(),
            s: fp.layers.iter().map(|l| vec![false; l.out_f]).collect(),
            j: fp
                .layers
                .iter()
                .map(|l| vec![0; if l.has_synapse() { l.out_f } else { 0 }])
                .collect(),
            counts: vec![0; fp.layers.len() + 1],
            lists,
            vals: vec![0.0; fp.input_len],
            qvals: vec![0; fp.input_len],
            readout: vec![0; fp.classes],
            input_base: InputBaseline::default(),
            chain: Default::default(),
            layered_runs: 0,
            counters: Counters::default(),
            raster: Vec::new(),
        }
    }

    /// Runs sample `b` and writes its dequantized logits.
    #[allow(clippy::too_many_arguments)]
    pub fn run_sample(
        &mut self,
        fp: &FixedPlan,
        isa: Isa,
        src: Source<'_>,
        b: usize,
        steps: usize,
        logits: &mut [f32],
        record_raster: bool,
        layered: bool,
    ) -> Result<(), InferenceError> {
        let n = fp.input_len;
        for u in &mut self.u {
            u.fill(0);
        }
        for s in &mut self.s {
            s.fill(false);
        }
        for j in &mut self.j {
            j.fill(0);
        }
        self.readout.fill(0);
        if record_raster {
            self.raster = fp
                .layers
                .iter()
                .map(|_| Vec::with_capacity(steps))
                .collect();
        }
        let last = fp.layers.len() - 1;
        // All spikes: the input layer's accumulators may start from the sum of its frequent
        // inputs' rows, adding the other spikes and subtracting that baseline's silences —
        // integer sums, so exactly the same accumulators.
        let based = fp.baseline && {
            let ib = &mut self.input_base;
            ib.gather(isa, src, n, b, steps)
                .is_some_and(|spikes| ib.choose(isa, &fp.layers[0], steps, spikes))
        };
        if based {
            let l0 = &fp.layers[0];
            self.counters.saved_ops[l0.linear_stage] +=
                self.input_base.split.saved_rows * l0.out_f as u64;
        }
        // Layer by layer over the steps (the same operations; see `fixed_chain.rs`), or step by
        // step.
        let steps_in_loop = if based && layered && FixedWorker::layered(fp) {
            self.run_layers(fp, isa, steps, record_raster);
            0
        } else {
            steps
        };
        for t in 0..steps_in_loop {
            // The network input as a list: spikes, or quantized analog values.
            let binary = match src {
                // the spikes were counted when the baseline was chosen
                _ if based => {
                    self.counts[0] = self.input_base.counts[t] as usize;
                    true
                }
                Source::Bits(sb) => {
                    self.counts[0] = decode_row(sb.row(t, b), &mut self.lists[0]);
                    true
                }
                Source::F32 { data, batch } => {
                    let x = &data[(t * batch + b) * n..][..n];
                    let scan = simd::scan_nonzero(isa, x, &mut self.lists[0], &mut self.vals);
                    self.counts[0] = scan.count;
                    if !scan.binary {
                        for k in 0..scan.count {
                            let v = self.vals[k];
                            if !(0.0..=1.0).contains(&v) {
                                return Err(InferenceError::Other(format!(
                                    "the int8 fixed-point mode takes spikes or analog input in [0, 1]; \
                                     step {t}, sample {b}, element {} is {v}",
                                    self.lists[0][k]
                                )));
                            }
                            self.qvals[k] = (v * IN_Q as f32).round() as i32;
                        }
                    }
                    scan.binary
                }
            };
            let c0 = self.counts[0] as u64;
            for row in &mut self.counters.out_nz[..=fp.lead] {
                row[t] += c0;
            }
            for (k, l) in fp.layers.iter().enumerate() {
                let acc = &mut self.acc[..l.stride];
                acc.fill(0);
                let (inputs, outputs) = self.lists.split_at_mut(k + 1);
                let idx = &inputs[k][..self.counts[k]];
                let input_binary = k > 0 || binary;
                if k == 0 && based {
                    let ib = &self.input_base;
                    acc.copy_from_slice(&ib.acc[..l.stride]);
                    let (plus, minus) = ib.split.step(t);
                    add_rows::<false>(isa, acc, &l.w, l.stride, plus);
                    add_rows::<true>(isa, acc, &l.w, l.stride, minus);
                    self.counters.event_steps[l.linear_stage] += 1;
                } else if input_binary {
                    add_rows::<false>(isa, acc, &l.w, l.stride, idx);
                    self.counters.event_steps[l.linear_stage] += 1;
                } else {
                    add_rows_scaled(acc, &l.w, l.stride, idx, &self.qvals[..idx.len()]);
                }
                let spike_q = if input_binary { l.spike_q as i64 } else { 1 };
                self.counters.eff_ops[l.linear_stage] += (self.counts[k] * l.out_f) as u64;
                let (u, s, j) = (&mut self.u[k], &mut self.s[k], &mut self.j[k]);
                let out = &mut outputs[0];
                // The LIF update of every neuron (vectorized), then the spikes compacted into
                // the list.
                let nz_cur = lif_row(isa, l, acc, spike_q, u, s, j);
                let mut count = 0;
                for (o, &fire) in s.iter().enumerate() {
                    out[count] = o as u32;
                    count += fire as usize;
                }
                self.counts[k + 1] = count;
                self.counters.out_nz[l.linear_stage + 1][t] += nz_cur;
                self.counters.out_nz[l.linear_stage + 2][t] += count as u64;
                self.counters.membrane_updates[l.linear_stage + 1] += l.out_f as u64;
                if record_raster {
                    self.raster[k].push(out[..count].to_vec());
                }
            }
            match fp.readout {
                Readout::MembraneMean => {
                    for (r, &u) in self.readout.iter_mut().zip(&self.u[last]) {
                        *r += u as i64;
                    }
                }
                Readout::SpikeCount | Readout::Output => {
                    for (r, &s) in self.readout.iter_mut().zip(&self.s[last]) {
                        *r += s as i64;
                    }
                }
                Readout::MembraneLast => {}
            }
        }
        let s_u = fp.layers[last].s_u;
        let tf = steps as f64;
        for (o, l) in logits.iter_mut().enumerate() {
            *l = match fp.readout {
                Readout::MembraneMean => (self.readout[o] as f64 * s_u / tf) as f32,
                Readout::Output => (self.readout[o] as f64 / tf) as f32,
                Readout::SpikeCount => self.readout[o] as f32,
                Readout::MembraneLast => (self.u[last][o] as f64 * s_u) as f32,
            };
        }
        self.counters.samples += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_row_sums_equal_the_plain_sums_on_every_isa() {
        // 3 row blocks, repeated and extreme rows, additions and subtractions, an empty list.
        let (rows, stride) = (37usize, 3 * BLOCK);
        let w: Vec<i8> = (0..rows * stride)
            .map(|k| match k % 11 {
                0 => i8::MIN + 1,
                1 => i8::MAX,
                _ => ((k * 2654435761) % 255) as i32 as i8,
            })
            .collect();
        let lists: [&[u32]; 3] = [&[], &[0, 5, 5, 36, 17], &[36, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
        for idx in lists {
            let start: Vec<i32> = (0..stride as i32).map(|k| k * 1000 - 50_000).collect();
            for neg in [false, true] {
                let mut want = start.clone();
                for &i in idx {
                    for (o, a) in want.iter_mut().enumerate() {
                        let x = w[i as usize * stride + o] as i32;
                        *a += if neg { -x } else { x };
                    }
                }
                for isa in Isa::supported() {
                    let mut acc = start.clone();
                    if neg {
                        add_rows::<true>(isa, &mut acc, &w, stride, idx);
                    } else {
                        add_rows::<false>(isa, &mut acc, &w, stride, idx);
                    }
                    assert_eq!(acc, want, "{isa:?} neg={neg} {idx:?}");
                }
            }
        }
    }

    #[test]
    fn narrow_layers_are_exactly_those_whose_currents_fit_two_to_the_thirty() {
        // 127·255·in_f·2^e + rounding + |bias| against 2^30
        assert!(FixedLayer::narrow(784, -9, &[1000, -5000]));
        assert!(FixedLayer::narrow(256, 0, &[0]));
        let edge = (1usize << 30) / (127 * 255);
        assert!(FixedLayer::narrow(edge, 0, &[]));
        assert!(!FixedLayer::narrow(edge + 1, 0, &[]));
        assert!(FixedLayer::narrow(256, 7, &[]), "8.3e6·2^7 ≤ 2^30");
        assert!(!FixedLayer::narrow(256, 8, &[]), "8.3e6·2^8 > 2^30");
        assert!(!FixedLayer::narrow(1, 0, &[i32::MAX]));
    }

    #[test]
    fn branch_free_rows_equal_the_neuron_by_neuron_semantics() {
        // Random accumulators, membranes near and at the i16 limits, both shift directions,
        // both spike states: every lane of `lif_row` (each ISA) equals `shift_round` +
        // `lif_fixed`.
        let mut seed = 0x2545_f491_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for e in [-9, -1, 0, 3] {
            let n = 37;
            let l = FixedLayer {
                name: "fc".into(),
                linear_stage: 0,
                in_f: 1,
                out_f: n,
                stride: 64,
                w: vec![0; 64],
                b: (0..n).map(|_| (next() % 4001) as i32 - 2000).collect(),
                spike_q: 255,
                e,
                beta_q: 29491,
                theta_q: 1500,
                neurons: None,
                s_w: 1.0,
                s_u: 1.0,
                narrow: false,
            };
            let acc: Vec<i32> = (0..64)
                .map(|_| (next() % 200_001) as i32 - 100_000)
                .collect();
            let u0: Vec<i16> = (0..n)
                .map(|k| match k % 5 {
                    0 => i16::MAX,
                    1 => i16::MIN,
                    _ => (next() % 65536) as u16 as i16,
                })
                .collect();
            let s0: Vec<bool> = (0..n).map(|_| next() % 2 == 1).collect();
            for spike_q in [1i64, 255] {
                let mut want_nz = 0;
                let want: Vec<(i16, bool)> = (0..n)
                    .map(|o| {
                        let i_q = shift_round(acc[o] as i64 * spike_q, e) + l.b[o] as i64;
                        want_nz += (i_q != 0) as u64;
                        lif_fixed(u0[o], s0[o], i_q, l.beta_q, l.theta_q)
                    })
                    .collect();
                // the i64 lanes, and the i32 lanes (these values fit: |acc·255 << 3| < 2^28)
                for narrow in [false, true] {
                    let l = FixedLayer {
                        narrow,
                        ..l.clone()
                    };
                    for isa in Isa::supported() {
                        let (mut u, mut s) = (u0.clone(), s0.clone());
                        let nz = lif_row(isa, &l, &acc, spike_q, &mut u, &mut s, &mut []);
                        let got: Vec<(i16, bool)> = u.into_iter().zip(s).collect();
                        let what = format!("{isa:?} e={e} spike_q={spike_q} narrow={narrow}");
                        assert_eq!(got, want, "{what}");
                        assert_eq!(nz, want_nz, "{what}");
                    }
                }
            }
            // The same with per-neuron values, for every reset, without and with a synaptic
            // current (its i32 state starting anywhere, the extremes included).
            let resets = [Reset::Subtract, Reset::To { v_reset: -0.25 }, Reset::None];
            for (reset, synapse) in resets.into_iter().flat_map(|r| [(r, false), (r, true)]) {
                let to = matches!(reset, Reset::To { .. });
                let nl = FixedNeurons {
                    beta_q: (0..n).map(|_| (next() % 32769) as i64).collect(),
                    theta_q: (0..n).map(|_| 500 + (next() % 2000) as i32).collect(),
                    v_reset_q: if to {
                        (0..n).map(|_| (next() % 4001) as i32 - 2000).collect()
                    } else {
                        Vec::new()
                    },
                    alpha_q: if synapse {
                        (0..n).map(|_| (next() % 32769) as i64).collect()
                    } else {
                        Vec::new()
                    },
                    reset,
                };
                let l = FixedLayer {
                    neurons: Some(nl.clone()),
                    ..l.clone()
                };
                let j0: Vec<i32> = if synapse {
                    (0..n)
                        .map(|k| match k % 7 {
                            0 => i32::MAX,
                            1 => i32::MIN,
                            _ => (next() % 200_001) as i32 - 100_000,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                for spike_q in [1i64, 255] {
                    let mut want_j = j0.clone();
                    let want: Vec<(i16, bool)> = (0..n)
                        .map(|o| {
                            let mut i_q = shift_round(acc[o] as i64 * spike_q, e) + l.b[o] as i64;
                            if synapse {
                                want_j[o] = synapse_fixed(j0[o], i_q, &nl, o);
                                i_q = want_j[o] as i64;
                            }
                            lif_fixed_neuron(u0[o], s0[o], i_q, &nl, o)
                        })
                        .collect();
                    for isa in Isa::supported() {
                        let (mut u, mut s, mut j) = (u0.clone(), s0.clone(), j0.clone());
                        lif_row(isa, &l, &acc, spike_q, &mut u, &mut s, &mut j);
                        let got: Vec<(i16, bool)> = u.into_iter().zip(s).collect();
                        let what =
                            format!("{isa:?} e={e} {reset:?} synapse={synapse} spike_q={spike_q}");
                        assert_eq!(got, want, "{what}");
                        assert_eq!(j, want_j, "{what}");
                    }
                }
            }
        }
    }
}
