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
//! * **convolution**: each input spike adds its kernel slice onto the output positions it
//!   reaches (a scatter);
//! * **max pooling** of spikes is an OR; of analog values a max;
//! * **LIF**: `U ← (β·U + I) − S_prev·θ`, `S = [U > θ]` — snnTorch `Leaky` defaults, reset by
//!   subtraction from the previous step's spike, strict comparison, `β` clamped to `[0, 1]`
//!   (see [`joulebench_models::LifParams`]).
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
//! reference, whatever instruction set ([`Isa`]) or thread count is used.
//!
//! **Input** `[T, batch, sample…]` (the encoded tensor, `T ≥ 1`; `T` may differ from
//! `spec.steps`); **output** logits `[batch, classes]` per `spec.readout`: the mean over steps
//! of the last layer's output or membrane, the last membrane, or the spike count.
//!
//! **Threads.** A batch is split into contiguous chunks, one per worker, run on a dedicated
//! rayon pool of exactly `threads` threads; a batch of one (or `threads = 1`) runs on the
//! calling thread. Every worker owns preallocated buffers: the time loop does not allocate
//! (unless a raster is being recorded).

mod act;
pub mod aligned;
mod conv;
mod plan;
pub mod simd;
mod worker;
pub mod workload;

use joulebench_models::{ModelSpec, Tensor, Weights};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, LayerActivity};
use crate::backend::Backend;
use crate::error::InferenceError;
use plan::Plan;
pub use simd::Isa;
use worker::{Counters, Worker};

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

/// The event-driven LIF engine (see the module documentation for semantics).
pub struct EventEngine {
    spec: ModelSpec,
    plan: Plan,
    threads: usize,
    isa: Isa,
    mode: ExecMode,
    record_raster: bool,
    temporal: bool,
    pool: Option<rayon::ThreadPool>,
    workers: Vec<Worker>,
    activity: Activity,
    total: Counters,
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
            pool,
            workers,
            activity: Activity::default(),
            total: Counters::default(),
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

    /// Records, for the first sample of each run, which neurons of each LIF layer spiked at
    /// each step ([`Activity::raster`]). Off by default; recording allocates.
    pub fn set_record_raster(&mut self, on: bool) {
        self.record_raster = on;
    }

    /// Whether the input layer's currents are computed for all steps before the time loop
    /// (when a fully connected input layer is fed only spikes: the spike lists of every step
    /// are known up front, and [`simd::accum_rows_steps`] keeps each narrow column block of the
    /// active weight rows in the L1 cache across all steps). On by default. Results are
    /// bit-identical either way.
    pub fn set_temporal_blocking(&mut self, on: bool) {
        self.temporal = on;
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

    fn fill_activity(&mut self, batch: usize, steps: usize) {
        let total = &mut self.total;
        total.reset(self.plan.stages.len(), steps);
        for w in &self.workers {
            total.add(&w.counters);
        }
        let act = &mut self.activity;
        act.batch = batch;
        act.steps = steps;
        act.weight_bytes = self.plan.weight_bytes();
        act.state_bytes = self.plan.state_bytes();
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
            la.dense_macs = st.dense_macs_per_step * runs;
            la.membrane_updates = total.membrane_updates[si];
        }
        act.raster = if self.record_raster {
            Some(std::mem::take(&mut self.workers[0].raster))
        } else {
            None
        };
    }
}

impl Backend for EventEngine {
    fn name(&self) -> &str {
        "event"
    }

    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        let (steps, batch) = self.check_input(input)?;
        let classes = self.plan.classes;
        let nstages = self.plan.stages.len();
        let mut out = Tensor::zeros(vec![batch, classes]);
        for w in &mut self.workers {
            w.counters.reset(nstages, steps);
        }
        let (plan, isa, mode, raster, temporal) = (
            &self.plan,
            self.isa,
            self.mode,
            self.record_raster,
            self.temporal,
        );
        let data = &input.data;
        let per = batch.div_ceil(self.threads);
        let run_chunk =
            |wi: usize, worker: &mut Worker, logits: &mut [f32]| -> Result<(), InferenceError> {
                for (k, l) in logits.chunks_mut(classes).enumerate() {
                    let b = wi * per + k;
                    worker.run_sample(
                        plan,
                        isa,
                        mode,
                        data,
                        batch,
                        b,
                        steps,
                        l,
                        raster && b == 0,
                        temporal,
                    )?;
                }
                Ok(())
            };
        match &self.pool {
            Some(pool) if batch > 1 => pool.install(|| {
                self.workers
                    .par_iter_mut()
                    .zip(out.data.par_chunks_mut(per * classes))
                    .enumerate()
                    .try_for_each(|(wi, (w, l))| run_chunk(wi, w, l))
            })?,
            _ => run_chunk(0, &mut self.workers[0], &mut out.data)?,
        }
        self.fill_activity(batch, steps);
        Ok(out)
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn activity(&self) -> Option<&Activity> {
        Some(&self.activity)
    }
}
