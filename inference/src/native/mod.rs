//! The native dense engine: the project's own f32 kernels running a [`ModelSpec`] with its
//! [`Weights`] directly (no ONNX). Layouts are chosen at load (packed weight panels,
//! channels-last convolutions), buffers are reused between calls, the matrix kernels are
//! compiled for AVX-512, AVX2+FMA and plain SSE2 and picked at run time ([`Isa`]), and with `threads > 1`
//! the batch is split across a dedicated rayon pool of exactly that many threads.
//!
//! Semantics are the spec's: PyTorch layouts and formulas, LIF exactly as documented on
//! [`joulebench_models::LifParams`] (reset by subtraction, to a value or none, from the
//! previous step's spike, scalar or per-neuron β/θ/v_reset, strict threshold,
//! `U = (β·U + I) − reset`, no fused multiply-add so spikes match), readouts
//! as documented on [`Readout`].

pub mod conv;
pub mod gemm;
pub mod gemv;
pub mod layout;
mod simd;

use joulebench_models::{LifNeurons, ModelSpec, Op, Readout, Tensor, Weights};
use rayon::prelude::*;

use crate::backend::Backend;
use crate::error::InferenceError;
use crate::isa::Isa;
use conv::{Conv, Pool};
use gemm::{gemm, Packed};
use gemv::{gemv, InputMajor, SparsePolicy, SparseScratch};
use layout::Geom;

#[derive(Debug, Clone)]
enum Step {
    Linear {
        /// Column panels for batches (matrix products).
        w: Packed,
        /// Input-major rows for single samples and sparse batches.
        t: InputMajor,
        relu: bool,
    },
    Conv {
        conv: Conv,
        relu: bool,
    },
    Pool(Pool),
    Relu,
    Tanh,
    /// Gathers a non-channels-first activation into PyTorch's flatten order.
    Flatten {
        input: Geom,
    },
    Rnn {
        wih: Packed,
        whh: Packed,
        seq: usize,
        feat: usize,
        input: Geom,
        steps_are_rows: bool,
        hidden: usize,
    },
    Lif {
        beta: f32,
        threshold: f32,
        /// Neurons other than snnTorch's default (per-neuron values or another reset), in the
        /// activation's layout; `None`: every neuron has `beta`, `threshold` and resets by
        /// subtraction.
        neurons: Option<Box<LifNeurons>>,
        /// Membrane state slot in the workspace's `lif` buffers.
        state: usize,
        /// Synaptic current slot (a current-based layer; always `< state`).
        syn: Option<usize>,
    },
}

impl Step {
    fn in_place(&self) -> bool {
        matches!(self, Step::Relu | Step::Tanh | Step::Lif { .. })
    }
}

#[derive(Debug, Clone)]
struct Stage {
    step: Step,
    in_len: usize,
    out_len: usize,
}

/// Buffers of one worker, grown on first use and reused afterwards.
#[derive(Debug, Default)]
struct Workspace {
    rows: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    col: Vec<f32>,
    seq: Vec<f32>,
    proj: Vec<f32>,
    tmp: Vec<f32>,
    lif: Vec<Vec<f32>>,
    acc: Vec<f32>,
    sparse: SparseScratch,
}

#[derive(Debug, Clone)]
struct Plan {
    stages: Vec<Stage>,
    sample_len: usize,
    classes: usize,
    max_len: usize,
    col_len: usize,
    /// (seq·feat, seq·hidden, hidden) of the largest RNN.
    rnn_len: (usize, usize, usize),
    lif_sizes: Vec<usize>,
    readout: Readout,
    spiking: bool,
    steps: usize,
    /// Samples run through the network together: convolutional networks go a few samples at
    /// a time so their large activations stay in L2; others take the whole chunk (batched
    /// matrix products).
    row_block: usize,
}

/// The native dense backend.
pub struct NativeBackend {
    spec: ModelSpec,
    plan: Plan,
    isa: Isa,
    policy: SparsePolicy,
    threads: usize,
    pool: Option<rayon::ThreadPool>,
    workspaces: Vec<Workspace>,
}

impl NativeBackend {
    /// Builds the engine for `spec` with `weights` (checked against the spec), using `threads`
    /// worker threads per call.
    pub fn new(
        spec: &ModelSpec,
        weights: &Weights,
        threads: usize,
    ) -> Result<Self, InferenceError> {
        Self::with_isa(spec, weights, threads, Isa::detect())
    }

