//! The scalar reference of [`super`]'s kernels: plain Rust loops that define the results every
//! instruction set's version reproduces bit for bit, and that run where the CPU (or the
//! instruction set, for an operation it has no kernel of) has no vector version.

use super::{blocked_row_len, BlockedLayer, StepLists, StepReadout, StepsOut};
use crate::event::aligned::LANES;

/// [`super::accum_rows`] (`vals` `None`) and [`super::accum_rows_scaled`].
pub(super) fn accum_rows(
    out: &mut [f32],
    bias: &[f32],
    w: &[f32],
    stride: usize,
    idx: &[u32],
    vals: Option<&[f32]>,
) {
    let out = &mut out[..stride];
    out.fill(0.0);
    match vals {
        None => {
            for &i in idx {
                let row = &w[i as usize * stride..][..stride];
                for (o, &x) in out.iter_mut().zip(row) {
                    *o += x;
                }
            }
        }
        Some(vals) => {
            for (&i, &v) in idx.iter().zip(vals) {
                let row = &w[i as usize * stride..][..stride];
                for (o, &x) in out.iter_mut().zip(row) {
                    *o += v * x;
                }
            }
        }
    }
    for (o, &b) in out.iter_mut().zip(&bias[..stride]) {
        *o += b;
    }
}

/// [`super::lif_step`].
pub(super) fn lif(
    u: &mut [f32],
    s: &mut [f32],
    cur: &[f32],
    beta: f32,
    theta: f32,
    n: usize,
    spikes: &mut [u32],
) -> usize {
    let mut count = 0;
    for j in 0..u.len() {
        let un = (beta * u[j] + cur[j]) - s[j] * theta;
        u[j] = un;
        let fire = un > theta;
        s[j] = if fire { 1.0 } else { 0.0 };
        if fire && j < n {
            spikes[count] = j as u32;
            count += 1;
        }
    }
    count
}

/// [`super::lif_step_neurons`].
pub(super) fn lif_neurons(
    u: &mut [f32],
    s: &mut [f32],
    cur: &[f32],
    n: &joulebench_models::LifNeurons,
    spikes: &mut [u32],
) -> usize {
    let mut count = 0;
    for j in 0..n.len() {
        let un = n.update(j, u[j], s[j], cur[j]);
        u[j] = un;
        let fire = un > n.threshold[j];
        s[j] = if fire { 1.0 } else { 0.0 };
        if fire {
            spikes[count] = j as u32;
            count += 1;
        }
    }
    count
}

/// [`super::lif_layer_steps`] in plain Rust, block by block like the AVX-512 kernel: per column
/// block (`nb · 16` neurons) and step, the block's currents summed row by row over the lists
/// (the same order per neuron as every other path), then the LIF update of one 16-neuron word
/// at a time with its spike bits in a register.
pub(super) fn lif_layer(l: &BlockedLayer<'_>, lists: &StepLists<'_>, out: StepsOut<'_>) {
    let StepLists { idx, offsets, neg } = *lists;
    let StepsOut {
        u,
        spk,
        masks,
        nz,
        fired: fired_count,
        readout,
        ro,
    } = out;
    let steps = offsets.len() - 1;
    let bw = blocked_row_len(l.nb);
    let words = l.stride / LANES;
    let mut acc = [0.0f32; 4 * LANES];
    for blk in 0..l.stride / bw {
        let w = &l.wb[blk * l.in_f * bw..(blk + 1) * l.in_f * bw];
        let acc = &mut acc[..bw];
        for t in 0..steps {
            acc.fill(0.0);
            for &i in &idx[offsets[t]..offsets[t + 1]] {
                let row = &w[i as usize * bw..][..bw];
                acc.iter_mut().zip(row).for_each(|(a, r)| *a += r);
            }
            if let Some((ni, no)) = neg {
                for &i in &ni[no[t]..no[t + 1]] {
                    let row = &w[i as usize * bw..][..bw];
                    acc.iter_mut().zip(row).for_each(|(a, r)| *a -= r);
                }
            }
            for k in 0..l.nb {
                let word = blk * l.nb + k;
                let sp = spk[word];
                let (mut fired, mut count) = (0u16, 0u32);
                for j in 0..LANES {
                    let o = word * LANES + j;
                    let cur = acc[k * LANES + j] + l.bias[o];
                    count += (o < l.n && (cur != 0.0 || cur.is_nan())) as u32;
                    let s_prev = ((sp >> j) & 1) as f32;
                    let un = (l.beta * u[o] + cur) - s_prev * l.theta;
                    u[o] = un;
                    let fire = un > l.theta;
                    fired |= (fire as u16) << j;
                    match ro {
                        StepReadout::None => {}
                        StepReadout::Membrane => readout[o] += un,
                        StepReadout::Spikes => readout[o] += fire as u32 as f32,
                    }
                }
                spk[word] = fired;
                let valid = match l.n.saturating_sub(word * LANES) {
                    v if v >= LANES => u16::MAX,
                    v => ((1u32 << v) - 1) as u16,
                };
                masks[t * words + word] = fired & valid;
                nz[t] += count;
                fired_count[t] += (fired & valid).count_ones();
            }
        }
    }
}

