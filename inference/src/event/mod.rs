//! The native event-driven leaky-integrate-and-fire engine.
//!
//! [`EventEngine`] runs the spiking presets (`snn`, `snn-1step`, `snn-temporal`,
//! `csnn-1step`, `csnn-temporal`, or any spiking [`ModelSpec`] built from Linear, Conv1d/2d,
//! MaxPool1d/2d, Flatten, ReLU, Tanh and LIF layers). At every time step it processes the
//! spikes of each layer as events:
//!
//! * **fully connected**: for each presynaptic neuron that spiked, its outgoing weights — one
//!   contiguous row of the transposed weight `[in][out]` — are added to the postsynaptic
//!   currents (accumulates, no multiplies), then the bias;
//! * **convolution**: the input spikes are set as bits of their input rows; each output
//!   position gathers its receptive field's bits into a column mask (bit `t` = kernel tap
//!   `(c·kh + ky)·kw + kx`) and sums, in registers, the kernel slices (`[c][ky][kx][cout]`,
//!   one vector per 16 output channels) of its set bits — the event-driven work is one vector
//!   add per spike, tap and 16 channels, each output stored once. Analog inputs (and output
//!   widths the vector kernels do not hold in registers) are scattered instead: each non-zero
//!   input adds its kernel slice onto the output positions it reaches, found in a table built
//!   with the plan (`simd::conv_scatter_events`). Then one pass adds the bias and, when a max
//!   pool follows, pools in registers and writes the pooled map channels-first directly;
//! * **max pooling** of spikes is an OR; of analog values a max;
//! * **LIF**: `U ← (β·U + I) − S_prev·θ`, `S = [U > θ]` — snnTorch `Leaky` defaults, reset by
//!   subtraction from the previous step's spike, strict comparison, `β` clamped to `[0, 1]`
//!   (see [`joulebench_models::LifParams`]); and the other neurons a spec may ask for — reset to
//!   a value (`U ← β·(S_prev ? v_reset : U) + I`) or none, per-neuron β, θ and `v_reset` —
//!   through [`simd::lif_step_neurons`] on every instruction set (such networks run step by
//!   step: the layer-by-layer path below is for the default neuron).
//!
//! A layer whose input at a step is not binary (analog pixels for the single-step presets, or
//! anything but 0/1) multiplies and adds over the non-zero inputs instead (multiply-accumulates;
//! [`LayerActivity::event_driven`] is false for it). [`ExecMode::Dense`] runs every layer
//! densely over all inputs, zeros included — the same arithmetic a dense engine does — for
//! comparisons.
//!
//! **Exactness.** Each current is summed in ascending presynaptic index from 0, then the bias is
//! added, and products and sums are separate roundings. This is exactly the order of a direct
//! dense loop `acc = 0; for i in 0..n { acc += x[i] * w[o][i] }; acc + b` (a zero input adds
//! ±0 and changes nothing, and `1·w = w`), so spikes and membranes are bit-identical to such a
//! reference, whatever instruction set ([`Isa`]) or thread count is used — except where the
//! layer-by-layer path forms currents against a baseline (below): the same sums in real
//! arithmetic, rounded differently (a few ulps; the exactness tests hold spikes identical and
//! logits within 1e-5 with it on, and [`EventEngine::set_baseline`] turns it off).
//!
//! **Input** `[T, batch, sample…]` (the encoded tensor, `T ≥ 1`; `T` may differ from
//! `spec.steps`); **output** logits `[batch, classes]` per `spec.readout`: the mean over steps
//! of the last layer's output or membrane, the last membrane, or the spike count.
//!
//! **Input** may also come bit-packed ([`SpikeBatch`], [`EventEngine::run_spikes`]): binary
//! spikes, one bit per input neuron and step, with identical results.
//!
//! **Layer by layer.** A fully connected spiking network (`Flatten`s, then `Linear → LIF`
//! pairs, e.g. `snn-temporal`) whose input is all spikes runs layer after layer over chunks of
//! steps rather than step after step (only membranes carry state across steps): per layer, one
//! pass forms the currents of every step of the chunk column block by column block — the
//! block's active weight rows (weights stored block-contiguous) stay in the L1 cache across
//! steps — and applies the LIF to each block in registers, writing spikes as bit masks; the
//! next layer reads them as index lists. Same sums, same order: bit-identical to the
//! step-by-step loop (used otherwise, and with [`EventEngine::set_temporal_blocking`] off).
//! The int8 fixed-point mode does the same with its integer operations
//! ([`fixed_chain.rs`](fixed_chain.rs): per 64-neuron block over all steps, identical results).
//!
//! **Baseline of frequent inputs.** In that path, a layer whose inputs include some that spike
//! at more than half of a chunk's steps (a digit's saturated pixels, hidden neurons that fire
//! nearly always) sums those inputs' weight rows once per chunk; each step then adds the rows
//! of its other spikes and subtracts those of the baseline's silent inputs (`baseline.rs`).
//! Work then falls with the sparsity of *changes from the baseline*: both sparse spiking and
//! sparse silence are cheap. [`LayerActivity::performed_ops`] counts the additions done,
//! [`LayerActivity::effective_ops`] stays NeuroBench's spikes × fan-out.
//!
//! **Fixed point.** [`EventEngine::set_precision`]`(`[`Precision::Int8`]`)` runs fully connected
//! spiking networks with int8 weights, int32 accumulators and int16 membranes (exact integer
//! semantics documented there); its results approximate, not reproduce, the f32 ones.
//!
//! **Threads.** The samples of a batch are claimed one at a time by `threads` workers on a
//! dedicated rayon pool of exactly `threads` threads; a batch of one (or `threads = 1`) runs on
//! the calling thread. Every worker owns preallocated buffers: the time loop does not allocate
//! (unless a raster is being recorded).

