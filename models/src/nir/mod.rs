//! NIR (Neuromorphic Intermediate Representation) in and out: [`import()`] turns a NIR graph
//! (read by the `joulebench-nir` crate) into a [`crate::ModelSpec`] and its weights, which every
//! engine runs; [`export()`] writes a spiking spec as NIR.
//!
//! # Discretization
//!
//! NIR is continuous-time and stores no time step. With the time step `dt` (`--dt`, default
//! snnTorch's export convention `1e-4` s), forward Euler, per neuron:
//!
//! | NIR node | equation | joulebench layer |
//! |---|---|---|
//! | `LIF` | `τ v̇ = (v_leak − v) + r I`, spike `v > v_threshold`, then `v ← v_reset` | LIF, `β = 1 − dt/τ`, reset to `v_reset`; input gain `r·dt/τ` and constant input `dt/τ·v_leak` folded into the Affine/Linear/Conv before it |
//! | `IF` | `v̇ = r I`, spike, `v ← v_reset` | LIF with `β = 1`, input gain `r·dt` folded as above |
//! | `LI` | `τ v̇ = (v_leak − v) + r I` | LIF that never fires (θ = f32::MAX, no reset), only as the last layer: membrane-mean readout |
//! | `CubaLIF` | `τ_syn J̇ = −J + w_in I`, `τ_mem v̇ = (v_leak − v) + r J`, spike, `v ← v_reset` | LIF with a synaptic current (`LifParams::synapse`): `J[t] = α·J[t−1] + I[t]`, `U[t] = β·U[t−1] + J[t]` (reset to `v_reset`), `α = 1 − dt/τ_syn`, `β = 1 − dt/τ_mem`; input gain `w_in·dt/τ_syn · r·dt/τ_mem` folded as above; `v_leak` must be 0 |
//! | `CubaLI` | as `CubaLIF` without spikes | the same with θ = f32::MAX and no reset, only as the last layer: membrane-mean readout |
//! | `Threshold` | `S = x > θ` | LIF with `β = 0`, no reset: `U[t] = I[t]` |
//! | `Affine` / `Linear` / `Scale` | `W x + b` / `W x` / `s ⊙ x` | Linear (zero bias for `Linear`); `Scale` folded into the layer before |
//! | `Conv1d` / `Conv2d` | | Conv1d / Conv2d (groups 1, dilation 1, square kernel, equal stride and padding) |
//! | `Flatten` | | Flatten (of the whole sample) |
//! | `SumPool2d` / `AvgPool2d` | `g·Σ` over each window, `g = 1` / `1/(kh·kw)` | no layer: folded into the weighted layer next to it ([`pool`]): after a neuron (or the Input), into the Affine/Linear after it (a Flatten between; its weight repeated over each window) or the Conv2d after it (kernel `k·K`, stride `k·S`, padding `k·P`); right after a Conv2d, into that conv (kernel `(k−1)·S + K`, stride `k·S`). No padding; next to a conv, a square kernel equal to the stride. The folded layer reads the unpooled map: its operation counts are its own (the import's notes say so) |
//!
//! So `U[t] = β·U[t−1] + g·I[t] + dt/τ·v_leak` with a spike when `U[t] > θ` and the membrane set
//! to `v_reset` before the next step — snnTorch's `Leaky(reset_mechanism="zero",
//! reset_delay=False)` when `v_reset = 0`, which its NIR importer builds; the output spikes are
//! the same. An LIF written by snnTorch (`τ = dt/(1−β)`, `r = τ/dt`, `v_leak = 0`, in float32)
//! comes back as exactly its β for β ≥ 0.5 ([`import::beta_from_tau`]) with input gain 1.
//! A `CubaLIF` is snnTorch's `Synaptic(reset_mechanism="zero", reset_delay=False)`, which its
//! importer builds (the current first, then the membrane with the new current; the current is
//! never reset), with `α` recovered from `τ_syn` the same way. Every engine runs it: training,
//! ONNX, native, event (f32) and the int8 event mode (an `i32` synaptic current).
//! Not supported (a clear error naming the node): a pool that cannot be folded exactly (before
//! a neuron or the Output, with padding, …; the engines pool by max only), branching or
//! recurrent graphs, nested graphs.
//!
//! An imported network is rate-coded over `T` steps (`--steps`) like `snn-temporal`; its logits
//! are the output layer's spike counts over `T` (an `LI` output: its mean membrane).

pub mod export;
pub mod import;
pub mod pool;

pub use export::{export, ExportOptions, Exported};
pub use import::{import, ImportOptions, Imported};