/// Writes `first + j` for every set bit `j` of `bits`, ascending, at `out[*n..]` and advances
/// `*n` past them.
#[inline(always)]
pub(super) fn push_bits(mut bits: u32, first: u32, out: &mut [u32], n: &mut usize) {
    while bits != 0 {
        out[*n] = first + bits.trailing_zeros();
        *n += 1;
        bits &= bits - 1;
    }
}

/// [`super::masks_to_lists`] (`offs[0]` already 0).
pub(super) fn masks_to_lists(
    masks: &[u16],
    words: usize,
    steps: usize,
    list: &mut [u32],
    offs: &mut [usize],
) {
    let mut c = 0;
    for t in 0..steps {
        for (w, &m) in masks[t * words..(t + 1) * words].iter().enumerate() {
            push_bits(m as u32, (w * LANES) as u32, list, &mut c);
        }
        offs[t + 1] = c;
    }
}

/// [`super::frequent_inputs`].
pub(super) fn frequent_inputs(masks: &[u16], words: usize, steps: usize, base: &mut [u16]) -> u64 {
    // Counting set bits only: work in proportion to the spikes.
    let half = steps as u64 + 1;
    let mut saved = 0;
    for (w, b) in base[..words].iter_mut().enumerate() {
        let mut c = [0u64; LANES];
        for t in 0..steps {
            let mut m = masks[t * words + w];
            while m != 0 {
                c[m.trailing_zeros() as usize] += 1;
                m &= m - 1;
            }
        }
        *b = 0;
        for (j, &c) in c.iter().enumerate() {
            if 2 * c > half {
                *b |= 1 << j;
                saved += 2 * c - half;
            }
        }
    }
    saved
}

/// [`super::split_against`] in plain Rust: each word's set bits walked.
#[allow(clippy::too_many_arguments)]
pub(super) fn split_against(
    masks: &[u16],
    base: &[u16],
    words: usize,
    steps: usize,
    plus: &mut [u32],
    plus_offs: &mut [usize],
    minus: &mut [u32],
    minus_offs: &mut [usize],
) {
    let (mut np, mut nm) = (0, 0);
    for t in 0..steps {
        let row = &masks[t * words..(t + 1) * words];
        for (w, (&m, &b)) in row.iter().zip(&base[..words]).enumerate() {
            let first = (w * LANES) as u32;
            push_bits((m & !b) as u32, first, plus, &mut np);
            push_bits((b & !m) as u32, first, minus, &mut nm);
        }
        plus_offs[t + 1] = np;
        minus_offs[t + 1] = nm;
    }
}

/// [`super::max_u32`] of a non-empty `x`.
pub(super) fn max_u32(x: &[u32]) -> u32 {
    x.iter().copied().max().unwrap_or(0)
}

/// [`super::scan_nonzero`]: returns (count, any non-zero value other than 1.0). NaN counts as
/// non-zero.
pub(super) fn scan(x: &[f32], idx: &mut [u32], vals: &mut [f32]) -> (usize, bool) {
    let mut count = 0;
    let mut nonbinary = false;
    for (j, &v) in x.iter().enumerate() {
        if v != 0.0 || v.is_nan() {
            idx[count] = j as u32;
            vals[count] = v;
            count += 1;
            nonbinary |= v != 1.0;
        }
    }
    (count, nonbinary)
}

/// [`super::scan_spikes`] (without the prefetch hints).
pub(super) fn scan_spikes(
    x: &[f32],
    mut idx: Option<&mut [u32]>,
    masks: &mut [u16],
) -> Option<usize> {
    let mut count = 0;
    masks[..x.len().div_ceil(LANES)].fill(0);
    for (j, &v) in x.iter().enumerate() {
        if v == 1.0 {
            if let Some(idx) = idx.as_deref_mut() {
                idx[count] = j as u32;
            }
            masks[j / LANES] |= 1 << (j % LANES);
            count += 1;
        } else if v != 0.0 {
            return None;
        }
    }
    Some(count)
}

/// One row of [`super::pack_spike_rows`].
pub(super) fn pack_row(row: &[f32], out: &mut [u64]) -> bool {
    out.fill(0);
    row.iter().enumerate().all(|(i, &v)| {
        if v == 1.0 {
            out[i / 64] |= 1 << (i % 64);
        }
        v == 1.0 || v == 0.0
    })
}

/// [`super::count_nonzero`].
pub(super) fn count_nonzero(x: &[f32]) -> usize {
    x.iter().filter(|&&v| v != 0.0).count()
}