mod act;
pub mod aligned;
mod baseline;
mod chain;
mod conv;
mod fixed;
mod plan;
pub mod simd;
mod spikes;
mod worker;

use joulebench_models::{ModelSpec, Tensor, Weights};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, LayerActivity};
use crate::backend::Backend;
use crate::error::InferenceError;
use crate::isa::Isa;
pub use fixed::LayerQuant;
use fixed::{FixedPlan, FixedWorker};
use plan::Plan;
pub use spikes::SpikeBatch;
use worker::{Counters, Source, Worker};

/// How the engine executes synaptic layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExecMode {
    /// Spikes as events (binary inputs), multiply-accumulate over non-zeros otherwise.
    #[default]
    Event,
    /// Every input, zero or not, multiplied and accumulated: the dense cost of the same network.
    Dense,
}

impl ExecMode {
    pub fn name(self) -> &'static str {
        match self {
            ExecMode::Event => "event",
            ExecMode::Dense => "dense",
        }
    }
}

/// Number format of the engine's arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// IEEE f32 (the default): bit-identical to a direct dense reference, or, where a baseline
    /// of frequent inputs is used ([`EventEngine::set_baseline`]), the same sums rounded in
    /// another order.
    #[default]
    F32,
    /// Fixed point: int8 weights (one symmetric scale per layer), int32 accumulators, int16
    /// membranes, β in Q0.15 (see [`EventEngine::set_precision`]). Fully connected spiking
    /// networks only.
    Int8,
}

impl Precision {
    /// Bytes per stored weight (f32: 4; int8: 1).
    pub fn weight_bytes(self) -> f64 {
        match self {
            Precision::F32 => 4.0,
            Precision::Int8 => 1.0,
        }
    }

    /// Bytes per activation element (f32: 4; int8 inputs / int16 membranes: 2).
    pub fn activation_bytes(self) -> f64 {
        match self {
            Precision::F32 => 4.0,
            Precision::Int8 => 2.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }

    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "f32" => Some(Precision::F32),
            "int8" => Some(Precision::Int8),
            _ => None,
        }
    }
}

