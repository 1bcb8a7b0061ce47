//! The fast path for fully connected spiking networks fed only spikes (`Flatten`s, then
//! `Linear → LIF` pairs, e.g. `snn-temporal`): layer after layer over a chunk of steps instead
//! of step after step over the layers.
//!
//! A layer's currents at step `t` depend only on the previous layer's spikes at step `t`, and
//! only the LIF membranes carry state from step to step. So for a chunk of [`CHUNK`] steps the
//! engine forms the first layer's currents of every step of the chunk, runs its LIF step by
//! step (spike masks out), then the second layer's currents from those spikes, and so on. Each
//! layer runs in [`simd::lif_layer_steps`], which keeps a narrow column block of the active
//! weight rows in the L1 cache across all steps of the chunk; the weights are held in its
//! blocked layout (rows of one column block contiguous). Without a baseline
//! ([`Chain::baseline`]) every current is the same sum in the same order as step-by-step
//! execution, so results are bit-identical to it; with one, inputs that spike at most steps of
//! the chunk are summed once and only their silences subtracted (see [`super::baseline`]).

use joulebench_models::Readout;

use super::aligned::{AlignedVec, LANES};
use super::baseline::Baseline;
use super::plan::{Plan, StageKind};
use super::simd::{self, BlockedLayer, StepLists, StepReadout, StepsOut};
use super::worker::{Counters, LifState};
use crate::isa::Isa;

/// Steps processed layer by layer at a time: a multiple of the kernels' step interleave, and
/// long enough that each column block's active rows are reused from L1 many times (measured on
/// snn-temporal: 10 steps cost 25 % more than 20, 40 about 2 % less than 20, 100 about 1 % less
/// than 40). Per worker the spike lists take `CHUNK × (stride + …) × 4` bytes (≈ 160 KB for
/// 784-256-128-10).
pub(crate) const CHUNK: usize = 100;

/// One `Linear → LIF` pair.
#[derive(Debug, Clone)]
pub(crate) struct ChainLayer {
    /// Stage index of the `Linear` (its `LIF` is the next stage).
    pub lin: usize,
    pub in_f: usize,
    pub out_f: usize,
    /// Padded output length (the `Linear`'s row stride).
    pub stride: usize,
    /// Column block width in vectors (1, 2 or 4), see [`simd::blocked_row_len`].
    pub nb: usize,
    /// The weight in the blocked layout.
    pub wb: AlignedVec,
    pub beta: f32,
    pub theta: f32,
}

impl ChainLayer {
    pub fn lif(&self) -> usize {
        self.lin + 1
    }
}

/// A network the fast path can run.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub layers: Vec<ChainLayer>,
    /// Whether each layer's currents are formed against a baseline of its frequent inputs
    /// (see [`super::baseline`]; on unless turned off).
    pub baseline: bool,
}

impl Chain {
    /// The chain of `plan`, when it is `Identity`* followed by `Linear → LIF` pairs only, every
    /// LIF layer snnTorch's default neuron (scalar β and θ, reset by subtraction).
    pub fn build(plan: &Plan) -> Option<Chain> {
        let lead = plan
            .stages
            .iter()
            .position(|s| !matches!(s.kind, StageKind::Identity))?;
        let rest = &plan.stages[lead..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            return None;
        }
        let mut layers = Vec::with_capacity(rest.len() / 2);
        for (k, pair) in rest.chunks(2).enumerate() {
            let (
                StageKind::Linear(l),
                StageKind::Lif {
                    beta,
                    theta,
                    neurons: None,
                },
            ) = (&pair[0].kind, &pair[1].kind)
            else {
                return None;
            };
            // Four vectors per column block where the width allows, else two, else one: each
            // block walks the steps' lists once, so wider blocks mean fewer index loads and
            // list walks per weight row added. (snn-temporal with a baseline, min over 30 × 160
            // inferences: 73–76 µs with 4-vector blocks against 82–107 µs with 2; an active
            // row is then 256 bytes, and the few dozen active rows of a step still fit L1.)
            let nb = match l.stride / LANES {
                v if v.is_multiple_of(4) => 4,
                v if v.is_multiple_of(2) => 2,
                _ => 1,
            };
            let bw = simd::blocked_row_len(nb);
            let mut wb = AlignedVec::zeros(l.in_f * l.stride);
            let (src, dst) = (l.w.as_slice(), wb.as_mut_slice());
            for blk in 0..l.stride / bw {
                for i in 0..l.in_f {
                    dst[(blk * l.in_f + i) * bw..][..bw]
                        .copy_from_slice(&src[i * l.stride + blk * bw..][..bw]);
                }
            }
            layers.push(ChainLayer {
                lin: lead + 2 * k,
                in_f: l.in_f,
                out_f: l.out_f,
                stride: l.stride,
                nb,
                wb,
                beta: *beta,
                theta: *theta,
            });
        }
        // The readout reads the last layer's `classes` neurons.
        if layers.last().is_none_or(|l| l.out_f != plan.classes) {
            return None;
        }
        Some(Chain {
            layers,
            baseline: true,
        })
    }
}

