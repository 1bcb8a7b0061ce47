//! The int8 fixed-point path layer by layer over all `T` steps, as the f32 fully connected
//! chain runs ([`super::super::chain`]): for each layer and each block of 64 neurons, the
//! membranes and spike states stay in registers while every step's spiking rows are added and the
//! LIF update runs; the block's spikes leave as one 64-bit mask per step, and each step's masks
//! become the next layer's spike list. The operations on every neuron are exactly those of the
//! step-by-step loop ([`FixedWorker::run_sample`]): integer sums in any order, then
//! [`lif_row_narrow`]'s `i32` update — so logits, spikes and activity counters are identical
//! (tested). A step with at most [`I16_ROWS`] rows sums them in `i16` lanes (no overflow is
//! possible) and widens once. It runs where the step loop would use the input baseline and
//! every layer is a [`FixedLayer::narrow`] default neuron (the presets); otherwise the step loop
//! runs.

use super::*;

/// Rows whose `i8` sum (each row at most 127 in magnitude) provably fits `i16`: a step with at
/// most this many rows sums them in `i16` lanes, twice as many per vector, then widens once —
/// the same integer sum.
const I16_ROWS: usize = (i16::MAX / i8::MAX as i16) as usize;

/// Where a block's rows come from at step `t`.
enum StepRows<'a> {
    /// The input layer against its baseline: add `plus`, subtract `minus` of `split.step(t)`.
    Based(&'a Baseline),
    /// Spike lists: step `t`'s are `idx[off[t]..off[t + 1]]`.
    Lists { idx: &'a [u32], off: &'a [usize] },
}

/// Scratch of [`FixedWorker::run_layers`], kept between samples.
#[derive(Debug, Default)]
pub(super) struct ChainScratch {
    /// `masks[t · blocks + c]`: block `c`'s spikes at step `t`.
    masks: Vec<u64>,
    /// Non-zero currents per step.
    nz: Vec<u64>,
    /// The previous and the current layer's spike lists (flat) and step offsets.
    idx: [Vec<u32>; 2],
    off: [Vec<usize>; 2],
}

impl FixedWorker {
    /// Whether [`FixedWorker::run_layers`] can run `fp`: every layer a narrow default neuron.
    pub(super) fn layered(fp: &FixedPlan) -> bool {
        fp.layers.iter().all(|l| l.narrow && l.neurons.is_none())
    }