/// The event-driven LIF engine (see the module documentation for semantics).
pub struct EventEngine {
    spec: ModelSpec,
    plan: Plan,
    threads: usize,
    isa: Isa,
    mode: ExecMode,
    record_raster: bool,
    temporal: bool,
    /// See [`EventEngine::set_baseline`].
    baseline: bool,
    pool: Option<rayon::ThreadPool>,
    workers: Vec<Worker>,
    /// The quantized network and its workers when running in [`Precision::Int8`].
    fixed: Option<(FixedPlan, Vec<FixedWorker>)>,
    activity: Activity,
    total: Counters,
    /// A batch's `f32` spikes packed to bits before the run (see [`Backend::run`]).
    packed: SpikeBatch,
}

impl EventEngine {
    /// Builds the engine for a spiking `spec` with `weights`, using `threads` worker threads
    /// (at least 1) and the widest SIMD instruction set this CPU has.
    pub fn new(
        spec: &ModelSpec,
        weights: &Weights,
        threads: usize,
    ) -> Result<Self, InferenceError> {
        let plan = Plan::build(spec, weights)?;
        let threads = threads.max(1);
        let pool = crate::pool::worker_pool(threads, "jb-event")?;
        let workers = (0..threads).map(|_| Worker::new(&plan)).collect();
        Ok(EventEngine {
            spec: spec.clone(),
            plan,
            threads,
            isa: Isa::detect(),
            mode: ExecMode::Event,
            record_raster: false,
            temporal: true,
            baseline: true,
            pool,
            workers,
            fixed: None,
            activity: Activity::default(),
            total: Counters::default(),
            packed: SpikeBatch::default(),
        })
    }