/// One worker's buffers for the fast path.
pub(crate) struct ChainBufs {
    /// The current layer's input spikes as lists, decoded from its masks when it needs them
    /// (no baseline): step `t`'s are `list[offs[t]..offs[t + 1]]`.
    list: Vec<u32>,
    offs: Vec<usize>,
    /// Per layer, its spikes per step of the chunk (the next layer's input counts).
    fired: Vec<Vec<u32>>,
    /// Per layer, the chunk's spike masks (`CHUNK × stride / 16`).
    masks: Vec<Vec<u16>>,
    /// Per layer, the previous step's spikes as masks (`stride / 16`).
    spk: Vec<Vec<u16>>,
    /// Non-zero currents per step of the chunk.
    nz: Vec<u32>,
    /// The chunk's lists split against a baseline, and that baseline's currents plus bias.
    base: Baseline,
    base_cur: AlignedVec,
}

impl ChainBufs {
    pub fn new(chain: &Chain) -> Self {
        let in_words = chain
            .layers
            .iter()
            .map(|l| l.in_f.div_ceil(LANES).max(l.stride / LANES))
            .max()
            .unwrap_or(0);
        ChainBufs {
            list: vec![0; CHUNK * in_words * LANES],
            offs: vec![0; CHUNK + 1],
            fired: chain.layers.iter().map(|_| vec![0; CHUNK]).collect(),
            masks: chain
                .layers
                .iter()
                .map(|l| vec![0; CHUNK * l.stride / LANES])
                .collect(),
            spk: chain
                .layers
                .iter()
                .map(|l| vec![0; l.stride / LANES])
                .collect(),
            nz: vec![0; CHUNK],
            base: Baseline::new(in_words, CHUNK),
            base_cur: AlignedVec::zeros(chain.layers.iter().map(|l| l.stride).max().unwrap_or(0)),
        }
    }
}

/// A sample's input spikes for [`run`]: as bits, `masks[t·W..(t + 1)·W]` at step `t`
/// (`W = ⌈in_f / 16⌉`; bit `j` of word `w`: input `16·w + j`), and their number per step.
#[derive(Clone, Copy)]
pub(crate) struct ChainInput<'a> {
    pub masks: &'a [u16],
    /// Spikes per step.
    pub counts: &'a [u32],
}

