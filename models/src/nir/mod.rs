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
//! | `Threshold` | `S = x > θ` | LIF with `β = 0`, no reset: `U[t] = I[t]` |
//! | `Affine` / `Linear` / `Scale` | `W x + b` / `W x` / `s ⊙ x` | Linear (zero bias for `Linear`); `Scale` folded into the layer before |
//! | `Conv1d` / `Conv2d` | | Conv1d / Conv2d (groups 1, dilation 1, square kernel, equal stride and padding) |
//! | `Flatten` | | Flatten (of the whole sample) |
//!
//! So `U[t] = β·U[t−1] + g·I[t] + dt/τ·v_leak` with a spike when `U[t] > θ` and the membrane set
//! to `v_reset` before the next step — snnTorch's `Leaky(reset_mechanism="zero",
//! reset_delay=False)` when `v_reset = 0`, which its NIR importer builds; the output spikes are
//! the same. An LIF written by snnTorch (`τ = dt/(1−β)`, `r = τ/dt`, `v_leak = 0`, in float32)
//! comes back as exactly its β for β ≥ 0.5 ([`import::beta_from_tau`]) with input gain 1.
//! Not supported (a clear error naming the node): `SumPool2d`, `AvgPool2d` (the engines pool by
//! max), `CubaLIF`, `CubaLI`, branching or recurrent graphs, nested graphs.
//!
//! An imported network is rate-coded over `T` steps (`--steps`) like `snn-temporal`; its logits
//! are the output layer's spike counts over `T` (an `LI` output: its mean membrane).

pub mod export;
pub mod import;

pub use export::{export, ExportOptions, Exported};
pub use import::{import, ImportOptions, Imported};