    /// Same, with an execution mode.
    pub fn with_mode(
        spec: &ModelSpec,
        weights: &Weights,
        threads: usize,
        mode: ExecMode,
    ) -> Result<Self, InferenceError> {
        let mut e = Self::new(spec, weights, threads)?;
        e.mode = mode;
        Ok(e)
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn mode(&self) -> ExecMode {
        self.mode
    }

    pub fn set_mode(&mut self, mode: ExecMode) {
        self.mode = mode;
    }

    /// The SIMD instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Chooses the SIMD instruction set; errors when this CPU lacks it. Results do not depend
    /// on it (bit-identical), only speed does.
    pub fn set_isa(&mut self, isa: Isa) -> Result<(), InferenceError> {
        if !isa.is_supported() {
            return Err(InferenceError::Other(format!(
                "this CPU cannot run the {} kernels",
                isa.name()
            )));
        }
        self.isa = isa;
        Ok(())
    }

    /// The arithmetic in use.
    pub fn precision(&self) -> Precision {
        if self.fixed.is_some() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// Chooses the arithmetic. [`Precision::Int8`] quantizes the weights once, per layer
    /// (`Linear` weight `W`, bias `b`, then LIF `β`, `θ`):
    ///
    /// * `w_q = clamp(round(W / s_w), ±127)` as `i8` with `s_w = max|W| / 127`;
    /// * input spikes count 1 (255 in the first layer, whose analog input, if any, must lie in
    ///   `[0, 1]` and becomes `round(255·x)`); accumulators `acc = Σ x_q·w_q` are `i32`;
    /// * membranes are `i16` in units `s_u = s_x·s_w / 2^e`, `e` chosen so that the threshold
    ///   `θ_q = round(θ / s_u)` lies in `(1024, 2048]` (the `i16` range is then at least
    ///   `±16θ`; membranes beyond it saturate); the current is
    ///   `I_q = acc·2^e + round(b / s_u)` (rounding right shift when `e < 0`);
    /// * `β_q = round(β·2^15)` (Q0.15, `β ∈ [0, 1]`), and each step
    ///   `U_q ← sat_i16(((β_q·U_q + 2^14) >> 15) + I_q − S_prev·θ_q)`, `S = [U_q > θ_q]`.
    ///
    /// With per-neuron values or another reset, each neuron's own `β_q`, `θ_q` and
    /// `v_q = round(v_reset / s_u)` are used (the largest θ sets `e`), and the update holds
    /// `v_q` instead of `U_q` after a spike for a reset to a value, or subtracts nothing for no
    /// reset; a threshold below one membrane unit, or a `v_reset` beyond the `i16` range, is
    /// refused by name. A current-based layer (synaptic current, `α_q = round(α·2^15)`) keeps
    /// an `i32` current in membrane units, `J_q ← sat_i32(((α_q·J_q + 2^14) >> 15) + I_q)`, and
    /// the membrane update reads `J_q` for `I_q`.
    ///
    /// Logits are dequantized (`U_q · s_u`). Errors for networks other than Flatten followed
    /// by `Linear → LIF` pairs, or a non-positive threshold. [`ExecMode`] does not apply to the
    /// fixed-point path; with temporal blocking (the default) a sample whose input layer uses
    /// the baseline runs layer by layer over the steps when every layer is a default neuron
    /// (the same integer operations, identical results; `inference/src/event/fixed_chain.rs`).
    pub fn set_precision(&mut self, precision: Precision) -> Result<(), InferenceError> {
        self.fixed = match precision {
            Precision::F32 => None,
            Precision::Int8 => {
                let mut fp = FixedPlan::build(&self.plan, &self.spec.preset)?;
                fp.baseline = self.baseline;
                let workers = (0..self.threads).map(|_| FixedWorker::new(&fp)).collect();
                Some((fp, workers))
            }
        };
        Ok(())
    }

    /// The quantization of each layer in [`Precision::Int8`] (`None` in f32).
    pub fn quantization(&self) -> Option<Vec<LayerQuant>> {
        self.fixed.as_ref().map(|(fp, _)| fp.describe())
    }

    /// Records, for the first sample of each run, which neurons of each LIF layer spiked at
    /// each step ([`Activity::raster`]). Off by default; recording allocates.
    pub fn set_record_raster(&mut self, on: bool) {
        self.record_raster = on;
    }

    /// Whether the steps are blocked in time: when a fully connected input layer is fed only
    /// spikes, the spike lists of every step are formed up front; a fully connected spiking
    /// network then runs layer by layer over chunks of steps (see the module documentation),
    /// any other network computes its input layer's currents for several steps at once
    /// ([`simd::accum_rows_steps`]), keeping narrow column blocks of the active weight rows in
    /// the L1 cache across steps. On by default. Results are bit-identical either way unless
    /// the layer-by-layer path uses a baseline ([`EventEngine::set_baseline`]).
    pub fn set_temporal_blocking(&mut self, on: bool) {
        self.temporal = on;
    }

    /// Whether a fully connected spiking network run layer by layer (see
    /// [`EventEngine::set_temporal_blocking`]) forms each layer's currents against a baseline:
    /// the inputs that spike at more than half of a chunk's steps are summed once, and each
    /// step adds the other spikes' weight rows and subtracts those of the baseline's silent
    /// inputs. The same sums in real arithmetic with fewer row additions
    /// ([`LayerActivity::performed_ops`]); rounding differs from step-by-step summation by a
    /// few ulps. On by default; off, results are bit-identical to the step-by-step loop. In
    /// [`Precision::Int8`] the input layer's accumulators are formed the same way, exactly
    /// (integer sums).
    pub fn set_baseline(&mut self, on: bool) {
        self.baseline = on;
        if let Some(c) = self.plan.chain.as_mut() {
            c.baseline = on;
        }
        if let Some((fp, _)) = self.fixed.as_mut() {
            fp.baseline = on;
        }
    }

    fn check_input(&self, input: &Tensor) -> Result<(usize, usize), InferenceError> {
        let shape = &input.shape;
        let sample = &self.spec.input_shape;
        let ok = shape.len() == sample.len() + 2
            && shape[2..] == sample[..]
            && shape[0] >= 1
            && shape[1] >= 1;
        if !ok || input.data.len() != shape.iter().product::<usize>() {
            return Err(InferenceError::InputShape {
                got: shape.clone(),
                expected: format!(
                    "[T, batch, {}] (T ≥ 1, batch ≥ 1)",
                    sample
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok((shape[0], shape[1]))
    }

    /// Runs bit-packed binary spikes `[T, batch, sample…]` (see [`SpikeBatch`]): the same
    /// computation and results as [`Backend::run`] on `spikes.to_tensor()` (bit-identical logits
    /// and activity), without reading a 4-byte float per input neuron and step.
    pub fn run_spikes(&mut self, spikes: &SpikeBatch) -> Result<Tensor, InferenceError> {
        if spikes.sample_shape() != self.spec.input_shape.as_slice()
            || spikes.steps() == 0
            || spikes.batch() == 0
        {
            let mut got = vec![spikes.steps(), spikes.batch()];
            got.extend_from_slice(spikes.sample_shape());
            return Err(InferenceError::InputShape {
                got,
                expected: format!(
                    "[T, batch, {}] (T ≥ 1, batch ≥ 1)",
                    self.spec
                        .input_shape
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        self.run_source(Source::Bits(spikes), spikes.steps(), spikes.batch())
    }

    /// Runs every sample of `src`. With a pool and more than one sample, the workers claim
    /// samples one at a time from a shared counter (a worker slowed by other load does fewer).
    fn run_source(
        &mut self,
        src: Source<'_>,
        steps: usize,
        batch: usize,
    ) -> Result<Tensor, InferenceError> {
        let classes = self.plan.classes;
        let nstages = self.plan.stages.len();
        let mut out = Tensor::zeros(vec![batch, classes]);
        for w in &mut self.workers {
            w.counters.reset(nstages, steps);
            w.raster.clear();
        }
        if let Some((fp, fworkers)) = &mut self.fixed {
            for w in fworkers.iter_mut() {
                w.counters.reset(nstages, steps);
                w.raster.clear();
            }
            let (isa, raster, temporal) = (self.isa, self.record_raster, self.temporal);
            let fp = &*fp;
            match &self.pool {
                Some(pool) if batch > 1 => {
                    let next = AtomicUsize::new(0);
                    let logits = RowsPtr(out.data.as_mut_ptr());
                    let logits = &logits;
                    pool.install(|| {
                        fworkers.par_iter_mut().try_for_each(|w| loop {
                            let b = next.fetch_add(1, Ordering::Relaxed);
                            if b >= batch {
                                return Ok::<(), InferenceError>(());
                            }
                            // SAFETY: as below — each row is claimed by exactly one worker.
                            let l = unsafe {
                                std::slice::from_raw_parts_mut(logits.0.add(b * classes), classes)
                            };
                            w.run_sample(fp, isa, src, b, steps, l, raster && b == 0, temporal)?;
                        })
                    })?
                }
                _ => {
                    let w = &mut fworkers[0];
                    for (b, l) in out.data.chunks_mut(classes).enumerate() {
                        w.run_sample(fp, isa, src, b, steps, l, raster && b == 0, temporal)?;
                    }
                }
            }
            self.fill_activity(batch, steps);
            return Ok(out);
        }
        let (plan, isa, mode, raster, temporal) = (
            &self.plan,
            self.isa,
            self.mode,
            self.record_raster,
            self.temporal,
        );
        match &self.pool {
            Some(pool) if batch > 1 => {
                let next = AtomicUsize::new(0);
                let logits = RowsPtr(out.data.as_mut_ptr());
                let logits = &logits;
                pool.install(|| {
                    self.workers.par_iter_mut().try_for_each(|w| loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= batch {
                            return Ok::<(), InferenceError>(());
                        }
                        // SAFETY: `fetch_add` hands every sample index `b < batch` to exactly
                        // one worker, so the rows `b·classes..(b+1)·classes` of `out` (which
                        // outlives this scope) are written by one thread each, never aliased.
                        let l = unsafe {
                            std::slice::from_raw_parts_mut(logits.0.add(b * classes), classes)
                        };
                        w.run_sample(
                            plan,
                            isa,
                            mode,
                            src,
                            b,
                            steps,
                            l,
                            raster && b == 0,
                            temporal,
                        )?;
                    })
                })?
            }
            _ => {
                let w = &mut self.workers[0];
                for (b, l) in out.data.chunks_mut(classes).enumerate() {
                    w.run_sample(
                        plan,
                        isa,
                        mode,
                        src,
                        b,
                        steps,
                        l,
                        raster && b == 0,
                        temporal,
                    )?;
                }
            }
        }
        self.fill_activity(batch, steps);
        Ok(out)
    }

    fn fill_activity(&mut self, batch: usize, steps: usize) {
        let total = &mut self.total;
        total.reset(self.plan.stages.len(), steps);
        match &self.fixed {
            Some((_, fw)) => fw.iter().for_each(|w| total.add(&w.counters)),
            None => self.workers.iter().for_each(|w| total.add(&w.counters)),
        }
        let act = &mut self.activity;
        act.batch = batch;
        act.steps = steps;
        (act.weight_bytes, act.state_bytes) = match &self.fixed {
            Some((fp, _)) => (fp.weight_bytes(), fp.state_bytes()),
            None => (self.plan.weight_bytes(), self.plan.state_bytes()),
        };
        act.layers
            .resize_with(self.plan.stages.len(), LayerActivity::default);
        let runs = (batch * steps) as u64;
        for (si, (st, la)) in self
            .plan
            .stages
            .iter()
            .zip(act.layers.iter_mut())
            .enumerate()
        {
            let in_nz: u64 = total.out_nz[si].iter().sum();
            la.name.clone_from(&st.name);
            la.neurons = st.out_len;
            la.spikes_per_step.clone_from(&total.out_nz[si + 1]);
            la.input_sparsity = if st.in_len == 0 {
                0.0
            } else {
                1.0 - in_nz as f64 / (st.in_len as u64 * runs) as f64
            };
            la.event_driven = runs > 0 && total.event_steps[si] == runs;
            la.effective_ops = total.eff_ops[si];
            la.performed_ops = total.eff_ops[si] - total.saved_ops[si];
            la.dense_macs = st.dense_macs_per_step * runs;
            la.membrane_updates = total.membrane_updates[si];
        }
        act.raster = if self.record_raster {
            // The worker that ran sample 0 recorded it.
            match &mut self.fixed {
                Some((_, fw)) => fw
                    .iter_mut()
                    .find(|w| !w.raster.is_empty())
                    .map(|w| std::mem::take(&mut w.raster)),
                None => self
                    .workers
                    .iter_mut()
                    .find(|w| !w.raster.is_empty())
                    .map(|w| std::mem::take(&mut w.raster)),
            }
        } else {
            None
        };
    }
}

impl Backend for EventEngine {
    fn name(&self) -> &str {
        match self.precision() {
            Precision::F32 => "event",
            Precision::Int8 => "event-int8",
        }
    }

    fn precision(&self) -> Precision {
        EventEngine::precision(self)
    }

    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        let (steps, batch) = self.check_input(input)?;
        // A batch's samples lie interleaved in the tensor (`[T, batch, …]`): reading one
        // sample's steps strides through all of it. When the batch is all spikes, one
        // sequential pass (split among the workers) packs it to bits first, and the samples
        // then read their 1/32-size rows: the same lists, the same results. (AVX-512 only: the
        // other instruction sets have no vector packing kernel.)
        if batch > 1
            && self.isa == Isa::Avx512
            && self.temporal
            && self.mode == ExecMode::Event
            && self.fixed.is_none()
        {
            let mut packed = std::mem::take(&mut self.packed);
            let out = if packed.refill(self.isa, input, self.pool.as_ref()) {
                Some(self.run_source(Source::Bits(&packed), steps, batch))
            } else {
                None
            };
            self.packed = packed;
            if let Some(out) = out {
                return out;
            }
        }
        self.run_source(
            Source::F32 {
                data: &input.data,
                batch,
            },
            steps,
            batch,
        )
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn activity(&self) -> Option<&Activity> {
        Some(&self.activity)
    }
}

/// The output rows of a batch, shared by the workers of one run (see [`EventEngine::run_source`]).
struct RowsPtr(*mut f32);
// SAFETY: only used to write disjoint rows, one worker per row (see `run_source`).
unsafe impl Sync for RowsPtr {}