    /// As [`NativeBackend::new`] with a chosen instruction set (tests compare them); an `isa`
    /// the CPU lacks is replaced by the best one it has.
    pub fn with_isa(
        spec: &ModelSpec,
        weights: &Weights,
        threads: usize,
        isa: Isa,
    ) -> Result<Self, InferenceError> {
        spec.validate()?;
        weights.check_against(spec)?;
        if threads == 0 {
            return Err(InferenceError::Other("threads must be at least 1".into()));
        }
        let isa = isa.supported_or_best();
        let plan = build_plan(spec, weights)?;
        let pool = crate::pool::worker_pool(threads, "jb-native")?;
        let workspaces = (0..threads)
            .map(|_| {
                let mut ws = Workspace::default();
                ws.ensure(&plan, 1);
                ws
            })
            .collect();
        Ok(NativeBackend {
            spec: spec.clone(),
            plan,
            isa,
            policy: SparsePolicy::DEFAULT,
            threads,
            pool,
            workspaces,
        })
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// When Linear layers skip zero (or background) inputs; see [`gemv`](mod@gemv) for the method.
    /// Default: [`SparsePolicy::DEFAULT`]. Results agree either way (tests compare them).
    pub fn set_sparse_policy(&mut self, policy: SparsePolicy) {
        self.policy = policy;
    }

    /// The sparse-input policy in use.
    pub fn sparse_policy(&self) -> SparsePolicy {
        self.policy
    }

    /// Bytes of packed weights held.
    pub fn weight_bytes(&self) -> usize {
        self.plan
            .stages
            .iter()
            .map(|s| match &s.step {
                Step::Linear { w, t, .. } => w.bytes() + t.bytes(),
                Step::Conv { conv, .. } => conv.weights.bytes(),
                Step::Rnn { wih, whh, .. } => wih.bytes() + whh.bytes(),
                _ => 0,
            })
            .sum()
    }
}

fn build_plan(spec: &ModelSpec, weights: &Weights) -> Result<Plan, InferenceError> {
    let shapes = spec.layer_shapes()?;
    let mut in_shape = spec.input_shape.clone();
    let mut geom = Geom::from_shape(&in_shape);
    let mut stages: Vec<Stage> = Vec::new();
    let mut col_len = 0;
    let mut rnn_len = (0, 0, 0);
    let mut lif_sizes = Vec::new();
    let w = |name: &str, suffix: &str| -> Result<&Tensor, InferenceError> {
        Ok(weights.get(&format!("{name}.{suffix}"))?)
    };
    for (layer, out_shape) in spec.layers.iter().zip(&shapes) {
        let in_len: usize = in_shape.iter().product();
        let out_len: usize = out_shape.iter().product();
        let (step, out_geom) = match layer.op {
            Op::Flatten => {
                let step = Step::Flatten { input: geom };
                (step, Geom::chw(out_len, 1, 1))
            }
            Op::Linear {
                in_features,
                out_features,
            } => {
                if !geom.is_chw() {
                    return Err(InferenceError::Other(format!(
                        "layer `{}`: Linear after a convolution needs a Flatten first",
                        layer.name
                    )));
                }
                let wt = w(&layer.name, "weight")?;
                let b = w(&layer.name, "bias")?;
                let p = Packed::from_rows(&wt.data, out_features, in_features, Some(&b.data));
                let t = InputMajor::from_rows(&wt.data, out_features, in_features, Some(&b.data));
                (
                    Step::Linear {
                        w: p,
                        t,
                        relu: false,
                    },
                    Geom::chw(out_features, 1, 1),
                )
            }
            Op::Conv1d {
                out_channels,
                kernel_size,
                stride,
                padding,
                ..
            } => {
                let wt = w(&layer.name, "weight")?;
                let b = w(&layer.name, "bias")?;
                let conv = Conv::new(
                    geom,
                    out_channels,
                    1,
                    kernel_size,
                    stride,
                    0,
                    padding,
                    &wt.data,
                    &b.data,
                );
                col_len = col_len.max(conv.col_len());
                let g = conv.output;
                (Step::Conv { conv, relu: false }, g)
            }
            Op::Conv2d {
                out_channels,
                kernel_size,
                stride,
                padding,
                ..
            } => {
                let wt = w(&layer.name, "weight")?;
                let b = w(&layer.name, "bias")?;
                let conv = Conv::new(
                    geom,
                    out_channels,
                    kernel_size,
                    kernel_size,
                    stride,
                    padding,
                    padding,
                    &wt.data,
                    &b.data,
                );
                col_len = col_len.max(conv.col_len());
                let g = conv.output;
                (Step::Conv { conv, relu: false }, g)
            }
            Op::MaxPool1d { kernel_size } => {
                let p = Pool::new(geom, 1, kernel_size);
                (Step::Pool(p), p.output)
            }
            Op::MaxPool2d { kernel_size } => {
                let p = Pool::new(geom, kernel_size, kernel_size);
                (Step::Pool(p), p.output)
            }
            Op::Relu => {
                // Fuse into a preceding Linear or Conv.
                if let Some(last) = stages.last_mut() {
                    match &mut last.step {
                        Step::Linear { relu, .. } | Step::Conv { relu, .. } if !*relu => {
                            *relu = true;
                            in_shape = out_shape.clone();
                            continue;
                        }
                        _ => {}
                    }
                }
                (Step::Relu, geom)
            }
            Op::Tanh => (Step::Tanh, geom),
            Op::Rnn {
                input_size,
                hidden_size,
            } => {
                let (seq, feat) =
                    joulebench_models::spec::rnn_sequence(&in_shape).ok_or_else(|| {
                        InferenceError::Other(format!(
                            "layer `{}`: RNN needs [1, H, W] or [C, L] input",
                            layer.name
                        ))
                    })?;
                debug_assert_eq!(feat, input_size);
                let wih = w(&layer.name, "weight_ih")?;
                let whh = w(&layer.name, "weight_hh")?;
                let bih = w(&layer.name, "bias_ih")?;
                let bhh = w(&layer.name, "bias_hh")?;
                let bias: Vec<f32> = bih.data.iter().zip(&bhh.data).map(|(a, b)| a + b).collect();
                let wih = Packed::from_rows(&wih.data, hidden_size, input_size, Some(&bias));
                let whh = Packed::from_rows(&whh.data, hidden_size, hidden_size, None);
                rnn_len.0 = rnn_len.0.max(seq * feat);
                rnn_len.1 = rnn_len.1.max(seq * hidden_size);
                rnn_len.2 = rnn_len.2.max(hidden_size);
                let step = Step::Rnn {
                    wih,
                    whh,
                    seq,
                    feat,
                    input: geom,
                    steps_are_rows: in_shape.len() == 3,
                    hidden: hidden_size,
                };
                (step, Geom::chw(hidden_size, 1, 1))
            }
            Op::Lif(p) => {
                let n = LifNeurons::resolve(&layer.name, &p, weights, out_len)?;
                // the synaptic current's slot first: the last slot is the last membrane
                let syn = n.has_synapse().then(|| {
                    lif_sizes.push(out_len);
                    lif_sizes.len() - 1
                });
                lif_sizes.push(out_len);
                let neurons = match n.uniform_subtract() {
                    Some(_) => None,
                    None => {
                        // buffer position → channels-first neuron index
                        let mut order = vec![0; out_len];
                        let mut k = 0;
                        for c in 0..geom.c {
                            for h in 0..geom.h {
                                for w in 0..geom.w {
                                    order[geom.at(c, h, w)] = k;
                                    k += 1;
                                }
                            }
                        }
                        Some(Box::new(n.permuted(&order)))
                    }
                };
                (
                    Step::Lif {
                        beta: p.beta_clamped(),
                        threshold: p.threshold,
                        neurons,
                        state: lif_sizes.len() - 1,
                        syn,
                    },
                    geom,
                )
            }
        };
        stages.push(Stage {
            step,
            in_len,
            out_len,
        });
        geom = out_geom;
        in_shape = out_shape.clone();
    }
    let sample_len: usize = spec.input_shape.iter().product();
    let max_len = stages
        .iter()
        .map(|s| s.out_len.max(s.in_len))
        .max()
        .unwrap_or(0)
        .max(sample_len);
    let row_block = if stages.iter().any(|s| matches!(s.step, Step::Conv { .. })) {
        CONV_ROW_BLOCK
    } else {
        usize::MAX
    };
    Ok(Plan {
        stages,
        sample_len,
        classes: spec.num_classes,
        max_len,
        col_len,
        rnn_len,
        lif_sizes,
        readout: spec.readout,
        spiking: spec.is_spiking(),
        steps: spec.steps,
        row_block,
    })
}

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

impl Workspace {
    fn ensure(&mut self, plan: &Plan, rows: usize) {
        if self.rows >= rows && self.lif.len() == plan.lif_sizes.len() {
            return;
        }
        self.rows = rows;
        grow(&mut self.a, rows * plan.max_len);
        grow(&mut self.b, rows * plan.max_len);
        grow(&mut self.col, plan.col_len);
        grow(&mut self.seq, rows * plan.rnn_len.0);
        grow(&mut self.proj, rows * plan.rnn_len.1);
        grow(&mut self.tmp, rows * plan.rnn_len.2);
        self.lif.resize(plan.lif_sizes.len(), Vec::new());
        for (v, &n) in self.lif.iter_mut().zip(&plan.lif_sizes) {
            grow(v, rows * n);
        }
        grow(&mut self.acc, rows * plan.classes);
        self.sparse.reserve(plan.max_len);
    }
}

/// Samples per pass through a convolutional network (see `Plan::row_block`).
const CONV_ROW_BLOCK: usize = 4;

/// Runs `rows` samples starting at `b0` of a `[T, batch, sample]` input (T = 1 for non-spiking
/// models) and writes their logits to `out` (`rows × classes`), `plan.row_block` at a time.
#[allow(clippy::too_many_arguments)]
fn run_chunk(
    plan: &Plan,
    isa: Isa,
    policy: SparsePolicy,
    ws: &mut Workspace,
    x: &[f32],
    batch: usize,
    steps: usize,
    b0: usize,
    rows: usize,
    out: &mut [f32],
) {
    let block = plan.row_block.min(rows).max(1);
    for (i, o) in out[..rows * plan.classes]
        .chunks_mut(block * plan.classes)
        .enumerate()
    {
        let n = o.len() / plan.classes;
        run_rows(plan, isa, policy, ws, x, batch, steps, b0 + i * block, n, o);
    }
}

/// [`run_chunk`] on one block of rows.
#[allow(clippy::too_many_arguments)]
fn run_rows(
    plan: &Plan,
    isa: Isa,
    policy: SparsePolicy,
    ws: &mut Workspace,
    x: &[f32],
    batch: usize,
    steps: usize,
    b0: usize,
    rows: usize,
    out: &mut [f32],
) {
    ws.ensure(plan, rows);
    let s = plan.sample_len;
    let classes = plan.classes;
    for (v, &n) in ws.lif.iter_mut().zip(&plan.lif_sizes) {
        v[..rows * n].fill(0.0);
    }
    ws.acc[..rows * classes].fill(0.0);
    let last_lif = plan.lif_sizes.len().checked_sub(1);
    for t in 0..steps {
        let start = (t * batch + b0) * s;
        let Workspace {
            a,
            b,
            col,
            seq,
            proj,
            tmp,
            lif,
            sparse,
            ..
        } = ws;
        let (mut cur, mut other) = (a, b);
        cur[..rows * s].copy_from_slice(&x[start..start + rows * s]);
        for stage in &plan.stages {
            let (il, ol) = (stage.in_len, stage.out_len);
            match &stage.step {
                Step::Linear { w, t, relu } => linear(
                    isa,
                    policy,
                    &cur[..rows * il],
                    rows,
                    w,
                    t,
                    &mut other[..rows * ol],
                    *relu,
                    sparse,
                ),
                Step::Conv { conv, relu } => {
                    for r in 0..rows {
                        conv.run(
                            isa,
                            &cur[r * il..(r + 1) * il],
                            col,
                            &mut other[r * ol..(r + 1) * ol],
                            *relu,
                        );
                    }
                }
                Step::Pool(p) => {
                    for r in 0..rows {
                        p.run(&cur[r * il..(r + 1) * il], &mut other[r * ol..(r + 1) * ol]);
                    }
                }
                Step::Relu => {
                    for v in cur[..rows * il].iter_mut() {
                        *v = v.max(0.0);
                    }
                }
                Step::Tanh => {
                    for v in cur[..rows * il].iter_mut() {
                        *v = v.tanh();
                    }
                }
                Step::Flatten { input } => {
                    if input.is_chw() {
                        continue; // same element order: nothing to do
                    }
                    let g = *input;
                    for r in 0..rows {
                        let src = &cur[r * il..(r + 1) * il];
                        let dst = &mut other[r * ol..(r + 1) * ol];
                        let mut i = 0;
                        for c in 0..g.c {
                            for h in 0..g.h {
                                for w in 0..g.w {
                                    dst[i] = src[g.at(c, h, w)];
                                    i += 1;
                                }
                            }
                        }
                    }
                }
                Step::Rnn {
                    wih,
                    whh,
                    seq: n_seq,
                    feat,
                    input,
                    steps_are_rows,
                    hidden,
                } => {
                    let (n_seq, feat, hidden, g) = (*n_seq, *feat, *hidden, *input);
                    let sq = &mut seq[..rows * n_seq * feat];
                    for r in 0..rows {
                        let src = &cur[r * il..(r + 1) * il];
                        for ts in 0..n_seq {
                            for f in 0..feat {
                                let idx = if *steps_are_rows {
                                    g.at(0, ts, f)
                                } else {
                                    g.at(f, 0, ts)
                                };
                                sq[(r * n_seq + ts) * feat + f] = src[idx];
                            }
                        }
                    }
                    let pj = &mut proj[..rows * n_seq * hidden];
                    gemm(isa, sq, rows * n_seq, feat, wih, pj, hidden, false);
                    let h = &mut other[..rows * hidden];
                    for r in 0..rows {
                        for j in 0..hidden {
                            h[r * hidden + j] = pj[(r * n_seq) * hidden + j].tanh();
                        }
                    }
                    let tm = &mut tmp[..rows * hidden];
                    for ts in 1..n_seq {
                        gemm(isa, h, rows, hidden, whh, tm, hidden, false);
                        for r in 0..rows {
                            let p = &pj[(r * n_seq + ts) * hidden..(r * n_seq + ts + 1) * hidden];
                            for j in 0..hidden {
                                h[r * hidden + j] = (p[j] + tm[r * hidden + j]).tanh();
                            }
                        }
                    }
                }
                Step::Lif {
                    beta,
                    threshold,
                    neurons,
                    state,
                    syn,
                } => match neurons {
                    None => lif_step(
                        &mut lif[*state][..rows * il],
                        &mut cur[..rows * il],
                        *beta,
                        *threshold,
                    ),
                    Some(n) => {
                        let (before, from) = lif.split_at_mut(*state);
                        let u = &mut from[0];
                        for r in 0..rows {
                            let x = &mut cur[r * il..(r + 1) * il];
                            if let Some(j) = syn {
                                let j = &mut before[*j][r * il..(r + 1) * il];
                                n.synapse_step(j, x);
                                x.copy_from_slice(j);
                            }
                            lif_step_neurons(&mut u[r * il..(r + 1) * il], x, n);
                        }
                    }
                },
            }
            if !stage.step.in_place()
                && !matches!(&stage.step, Step::Flatten { input } if input.is_chw())
            {
                std::mem::swap(&mut cur, &mut other);
            }
        }
        // Readout for this step.
        let acc = &mut ws_acc(&mut ws.acc, rows * classes);
        match plan.readout {
            Readout::Output | Readout::SpikeCount => {
                for (a, &v) in acc.iter_mut().zip(&cur[..rows * classes]) {
                    *a += v;
                }
            }
            Readout::MembraneMean => {
                let u = &ws.lif[last_lif.expect("validated: LIF last")][..rows * classes];
                for (a, &v) in acc.iter_mut().zip(u) {
                    *a += v;
                }
            }
            Readout::MembraneLast => {
                if t + 1 == steps {
                    acc.copy_from_slice(
                        &ws.lif[last_lif.expect("validated: LIF last")][..rows * classes],
                    );
                }
            }
        }
    }
    let acc = &ws.acc[..rows * classes];
    let mean = matches!(plan.readout, Readout::Output | Readout::MembraneMean) && steps > 1;
    for (o, &a) in out.iter_mut().zip(acc) {
        *o = if mean { a / steps as f32 } else { a };
    }
}

/// Fewer rows than this run a Linear layer one sample at a time ([`gemv`]).
const GEMM_MIN_ROWS: usize = 4;

/// A Linear layer on `rows` samples: per-sample products ([`gemv`], dense or sparse) for small
/// or sparse batches, otherwise one packed matrix product.
#[allow(clippy::too_many_arguments)]
fn linear(
    isa: Isa,
    policy: SparsePolicy,
    a: &[f32],
    rows: usize,
    w: &Packed,
    t: &InputMajor,
    out: &mut [f32],
    relu: bool,
    scratch: &mut SparseScratch,
) {
    let (k, n) = (t.k, t.n);
    let per_row = rows < GEMM_MIN_ROWS || {
        let limit = policy.batch_max_fraction * (rows * k) as f32;
        let nnz: usize = a.chunks_exact(k).map(gemv::nonzeros).sum();
        nnz as f32 <= limit
    };
    if per_row {
        for (x, y) in a.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
            gemv(isa, x, t, y, relu, policy, scratch);
        }
    } else {
        gemm(isa, a, rows, k, w, out, n, relu);
    }
}