    /// The step loop of [`FixedWorker::run_sample`] for a sample whose input layer uses the
    /// baseline (`self.input_base` chosen), layer by layer: the same state, readout and counters.
    pub(super) fn run_layers(
        &mut self,
        fp: &FixedPlan,
        isa: Isa,
        steps: usize,
        record_raster: bool,
    ) {
        let last = fp.layers.len() - 1;
        for t in 0..steps {
            let c0 = self.input_base.counts[t] as u64;
            for row in &mut self.counters.out_nz[..=fp.lead] {
                row[t] += c0;
            }
        }
        self.layered_runs += 1;
        let mut sc = std::mem::take(&mut self.chain);
        for (k, l) in fp.layers.iter().enumerate() {
            let blocks = l.stride / BLOCK;
            sc.masks.clear();
            sc.masks.resize(steps * blocks, 0);
            sc.nz.clear();
            sc.nz.resize(steps, 0);
            let (shl, shr) = (l.e.max(0) as u32, (-l.e).max(0) as u32);
            let round = if shr > 0 { 1i32 << (shr - 1) } else { 0 };
            let readout = if k == last {
                fp.readout
            } else {
                Readout::MembraneLast
            };
            let [prev_idx, _] = &sc.idx;
            let [prev_off, _] = &sc.off;
            let rows = if k == 0 {
                StepRows::Based(&self.input_base.split)
            } else {
                StepRows::Lists {
                    idx: prev_idx,
                    off: prev_off,
                }
            };
            for c in 0..blocks {
                let lanes = l.out_f.saturating_sub(c * BLOCK).min(BLOCK);
                let mut bias = [0i32; BLOCK];
                bias[..lanes].copy_from_slice(&l.b[c * BLOCK..][..lanes]);
                let mut init = [0i32; BLOCK];
                if k == 0 {
                    init.copy_from_slice(&self.input_base.acc[c * BLOCK..][..BLOCK]);
                }
                let mut st = BlockState {
                    u: [0; BLOCK],
                    s: [0; BLOCK],
                };
                let out = BlockOut {
                    masks: &mut sc.masks,
                    blocks,
                    nz: &mut sc.nz,
                    readout: &mut self.readout[(c * BLOCK).min(fp.classes)..]
                        [..lanes.min(fp.classes.saturating_sub(c * BLOCK))],
                };
                let job = BlockJob {
                    l,
                    c,
                    rows: &rows,
                    init: &init,
                    bias: &bias,
                    q: (l.spike_q, shl, shr, round),
                    steps,
                    readout,
                };
                block_over_steps(isa, &job, &mut st, out);
                for j in 0..lanes {
                    self.u[k][c * BLOCK + j] = st.u[j] as i16;
                    self.s[k][c * BLOCK + j] = st.s[j] != 0;
                }
            }
            // Each step's masks as the next layer's spike list; the step loop's counters.
            let [prev_idx, idx] = &mut sc.idx;
            let [prev_off, off] = &mut sc.off;
            idx.clear();
            off.clear();
            off.push(0);
            let ls = l.linear_stage;
            for t in 0..steps {
                for (c, &m) in sc.masks[t * blocks..][..blocks].iter().enumerate() {
                    let mut m = m;
                    while m != 0 {
                        idx.push((c * BLOCK) as u32 + m.trailing_zeros());
                        m &= m - 1;
                    }
                }
                off.push(idx.len());
                let count = off[t + 1] - off[t];
                let inputs = if k == 0 {
                    self.input_base.counts[t] as usize
                } else {
                    prev_off[t + 1] - prev_off[t]
                };
                self.counters.event_steps[ls] += 1;
                self.counters.eff_ops[ls] += (inputs * l.out_f) as u64;
                self.counters.out_nz[ls + 1][t] += sc.nz[t];
                self.counters.out_nz[ls + 2][t] += count as u64;
                self.counters.membrane_updates[ls + 1] += l.out_f as u64;
                if record_raster {
                    self.raster[k].push(idx[off[t]..off[t + 1]].to_vec());
                }
            }
            std::mem::swap(prev_idx, idx);
            std::mem::swap(prev_off, off);
        }
        self.chain = sc;
    }
}

/// What one block computes: block `c` of layer `l`, its rows, starting accumulators, bias,
/// `(spike units, shl, shr, round)` of the current, and the readout (the network's for the output
/// layer; `MembraneLast`: nothing per step).
struct BlockJob<'a> {
    l: &'a FixedLayer,
    c: usize,
    rows: &'a StepRows<'a>,
    init: &'a [i32; BLOCK],
    bias: &'a [i32; BLOCK],
    q: (i32, u32, u32, i32),
    steps: usize,
    readout: Readout,
}

/// One block's membranes `U_q` (within `i16`) and spike states (0/1), in `i32` lanes.
struct BlockState {
    u: [i32; BLOCK],
    s: [i32; BLOCK],
}

/// Where one block writes: its spike masks and the per-step non-zero currents (shared by the
/// blocks of a layer), and the readout of its lanes (output layer only).
struct BlockOut<'a> {
    masks: &'a mut [u64],
    blocks: usize,
    nz: &'a mut [u64],
    readout: &'a mut [i64],
}

avx512_twin! {
    /// One block over every step (see the module documentation).
    fn block_over_steps(job: &BlockJob<'_>, st: &mut BlockState, out: BlockOut<'_>) -> ()
        = block_over_steps_portable
}

