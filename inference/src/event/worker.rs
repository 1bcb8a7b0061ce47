//! One worker's preallocated buffers and the per-sample time loop. Nothing here allocates
//! once the worker is built (except when a raster is being recorded).

use joulebench_models::Readout;

use super::act::Act;
use super::aligned::{padded, AlignedVec, LANES};
use super::chain::{self, ChainBufs};
use super::conv::{conv_scatter, pool_dense, pool_spikes};
use super::plan::{Plan, StageKind};
use super::simd;
use super::spikes::{decode_row, row_to_masks, SpikeBatch};
use super::ExecMode;
use crate::error::InferenceError;
use crate::isa::Isa;

/// Activity counters of one worker, summed over the samples it ran.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    /// `[stage + 1][t]`: non-zero outputs; row 0 is the network input.
    pub out_nz: Vec<Vec<u64>>,
    /// Per stage: synaptic operations done on non-zero inputs.
    pub eff_ops: Vec<u64>,
    /// Per stage: (sample, step) pairs whose input was processed as a list of spikes.
    pub event_steps: Vec<u64>,
    /// Per stage: LIF membrane updates.
    pub membrane_updates: Vec<u64>,
    /// Per stage: synaptic operations of `eff_ops` a baseline made unnecessary.
    pub saved_ops: Vec<u64>,
    pub samples: u64,
}

impl Counters {
    pub fn reset(&mut self, stages: usize, steps: usize) {
        self.out_nz.resize_with(stages + 1, Vec::new);
        for row in &mut self.out_nz {
            row.clear();
            row.resize(steps, 0);
        }
        for v in [
            &mut self.eff_ops,
            &mut self.event_steps,
            &mut self.membrane_updates,
            &mut self.saved_ops,
        ] {
            v.clear();
            v.resize(stages, 0);
        }
        self.samples = 0;
    }