#[inline(always)]
fn ws_acc(acc: &mut [f32], n: usize) -> &mut [f32] {
    &mut acc[..n]
}

/// One LIF step over a layer: `u` holds `U[t−1]` and becomes `U[t]`; `x` holds `I[t]` and
/// becomes `S[t]`.
#[inline]
fn lif_step(u: &mut [f32], x: &mut [f32], beta: f32, threshold: f32) {
    for (u, x) in u.iter_mut().zip(x.iter_mut()) {
        let reset = if *u > threshold { threshold } else { 0.0 };
        let v = (beta * *u + *x) - reset;
        *u = v;
        *x = if v > threshold { 1.0 } else { 0.0 };
    }
}

/// [`lif_step`] for one sample of a layer with per-neuron values or another reset
/// ([`LifNeurons::update`]); `S[t−1]` is recovered as `U[t−1] > θ`.
#[inline]
fn lif_step_neurons(u: &mut [f32], x: &mut [f32], n: &LifNeurons) {
    for (j, (u, x)) in u.iter_mut().zip(x.iter_mut()).enumerate() {
        let th = n.threshold[j];
        let s = if *u > th { 1.0 } else { 0.0 };
        let v = n.update(j, *u, s, *x);
        *u = v;
        *x = if v > th { 1.0 } else { 0.0 };
    }
}