#[inline(always)]
fn block_over_steps_portable(job: &BlockJob<'_>, st: &mut BlockState, out: BlockOut<'_>) {
    let BlockJob {
        l,
        c,
        rows,
        init,
        bias,
        q: (spike_q, shl, shr, round),
        steps,
        readout,
    } = *job;
    let lif = NarrowLif::of(l, spike_q, (shl, shr, round));
    let n_rows = l.w.len() / l.stride;
    let row = |i: u32| -> &[i8; BLOCK] {
        assert!((i as usize) < n_rows, "spike index beyond the weight rows");
        l.w[i as usize * l.stride + c * BLOCK..][..BLOCK]
            .try_into()
            .expect("a block")
    };
    for t in 0..steps {
        let (plus, minus) = match rows {
            StepRows::Based(split) => split.step(t),
            StepRows::Lists { idx, off } => (&idx[off[t]..off[t + 1]], &[][..]),
        };
        let mut a = *init;
        if plus.len() + minus.len() <= I16_ROWS {
            // at most I16_ROWS rows of |w| ≤ 127: the sum fits i16 (32 lanes per 512 bits)
            let mut d = [0i16; BLOCK];
            for (list, neg) in [(plus, false), (minus, true)] {
                for &i in list {
                    for (d, &x) in d.iter_mut().zip(row(i)) {
                        if neg {
                            *d -= x as i16;
                        } else {
                            *d += x as i16;
                        }
                    }
                }
            }
            for (a, &d) in a.iter_mut().zip(&d) {
                *a += d as i32;
            }
        } else {
            for (list, neg) in [(plus, false), (minus, true)] {
                for &i in list {
                    for (a, &x) in a.iter_mut().zip(row(i)) {
                        if neg {
                            *a -= x as i32;
                        } else {
                            *a += x as i32;
                        }
                    }
                }
            }
        }
        // exactly `lif_row_narrow`, lane by lane
        let mut nz = 0u32;
        let mut mask = 0u64;
        for k in 0..BLOCK {
            let (un, fire, nonzero) = lif.lane(a[k], bias[k], st.u[k], st.s[k]);
            nz += nonzero as u32;
            st.u[k] = un;
            st.s[k] = fire as i32;
            mask |= (fire as u64) << k;
        }
        out.masks[t * out.blocks + c] = mask;
        out.nz[t] += nz as u64;
        match readout {
            Readout::MembraneMean => {
                for (r, &u) in out.readout.iter_mut().zip(&st.u) {
                    *r += u as i64;
                }
            }
            Readout::SpikeCount | Readout::Output => {
                for (r, &s) in out.readout.iter_mut().zip(&st.s) {
                    *r += s as i64;
                }
            }
            Readout::MembraneLast => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::event::{EventEngine, Precision};
    use crate::isa::Isa;
    use joulebench_models::{Layer, LifParams, ModelSpec, Op, Readout, Tensor, Weights};

    /// Steps with more rows than an `i16` sum can hold (and with fewer, and none): a block's
    /// membranes, spikes and non-zero counts equal the `i32` sums' on every instruction set.
    #[test]
    fn long_and_short_row_lists_give_the_i32_sums() {
        let (in_f, stride) = (600usize, BLOCK);
        let mut seed = 0x51ed_2701_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let w: Vec<i8> = (0..in_f * stride)
            .map(|k| {
                // column 0 all 127: 600 rows sum to 76 200, beyond i16
                if k % stride == 0 || k % 5 == 0 {
                    127
                } else {
                    ((next() % 255) as i32 as i8).max(-127)
                }
            })
            .collect();
        let l = FixedLayer {
            name: "fc".into(),
            linear_stage: 0,
            in_f,
            out_f: 50,
            stride,
            w,
            b: (0..50).map(|_| (next() % 2001) as i32 - 1000).collect(),
            spike_q: 1,
            e: -2,
            beta_q: 29491,
            theta_q: 1500,
            neurons: None,
            s_w: 1.0,
            s_u: 1.0,
            narrow: true,
        };
        // 600 rows, 259, 258, 3, none
        let lists: Vec<Vec<u32>> = [600u32, 259, 258, 3, 0]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7) % in_f as u32).collect())
            .collect();
        let idx: Vec<u32> = lists.concat();
        let mut off = vec![0];
        for list in &lists {
            off.push(off.last().unwrap() + list.len());
        }
        let steps = lists.len();
        let mut bias = [0i32; BLOCK];
        bias[..50].copy_from_slice(&l.b);
        let init = [0i32; BLOCK];
        // the reference: i32 sums, then the same lane update
        let lif = NarrowLif::of(&l, 1, (0, 2, 2));
        let (mut u, mut sp) = ([0i32; BLOCK], [0i32; BLOCK]);
        let mut want = Vec::new();
        for list in &lists {
            let mut a = init;
            for &i in list {
                for (a, &x) in a.iter_mut().zip(&l.w[i as usize * stride..][..BLOCK]) {
                    *a += x as i32;
                }
            }
            let (mut mask, mut nz) = (0u64, 0u64);
            for k in 0..BLOCK {
                let (un, fire, nonzero) = lif.lane(a[k], bias[k], u[k], sp[k]);
                (u[k], sp[k]) = (un, fire as i32);
                mask |= (fire as u64) << k;
                nz += nonzero as u64;
            }
            want.push((mask, nz));
        }
        assert!(want.iter().any(|w| w.0 != 0), "the block fires");
        let rows = StepRows::Lists {
            idx: &idx,
            off: &off,
        };
        for isa in Isa::supported() {
            let mut st = BlockState {
                u: [0; BLOCK],
                s: [0; BLOCK],
            };
            let (mut masks, mut nz) = (vec![0u64; steps], vec![0u64; steps]);
            let job = BlockJob {
                l: &l,
                c: 0,
                rows: &rows,
                init: &init,
                bias: &bias,
                q: (1, 0, 2, 2),
                steps,
                readout: Readout::MembraneLast,
            };
            let out = BlockOut {
                masks: &mut masks,
                blocks: 1,
                nz: &mut nz,
                readout: &mut [],
            };
            block_over_steps(isa, &job, &mut st, out);
            let got: Vec<(u64, u64)> = masks.into_iter().zip(nz).collect();
            assert_eq!(got, want, "{isa:?}");
            assert_eq!((st.u, st.s), (u, sp), "{isa:?}");
        }
    }

    /// Odd widths (partial blocks), a step count that is no multiple of anything, every readout,
    /// inputs with frequent pixels (so the input layer uses its baseline): layer by layer gives
    /// the step loop's logits bit for bit, and the same activity and spike raster, on every
    /// instruction set and with 1 and 2 threads.
    #[test]
    fn layer_by_layer_equals_step_by_step_exactly() {
        let mut seed = 0x9e37_79b9_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let lif = |beta: f32| Op::Lif(LifParams::new(beta));
        for readout in [
            Readout::MembraneMean,
            Readout::SpikeCount,
            Readout::Output,
            Readout::MembraneLast,
        ] {
            let linear = |i, o| Op::Linear {
                in_features: i,
                out_features: o,
            };
            let spec = ModelSpec {
                preset: "fixed-chain".into(),
                input_shape: vec![1, 7, 9],
                num_classes: 10,
                preprocess: Default::default(),
                encoding: joulebench_models::Encoding::Rate,
                steps: 37,
                readout,
                layers: vec![
                    Layer::new("flatten", Op::Flatten),
                    Layer::new("fc1", linear(63, 90)),
                    Layer::new("lif1", lif(0.9)),
                    Layer::new("fc2", linear(90, 130)),
                    Layer::new("lif2", lif(0.8)),
                    Layer::new("fc3", linear(130, 10)),
                    Layer::new("lif3", lif(0.95)),
                ],
            };
            spec.validate().unwrap();
            let mut w = Weights::random(&spec, next());
            for (name, t) in w.tensors.iter_mut() {
                let gain = if name.ends_with("weight") { 3.0 } else { 1.0 };
                t.data.iter_mut().for_each(|v| *v *= gain);
            }
            // 5 samples; a third of the pixels on at nearly every step (the baseline), the rest
            // rarely
            let (steps, batch, n) = (37, 5, 63);
            let x: Vec<f32> = (0..steps * batch * n)
                .map(|k| {
                    let p = if (k % n) % 3 == 0 { 90 } else { 15 };
                    ((next() % 100) < p) as u8 as f32
                })
                .collect();
            let x = Tensor::new(vec![steps, batch, 1, 7, 9], x).unwrap();
            for isa in Isa::supported() {
                for threads in [1, 2] {
                    let run = |layered: bool| {
                        let mut e = EventEngine::new(&spec, &w, threads).unwrap();
                        e.set_isa(isa).unwrap();
                        e.set_precision(Precision::Int8).unwrap();
                        e.set_temporal_blocking(layered);
                        e.set_record_raster(true);
                        let out = e.run(&x).unwrap();
                        let runs: u64 = e
                            .fixed
                            .as_ref()
                            .unwrap()
                            .1
                            .iter()
                            .map(|w| w.layered_runs)
                            .sum();
                        (out, e.activity().unwrap().clone(), runs)
                    };
                    let (a, act_a, runs_a) = run(true);
                    let (b, act_b, runs_b) = run(false);
                    let what = format!("{readout:?} {isa:?} threads {threads}");
                    assert_eq!(
                        runs_a, batch as u64,
                        "{what}: every sample ran layer by layer"
                    );
                    assert_eq!(runs_b, 0, "{what}");
                    let bits = |t: &Tensor| t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{what}: logits");
                    assert_eq!(act_a, act_b, "{what}: activity and raster");
                    assert!(act_a.total_spikes() > 100, "{what}: the network fires");
                }
            }
        }
    }
}