/// Runs one sample on `input`:
/// updates the LIF membranes (`lif[stage].u`; the spike states stay in `bufs`), adds each
/// step's readout value to `readout` (as the step-by-step loop does), the activity to
/// `counters`, and, when given, each LIF layer's spike lists to `raster`. Membranes and
/// `readout` must start zeroed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    chain: &Chain,
    bufs: &mut ChainBufs,
    plan: &Plan,
    isa: Isa,
    input: ChainInput<'_>,
    lif: &mut [Option<LifState>],
    readout: &mut [f32],
    counters: &mut Counters,
    mut raster: Option<&mut Vec<Vec<Vec<u32>>>>,
) {
    let steps = input.counts.len();
    let lead = chain.layers[0].lin;
    let nl = chain.layers.len();
    for s in &mut bufs.spk {
        s.fill(0);
    }
    let ro = match plan.readout {
        Readout::MembraneMean => StepReadout::Membrane,
        Readout::SpikeCount | Readout::Output => StepReadout::Spikes,
        Readout::MembraneLast => StepReadout::None,
    };
    let mut c0 = 0;
    while c0 < steps {
        let cn = CHUNK.min(steps - c0);
        for (l, layer) in chain.layers.iter().enumerate() {
            let StageKind::Linear(lw) = &plan.stages[layer.lin].kind else {
                unreachable!("chain layers are linear")
            };
            let (prev_masks, masks) = bufs.masks.split_at_mut(l);
            let in_words = if l == 0 {
                layer.in_f.div_ceil(LANES)
            } else {
                chain.layers[l - 1].stride / LANES
            };
            let in_bits = if l == 0 {
                &input.masks[c0 * in_words..(c0 + cn) * in_words]
            } else {
                &prev_masks[l - 1][..cn * in_words]
            };
            let (prev_fired, fired) = bufs.fired.split_at_mut(l);
            let n_in = if l == 0 {
                &input.counts[c0..c0 + cn]
            } else {
                &prev_fired[l - 1][..cn]
            };
            let fired = &mut fired[0][..cn];
            fired.fill(0);
            let spikes: u64 = n_in.iter().map(|&c| c as u64).sum();
            let last = l + 1 == nl;
            let nz = &mut bufs.nz[..cn];
            nz.fill(0);
            let words = layer.stride / LANES;
            let masks = &mut masks[0][..cn * words];
            let st = lif[layer.lif()].as_mut().expect("lif state");
            let base = &mut bufs.base;
            let based_len = if chain.baseline {
                base.split(isa, in_bits, in_words, cn, spikes as usize)
            } else {
                0
            };
            let (add, neg, bias) = if based_len > 0 {
                let cur = &mut bufs.base_cur.as_mut_slice()[..layer.stride];
                simd::accum_rows(
                    isa,
                    cur,
                    lw.b.padded_slice(),
                    lw.w.padded_slice(),
                    layer.stride,
                    &base.base[..based_len],
                );
                counters.saved_ops[layer.lin] += base.saved_rows * layer.out_f as u64;
                (
                    (&base.plus[..], &base.plus_offs[..]),
                    Some((&base.minus[..], &base.minus_offs[..])),
                    &bufs.base_cur.as_slice()[..layer.stride],
                )
            } else {
                if spikes == 0 {
                    bufs.offs[..=cn].fill(0);
                } else {
                    simd::masks_to_lists(
                        isa,
                        in_bits,
                        in_words,
                        cn,
                        &mut bufs.list,
                        &mut bufs.offs,
                    );
                }
                (
                    (&bufs.list[..], &bufs.offs[..=cn]),
                    None,
                    lw.b.padded_slice(),
                )
            };
            simd::lif_layer_steps(
                isa,
                &BlockedLayer {
                    wb: layer.wb.padded_slice(),
                    in_f: layer.in_f,
                    stride: layer.stride,
                    nb: layer.nb,
                    bias,
                    beta: layer.beta,
                    theta: layer.theta,
                    n: layer.out_f,
                },
                &StepLists {
                    idx: add.0,
                    offsets: add.1,
                    neg,
                },
                StepsOut {
                    u: st.u.padded_mut(),
                    spk: &mut bufs.spk[l],
                    masks,
                    nz,
                    fired,
                    readout,
                    ro: if last { ro } else { StepReadout::None },
                },
            );
            for t in 0..cn {
                let gt = c0 + t;
                let n_in = n_in[t] as u64;
                if l == 0 {
                    for row in &mut counters.out_nz[..=lead] {
                        row[gt] += n_in;
                    }
                }
                counters.eff_ops[layer.lin] += n_in * layer.out_f as u64;
                counters.event_steps[layer.lin] += 1;
                counters.out_nz[layer.lin + 1][gt] += nz[t] as u64;
                counters.out_nz[layer.lif() + 1][gt] += fired[t] as u64;
                counters.membrane_updates[layer.lif()] += layer.out_f as u64;
            }
            if let Some(r) = raster.as_deref_mut() {
                for row in masks.chunks_exact(words) {
                    let spikes = row.iter().enumerate().flat_map(|(w, &m)| {
                        (0..LANES as u32)
                            .filter(move |j| m >> j & 1 == 1)
                            .map(move |j| (w * LANES) as u32 + j)
                    });
                    r[l].push(spikes.collect());
                }
            }
        }
        c0 += cn;
    }
}