impl Backend for NativeBackend {
    fn name(&self) -> &str {
        "native"
    }

    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        let shape = &input.shape;
        let lead = if self.plan.spiking { 2 } else { 1 };
        let batch = if shape.len() == self.spec.input_shape.len() + lead {
            shape[lead - 1]
        } else {
            0
        };
        let expected = self.spec.batch_input_shape(batch.max(1));
        if batch == 0 || *shape != expected || input.data.len() != shape.iter().product::<usize>() {
            let mut e = self.spec.batch_input_shape(0);
            e[lead - 1] = 0;
            let pretty: Vec<String> = e
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if i == lead - 1 {
                        "batch".into()
                    } else {
                        d.to_string()
                    }
                })
                .collect();
            return Err(InferenceError::InputShape {
                got: shape.clone(),
                expected: format!("[{}]", pretty.join(", ")),
            });
        }
        // A branch-free scan first (vectorizes); locate the culprit only when there is one.
        let bad = input.data.iter().fold(false, |acc, v| acc | !v.is_finite());
        if bad {
            let i = input.data.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(InferenceError::Other(format!(
                "input holds a non-finite value at index {i}"
            )));
        }
        let steps = if self.plan.spiking {
            self.plan.steps
        } else {
            1
        };
        let classes = self.plan.classes;
        let mut out = vec![0.0f32; batch * classes];
        let (plan, isa, policy, x) = (&self.plan, self.isa, self.policy, input.data.as_slice());
        let nchunks = self.threads.min(batch);
        match &self.pool {
            Some(pool) if nchunks > 1 => {
                let chunk = batch.div_ceil(nchunks);
                let ws = &mut self.workspaces;
                pool.install(|| {
                    ws.par_iter_mut()
                        .zip(out.par_chunks_mut(chunk * classes))
                        .enumerate()
                        .for_each(|(i, (w, o))| {
                            let rows = o.len() / classes;
                            run_chunk(plan, isa, policy, w, x, batch, steps, i * chunk, rows, o);
                        });
                });
            }
            _ => run_chunk(
                plan,
                isa,
                policy,
                &mut self.workspaces[0],
                x,
                batch,
                steps,
                0,
                batch,
                &mut out,
            ),
        }
        Ok(Tensor {
            shape: vec![batch, classes],
            data: out,
        })
    }

    fn threads(&self) -> usize {
        self.threads
    }
}