    pub fn add(&mut self, other: &Counters) {
        for (a, b) in self.out_nz.iter_mut().zip(&other.out_nz) {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        for (a, b) in [
            (&mut self.eff_ops, &other.eff_ops),
            (&mut self.event_steps, &other.event_steps),
            (&mut self.membrane_updates, &other.membrane_updates),
            (&mut self.saved_ops, &other.saved_ops),
        ] {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        self.samples += other.samples;
    }
}

/// Steps whose input-layer currents are formed together (a multiple of the kernel's step
/// interleave; `AHEAD_CHUNK × stride` floats stay in L1 until the time loop reads them).
const AHEAD_CHUNK: usize = 12;

/// The input layer computed ahead (see [`simd::accum_rows_steps`]): when every step of a
/// sample's input is binary, its spike lists are all formed before the time loop, and the lead
/// layer's currents [`AHEAD_CHUNK`] steps at a time at the start of each chunk.
struct Ahead {
    /// The leading `Linear` stage (after only `Flatten`s) that reads the network input.
    stage: usize,
    /// `AHEAD_CHUNK × stride` currents of the current chunk of steps.
    cur: AlignedVec,
    /// Input spike indices of all steps, step after step (`steps × input_len` capacity).
    idx: Vec<u32>,
    /// Step `t`'s spikes are `idx[offsets[t]..offsets[t + 1]]`.
    offsets: Vec<usize>,
    /// Spikes per step.
    counts: Vec<u32>,
    /// The same spikes as bits: step `t`'s are `masks[t·W..(t + 1)·W]`, `W = ⌈input_len / 16⌉`
    /// (bit `j` of word `w`: input `16·w + j`).
    masks: Vec<u16>,
    /// The input was binary and the currents are in `cur`.
    valid: bool,
}

pub(super) struct LifState {
    pub u: AlignedVec,
    pub s: AlignedVec,
    /// Synaptic current `J` of a current-based layer (`LifNeurons::synapse_step`); `None`
    /// otherwise.
    pub j: Option<AlignedVec>,
}

/// Where a run's input comes from.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// The encoded `f32` tensor `[T, batch, n]` (flat data).
    F32 { data: &'a [f32], batch: usize },
    /// Bit-packed spikes.
    Bits(&'a SpikeBatch),
}

pub(crate) struct Worker {
    acts: Vec<Act>,
    lif: Vec<Option<LifState>>,
    conv_acc: Vec<Option<AlignedVec>>,
    /// Per convolution stage: scratch bits of [`simd::conv_gather`].
    conv_bits: Vec<Vec<u64>>,
    marks: Vec<Vec<u8>>,
    iota: Vec<u32>,
    readout: AlignedVec,
    ahead: Option<Ahead>,
    /// Buffers of the fully connected fast path ([`chain`]), when the plan has a chain.
    chain: Option<ChainBufs>,
    pub counters: Counters,
    /// Per LIF stage, per step, the spiking indices of the worker's first sample of the run.
    pub raster: Vec<Vec<Vec<u32>>>,
}

impl Worker {
    pub fn new(plan: &Plan) -> Self {
        let mut acts = vec![Act::new(plan.input_len)];
        let mut lif = Vec::new();
        let mut conv_acc = Vec::new();
        let mut conv_bits = Vec::new();
        let mut marks = Vec::new();
        for st in &plan.stages {
            acts.push(Act::new(st.out_len));
            lif.push(st.is_lif().then(|| LifState {
                u: AlignedVec::zeros(st.out_len),
                s: AlignedVec::zeros(st.out_len),
                j: match &st.kind {
                    StageKind::Lif {
                        neurons: Some(n), ..
                    } if n.has_synapse() => Some(AlignedVec::zeros(st.out_len)),
                    _ => None,
                },
            }));
            conv_bits.push(match &st.kind {
                StageKind::Conv(c) => vec![0u64; c.events.gather_words()],
                _ => Vec::new(),
            });
            conv_acc.push(match &st.kind {
                StageKind::Conv(c) => Some(AlignedVec::zeros(c.oh * c.ow * c.cstride)),
                _ => None,
            });
            marks.push(if matches!(st.kind, StageKind::Pool(_)) {
                vec![0u8; st.out_len]
            } else {
                Vec::new()
            });
        }
        let lead = plan
            .stages
            .iter()
            .position(|s| !matches!(s.kind, StageKind::Identity));
        let ahead = match lead.map(|i| (i, &plan.stages[i].kind)) {
            Some((i, StageKind::Linear(l))) => Some(Ahead {
                stage: i,
                cur: AlignedVec::zeros(AHEAD_CHUNK * l.stride),
                idx: Vec::new(),
                offsets: Vec::new(),
                counts: Vec::new(),
                masks: Vec::new(),
                valid: false,
            }),
            _ => None,
        };
        Worker {
            ahead,
            chain: plan.chain.as_ref().map(ChainBufs::new),
            acts,
            lif,
            conv_acc,
            conv_bits,
            marks,
            iota: (0..plan.max_len as u32).collect(),
            readout: AlignedVec::zeros(padded(plan.classes)),
            counters: Counters::default(),
            raster: Vec::new(),
        }
    }

    /// Runs sample `b` of the `[T, batch, n]` input `input` and writes its logits.
    #[allow(clippy::too_many_arguments)]
    pub fn run_sample(
        &mut self,
        plan: &Plan,
        isa: Isa,
        mode: ExecMode,
        src: Source<'_>,
        b: usize,
        steps: usize,
        logits: &mut [f32],
        record_raster: bool,
        temporal: bool,
    ) -> Result<(), InferenceError> {
        let n = plan.input_len;
        for st in self.lif.iter_mut().flatten() {
            st.u.fill_zero();
            st.s.fill_zero();
            if let Some(j) = st.j.as_mut() {
                j.fill_zero();
            }
        }
        self.readout.fill_zero();
        if record_raster {
            self.raster = plan
                .stages
                .iter()
                .filter(|s| s.is_lif())
                .map(|_| Vec::with_capacity(steps))
                .collect();
        }
        let dense_mode = mode == ExecMode::Dense;
        let use_temporal = temporal && !dense_mode && self.ahead.is_some();
        // The layer-by-layer path reads the input's bits and forms lists only where it needs
        // them; the step-by-step loop reads the lists.
        let chained = use_temporal && plan.chain.is_some();
        if use_temporal {
            let tb = self.ahead.as_mut().expect("checked");
            tb.valid = prepare_ahead(tb, plan, isa, src, b, steps, !chained)?;
        }
        // A fully connected spiking network fed only spikes runs layer by layer over chunks of
        // steps (bit-identical without a baseline; see `chain`).
        let mut loop_steps = steps;
        if let (true, Some(ch), Some(bufs), Some(tb)) = (
            chained,
            plan.chain.as_ref(),
            self.chain.as_mut(),
            self.ahead.as_ref(),
        ) {
            if tb.valid {
                chain::run(
                    ch,
                    bufs,
                    plan,
                    isa,
                    chain::ChainInput {
                        masks: &tb.masks,
                        counts: &tb.counts[..steps],
                    },
                    &mut self.lif,
                    self.readout.as_mut_slice(),
                    &mut self.counters,
                    record_raster.then_some(&mut self.raster),
                );
                loop_steps = 0;
            }
        }
        for t in 0..loop_steps {
            let mut start = 0;
            if use_temporal {
                let tb = self.ahead.as_mut().expect("checked");
                if tb.valid {
                    let s0 = tb.stage;
                    let StageKind::Linear(l) = &plan.stages[s0].kind else {
                        unreachable!("lead stage is linear")
                    };
                    let k = t % AHEAD_CHUNK;
                    if k == 0 {
                        let end = (t + AHEAD_CHUNK).min(steps);
                        simd::accum_rows_steps(
                            isa,
                            tb.cur.padded_mut(),
                            l.b.padded_slice(),
                            l.w.padded_slice(),
                            l.stride,
                            &tb.idx,
                            &tb.offsets[t..=end],
                        );
                    }
                    let count = (tb.offsets[t + 1] - tb.offsets[t]) as u64;
                    for row in &mut self.counters.out_nz[..=s0] {
                        row[t] += count;
                    }
                    let out = &mut self.acts[s0 + 1];
                    out.dense
                        .padded_mut()
                        .copy_from_slice(&tb.cur.padded_slice()[k * l.stride..(k + 1) * l.stride]);
                    out.set_dense();
                    self.counters.eff_ops[s0] += count * l.out_f as u64;
                    self.counters.event_steps[s0] += 1;
                    self.counters.out_nz[s0 + 1][t] += out.nonzeros(isa) as u64;
                    start = s0 + 1;
                }
            }
            if start == 0 {
                let a0 = &mut self.acts[0];
                match src {
                    Source::F32 { data, batch } => {
                        let x = &data[(t * batch + b) * n..][..n];
                        let scan = simd::scan_nonzero(isa, x, &mut a0.idx, &mut a0.vals);
                        if let Some(j) = scan.non_finite {
                            return Err(InferenceError::Other(format!(
                                "input is not finite at step {t}, sample {b}, element {j} (value {})",
                                x[j]
                            )));
                        }
                        a0.count = scan.count;
                        a0.binary = scan.binary;
                        a0.has_list = true;
                        a0.has_dense = false;
                        if dense_mode {
                            a0.dense.as_mut_slice().copy_from_slice(x);
                            a0.has_dense = true;
                            a0.has_list = false;
                        }
                    }
                    Source::Bits(sb) => {
                        let count = decode_row(sb.row(t, b), &mut a0.idx);
                        a0.set_spikes(count);
                        if dense_mode {
                            a0.ensure_dense();
                            a0.has_list = false;
                        }
                    }
                }
                self.counters.out_nz[0][t] += a0.count as u64;
            }
            let mut lif_no = 0;
            // Set when a convolution has written the max pool that follows it (fused).
            let mut pooled_ahead = false;
            for (si, st) in plan.stages.iter().enumerate().skip(start) {
                let (before, after) = self.acts.split_at_mut(si + 1);
                let inp = &mut before[si];
                let (out, next) = after.split_first_mut().expect("stage output");
                match &st.kind {
                    StageKind::Identity => out.copy_from(inp),
                    StageKind::Linear(l) => {
                        let nz;
                        if dense_mode {
                            inp.ensure_dense();
                            nz = simd::count_nonzero(isa, inp.dense.as_slice());
                            simd::accum_rows_scaled(
                                isa,
                                out.dense.padded_mut(),
                                l.b.padded_slice(),
                                l.w.padded_slice(),
                                l.stride,
                                &self.iota[..l.in_f],
                                inp.dense.as_slice(),
                            );
                        } else {
                            inp.ensure_list(isa);
                            nz = inp.count;
                            let idx = &inp.idx[..inp.count];
                            if inp.binary {
                                simd::accum_rows(
                                    isa,
                                    out.dense.padded_mut(),
                                    l.b.padded_slice(),
                                    l.w.padded_slice(),
                                    l.stride,
                                    idx,
                                );
                                self.counters.event_steps[si] += 1;
                            } else {
                                simd::accum_rows_scaled(
                                    isa,
                                    out.dense.padded_mut(),
                                    l.b.padded_slice(),
                                    l.w.padded_slice(),
                                    l.stride,
                                    idx,
                                    &inp.vals[..inp.count],
                                );
                            }
                        }
                        self.counters.eff_ops[si] += (nz * l.out_f) as u64;
                        out.set_dense();
                    }
                    StageKind::Conv(c) => {
                        let acc = self.conv_acc[si].as_mut().expect("conv scratch");
                        let ops = if dense_mode {
                            inp.ensure_dense();
                            // Every input position, zeros included: the dense cost.
                            let all = &self.iota[..st.in_len];
                            conv_scatter(
                                c,
                                acc,
                                all,
                                Some(inp.dense.as_slice()),
                                out.dense.as_mut_slice(),
                            );
                            let (hw, mut ops) = (c.h * c.w, 0u64);
                            for (j, &v) in inp.dense.as_slice().iter().enumerate() {
                                if v != 0.0 {
                                    ops += c.taps[j % hw] as u64 * c.cout as u64;
                                }
                            }
                            ops
                        } else {
                            inp.ensure_list(isa);
                            if !inp.binary {
                                // Analog inputs are gathered from the dense values.
                                inp.ensure_dense();
                            }
                            let idx = &inp.idx[..inp.count];
                            if inp.binary {
                                self.counters.event_steps[si] += 1;
                            }
                            let vals = (!inp.binary).then(|| &inp.vals[..inp.count]);
                            let acc = acc.padded_mut();
                            let (ev, wt) = (&c.events, c.wt.as_slice());
                            let bits = &mut self.conv_bits[si];
                            let x = (!inp.binary).then(|| inp.dense.as_slice());
                            let gathered =
                                simd::conv_gather(isa, ev, c.cout, acc, wt, idx, x, bits);
                            let ops = match gathered {
                                Some(ops) => ops,
                                None => {
                                    simd::conv_scatter_events(isa, ev, c.cout, acc, wt, idx, vals)
                                }
                            };
                            // A max pool right after is done on the accumulator (one pass,
                            // vectors of channels), straight into the pool's output.
                            let (bias, dims) = (c.bp.as_slice(), [c.oh, c.ow]);
                            if let Some(StageKind::Pool(p)) =
                                plan.stages.get(si + 1).map(|s| &s.kind)
                            {
                                debug_assert!((p.c, p.h, p.w) == (c.cout, c.oh, c.ow));
                                let pooled = &mut next[0];
                                let dst = pooled.dense.as_mut_slice();
                                let nz = simd::conv_finish(
                                    isa,
                                    ev,
                                    acc,
                                    bias,
                                    c.cout,
                                    dims,
                                    [p.kh, p.kw],
                                    dst,
                                );
                                pooled.set_dense();
                                out.set_consumed(nz);
                                pooled_ahead = true;
                            } else {
                                let dst = out.dense.as_mut_slice();
                                simd::conv_finish(isa, ev, acc, bias, c.cout, dims, [1, 1], dst);
                                out.set_dense();
                            }
                            ops
                        };
                        self.counters.eff_ops[si] += ops;
                        if dense_mode {
                            out.set_dense();
                        }
                    }
                    StageKind::Pool(p) => {
                        if pooled_ahead {
                            pooled_ahead = false;
                        } else if !dense_mode && inp.has_list && inp.binary {
                            let count = pool_spikes(
                                p,
                                &inp.idx[..inp.count],
                                &mut self.marks[si],
                                &mut out.idx,
                            );
                            out.set_spikes(count);
                            self.counters.event_steps[si] += 1;
                        } else {
                            inp.ensure_dense();
                            pool_dense(p, inp.dense.as_slice(), out.dense.as_mut_slice());
                            out.set_dense();
                        }
                    }
                    StageKind::Lif {
                        beta,
                        theta,
                        neurons,
                    } => {
                        inp.ensure_dense();
                        let state = self.lif[si].as_mut().expect("lif state");
                        let count = match neurons {
                            None => simd::lif_step(
                                isa,
                                state.u.padded_mut(),
                                state.s.padded_mut(),
                                inp.dense.padded_slice(),
                                *beta,
                                *theta,
                                st.out_len,
                                &mut out.idx,
                            ),
                            Some(n) => {
                                let cur = match state.j.as_mut() {
                                    Some(j) => {
                                        n.synapse_step(j.padded_mut(), inp.dense.padded_slice());
                                        j.padded_slice()
                                    }
                                    None => inp.dense.padded_slice(),
                                };
                                simd::lif_step_neurons(
                                    isa,
                                    state.u.padded_mut(),
                                    state.s.padded_mut(),
                                    cur,
                                    n,
                                    &mut out.idx,
                                )
                            }
                        };
                        out.set_spikes(count);
                        if dense_mode {
                            out.dense
                                .padded_mut()
                                .copy_from_slice(state.s.padded_slice());
                            out.has_dense = true;
                        }
                        self.counters.membrane_updates[si] += st.out_len as u64;
                        if record_raster {
                            self.raster[lif_no].push(out.idx[..count].to_vec());
                        }
                        lif_no += 1;
                    }
                    StageKind::Relu | StageKind::Tanh => {
                        inp.ensure_dense();
                        let relu = matches!(st.kind, StageKind::Relu);
                        for (o, &v) in out
                            .dense
                            .as_mut_slice()
                            .iter_mut()
                            .zip(inp.dense.as_slice())
                        {
                            *o = if relu { v.max(0.0) } else { v.tanh() };
                        }
                        out.set_dense();
                    }
                }
                self.counters.out_nz[si + 1][t] += out.nonzeros(isa) as u64;
            }
            // Readout accumulation.
            // What this step adds to the readout: the last layer's output, or the final LIF
            // layer's membrane or spikes (the membrane-at-last-step readout adds nothing here).
            let step_value: Option<&[f32]> = match plan.readout {
                Readout::Output => {
                    let last = self.acts.last_mut().expect("output");
                    last.ensure_dense();
                    Some(last.dense.as_slice())
                }
                Readout::MembraneMean | Readout::SpikeCount => {
                    let st = self.lif[plan.last_lif.expect("validated")]
                        .as_ref()
                        .expect("lif state");
                    Some(if plan.readout == Readout::MembraneMean {
                        st.u.as_slice()
                    } else {
                        st.s.as_slice()
                    })
                }
                Readout::MembraneLast => None,
            };
            if let Some(v) = step_value {
                self.readout
                    .as_mut_slice()
                    .iter_mut()
                    .zip(v)
                    .for_each(|(a, &v)| *a += v);
            }
        }
        let classes = plan.classes;
        match plan.readout {
            Readout::Output | Readout::MembraneMean => {
                let tf = steps as f32;
                logits
                    .iter_mut()
                    .zip(self.readout.as_slice())
                    .for_each(|(l, &a)| *l = a / tf);
            }
            Readout::SpikeCount => logits.copy_from_slice(&self.readout.as_slice()[..classes]),
            Readout::MembraneLast => {
                let st = self.lif[plan.last_lif.expect("validated")]
                    .as_ref()
                    .expect("lif state");
                logits.copy_from_slice(&st.u.as_slice()[..classes]);
            }
        }
        self.counters.samples += 1;
        Ok(())
    }
}

/// Scans every step of sample `b`'s input into per-step spike masks and, when `lists` is set,
/// spike lists. Returns whether all of it is binary (false: some input is
/// analog; the steps then run one by one).
fn prepare_ahead(
    tb: &mut Ahead,
    plan: &Plan,
    isa: Isa,
    src: Source<'_>,
    b: usize,
    steps: usize,
    lists: bool,
) -> Result<bool, InferenceError> {
    let n = plan.input_len;
    // The last step's list may be decoded with whole-vector stores up to `64 · words` past
    // its start.
    let need = steps * n + n.div_ceil(64) * 64;
    if tb.idx.len() < need {
        tb.idx.resize(need, 0);
    }
    let words = n.div_ceil(LANES);
    if tb.masks.len() < steps * words {
        tb.masks.resize(steps * words, 0);
    }
    if tb.counts.len() < steps {
        tb.counts.resize(steps, 0);
    }
    tb.offsets.clear();
    tb.offsets.push(0);
    let mut at = 0;
    let (input, batch) = match src {
        Source::F32 { data, batch } => (data, batch),
        Source::Bits(sb) => {
            for t in 0..steps {
                let row = sb.row(t, b);
                if lists {
                    at += simd::decode_bits(isa, row, &mut tb.idx[at..]);
                    tb.offsets.push(at);
                }
                tb.counts[t] = row_to_masks(row, &mut tb.masks[t * words..(t + 1) * words]);
            }
            return Ok(true);
        }
    };
    // Steps of one sample lie `batch · n` floats apart: while scanning one step, fetch the
    // step `PREFETCH_STEPS` later, line by line (the first ones up front).
    const PREFETCH_STEPS: usize = 4;
    let strided = batch > 1;
    if strided {
        for t in 0..PREFETCH_STEPS.min(steps) {
            simd::prefetch(&input[(t * batch + b) * n..][..n]);
        }
    }
    for t in 0..steps {
        let ahead: &[f32] = if strided && t + PREFETCH_STEPS < steps {
            &input[((t + PREFETCH_STEPS) * batch + b) * n..][..n]
        } else {
            &[]
        };
        let x = &input[(t * batch + b) * n..][..n];
        // Anything but spikes (analog values, NaN, ±∞): the steps run one by one, and that loop
        // reports non-finite values.
        let masks = &mut tb.masks[t * words..(t + 1) * words];
        let idx = lists.then(|| &mut tb.idx[at..at + n]);
        let Some(count) = simd::scan_spikes(isa, x, ahead, idx, masks) else {
            return Ok(false);
        };
        tb.counts[t] = count as u32;
        if lists {
            at += count;
            tb.offsets.push(at);
        }
    }
    Ok(true)
}
