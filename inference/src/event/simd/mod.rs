//! The event engine's inner kernels, each in a portable scalar version and, on x86-64, an
//! AVX2 and an AVX-512 version chosen at run time ([`Isa::detect`]). This module checks the
//! arguments and dispatches on the [`Isa`]; the scalar reference is in `scalar`, the vector
//! kernels in `avx2` and `avx512` (with what those two share in `x86`).
//!
//! Every version computes bit-identical results: sums are formed in the order of the index
//! list (ascending neuron index), products and sums are separate IEEE operations (no fused
//! multiply-add), and the LIF update is `(β·U + I) − S·θ` evaluated left to right, exactly as
//! snnTorch's `Leaky` writes it. Buffers passed as "padded" have a length that is a multiple of
//! [`LANES`] and are read and written whole.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod conv_events;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use super::aligned::LANES;
use crate::isa::Isa;
pub(crate) use conv_events::{conv_finish, conv_gather, conv_scatter_events, ConvGeom, ConvTaps};
use joulebench_models::LifNeurons;

/// `out[j] = (Σₖ w[idx[k]·stride + j]) + bias[j]` for `j < stride`, summed in list order from 0.
///
/// `stride` is a multiple of `LANES`; `out` and `bias` hold at least `stride` values and every
/// index addresses a whole row of `w`.
pub fn accum_rows(isa: Isa, out: &mut [f32], bias: &[f32], w: &[f32], stride: usize, idx: &[u32]) {
    check_rows(out, bias, w, stride, idx);
    rows(isa, out, bias, w, stride, idx, None);
}

/// `out[j] = (Σₖ vals[k]·w[idx[k]·stride + j]) + bias[j]`: multiply, then add, in list order.
pub fn accum_rows_scaled(
    isa: Isa,
    out: &mut [f32],
    bias: &[f32],
    w: &[f32],
    stride: usize,
    idx: &[u32],
    vals: &[f32],
) {
    check_rows(out, bias, w, stride, idx);
    assert!(vals.len() >= idx.len(), "one value per index");
    rows(isa, out, bias, w, stride, idx, Some(&vals[..idx.len()]));
}

/// [`accum_rows`] (`vals` `None`) or [`accum_rows_scaled`]; the caller checked the sizes.
fn rows(
    isa: Isa,
    out: &mut [f32],
    bias: &[f32],
    w: &[f32],
    stride: usize,
    idx: &[u32],
    vals: Option<&[f32]>,
) {
    #[cfg(target_arch = "x86_64")]
    let (o, b, wp) = (out.as_mut_ptr(), bias.as_ptr(), w.as_ptr());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the ISA was checked supported when the engine chose it; bounds checked.
        Isa::Avx512 => unsafe { avx512::accum_rows(o, b, wp, stride, idx, vals) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { avx2::accum_rows(o, b, wp, stride, idx, vals) },
        _ => scalar::accum_rows(out, bias, w, stride, idx, vals),
    }
}

/// The currents of every step of a layer whose input spikes are all known in advance (the
/// network's input layer): step `t` has the presynaptic indices `idx[offsets[t]..offsets[t + 1]]`
/// (ascending). Writes `out[t·stride + o] = (Σ_k w[idx[k]·stride + o]) + bias[o]` for every
/// step — per step exactly the sum [`accum_rows`] forms, in the same order. The AVX-512 kernel
/// walks the columns in narrow blocks and, for each block, all steps, so the block's slices of
/// the active weight rows stay in the L1 cache across steps instead of being streamed from L2
/// once per spike.
pub fn accum_rows_steps(
    isa: Isa,
    out: &mut [f32],
    bias: &[f32],
    w: &[f32],
    stride: usize,
    idx: &[u32],
    offsets: &[usize],
) {
    let steps = offsets.len().saturating_sub(1);
    assert!(
        out.len() >= steps * stride && offsets.windows(2).all(|p| p[0] <= p[1]),
        "one output row per step, offsets ascending"
    );
    if steps == 0 {
        return;
    }
    let all = &idx[..offsets.last().copied().unwrap_or(0)];
    check_rows(out, bias, w, stride, all);
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            // Every index the kernel reads must address a whole row (checked in full: the
            // kernel does unchecked loads).
            let rows = w.len() / stride.max(1);
            let used = &idx[offsets[0]..offsets[steps]];
            assert!(
                used.iter()
                    .copied()
                    .max()
                    .is_none_or(|m| (m as usize) < rows),
                "spike index beyond the weight rows"
            );
            // SAFETY: supported ISA; indices checked just above, output length checked first.
            unsafe {
                avx512::accum_rows_steps(
                    out.as_mut_ptr(),
                    bias.as_ptr(),
                    w.as_ptr(),
                    stride,
                    all,
                    offsets,
                )
            }
        }
        _ => {
            for (t, p) in offsets.windows(2).enumerate() {
                accum_rows(
                    isa,
                    &mut out[t * stride..],
                    bias,
                    w,
                    stride,
                    &idx[p[0]..p[1]],
                );
            }
        }
    }
}

fn check_rows(out: &[f32], bias: &[f32], w: &[f32], stride: usize, idx: &[u32]) {
    assert!(stride.is_multiple_of(LANES), "row stride must be padded");
    assert!(
        out.len() >= stride && bias.len() >= stride,
        "output and bias hold a row"
    );
    let rows = w.len() / stride.max(1);
    // Indices come in ascending order from the engine's own scans; check the extremes.
    if let (Some(&first), Some(&last)) = (idx.first(), idx.last()) {
        assert!(
            (first.max(last) as usize) < rows,
            "spike index beyond the weight rows"
        );
        debug_assert!(idx.iter().all(|&i| (i as usize) < rows));
    }
}

/// One LIF step over padded buffers: `U ← (β·U + I) − S·θ`, `S ← [U > θ]` (as 0.0/1.0).
/// Writes the indices `< n` that spiked, ascending, to `spikes` and returns their number.
#[allow(clippy::too_many_arguments)]
pub fn lif_step(
    isa: Isa,
    u: &mut [f32],
    s: &mut [f32],
    cur: &[f32],
    beta: f32,
    theta: f32,
    n: usize,
    spikes: &mut [u32],
) -> usize {
    let len = u.len();
    assert!(
        len.is_multiple_of(LANES)
            && s.len() == len
            && cur.len() >= len
            && n <= len
            && spikes.len() >= n
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::lif(u, s, cur, beta, theta, n, spikes) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { avx2::lif(u, s, cur, beta, theta, n, spikes) },
        _ => scalar::lif(u, s, cur, beta, theta, n, spikes),
    }
}

/// [`lif_step`] for a layer with per-neuron values or another reset than subtraction:
/// `U ← n.update(U, S, I)` ([`LifNeurons::update`]), `S ← [U > θ_j]`, over the first
/// `n.len()` entries (the padding stays zero). Writes the indices that spiked, ascending, to
/// `spikes` and returns their number. The same arithmetic on every instruction set (AVX-512,
/// AVX2 and the scalar path give identical results).
pub fn lif_step_neurons(
    isa: Isa,
    u: &mut [f32],
    s: &mut [f32],
    cur: &[f32],
    n: &LifNeurons,
    spikes: &mut [u32],
) -> usize {
    let len = n.len();
    assert!(
        u.len() >= len
            && s.len() == u.len()
            && cur.len() >= len
            && spikes.len() >= len
            && n.threshold.len() == len
            && (n.v_reset.is_empty() || n.v_reset.len() == len)
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::lif_neurons(u, s, cur, n, spikes) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { avx2::lif_neurons(u, s, cur, n, spikes) },
        _ => scalar::lif_neurons(u, s, cur, n, spikes),
    }
}

/// Floats per row of one column block of a blocked weight ([`lif_layer_steps`]): `nb · LANES`.
///
/// The blocked layout of a fully connected weight with padded output stride `stride` and block
/// width `nb` vectors (`stride` a multiple of `nb · LANES`) stores column block `k` of every row
/// contiguously: `wb[(k · in_f + i) · nb · LANES + c] = w[i · stride + k · nb · LANES + c]`.
/// A column block's rows are then one contiguous array (no cache-set conflicts from a
/// power-of-two row stride, sequential prefetch).
pub(crate) fn blocked_row_len(nb: usize) -> usize {
    nb * LANES
}

/// A fully connected layer followed by a LIF layer, its weight in the blocked layout of
/// [`blocked_row_len`], for [`lif_layer_steps`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockedLayer<'a> {
    /// Blocked weight: `in_f` rows per column block, 64-byte aligned.
    pub wb: &'a [f32],
    pub in_f: usize,
    /// Padded output length (a multiple of `nb · LANES`).
    pub stride: usize,
    /// Column block width in vectors: 1, 2 or 4.
    pub nb: usize,
    /// Bias, `stride` values (padding zero).
    pub bias: &'a [f32],
    pub beta: f32,
    pub theta: f32,
    /// Output neurons (`≤ stride`); the rest of `stride` is padding.
    pub n: usize,
}

/// What [`lif_layer_steps`] adds to the readout after every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepReadout {
    None,
    /// The membranes `U`.
    Membrane,
    /// The spikes `S` as 0.0 / 1.0.
    Spikes,
}

/// The input spikes of [`lif_layer_steps`]' steps: step `t` adds the weight rows of
/// `idx[offsets[t]..offsets[t + 1]]` and, with `neg = Some((nidx, noffsets))`, subtracts those
/// of `nidx[noffsets[t]..noffsets[t + 1]]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepLists<'a> {
    pub idx: &'a [u32],
    pub offsets: &'a [usize],
    pub neg: Option<(&'a [u32], &'a [usize])>,
}

/// What [`lif_layer_steps`] updates and writes: the membranes `u` and previous spikes `spk`
/// (bit masks), each step's spike masks, non-zero current counts and readout sums.
#[derive(Debug)]
pub(crate) struct StepsOut<'a> {
    pub u: &'a mut [f32],
    pub spk: &'a mut [u16],
    pub masks: &'a mut [u16],
    pub nz: &'a mut [u32],
    /// Spikes per step (among the first `n` neurons), added to.
    pub fired: &'a mut [u32],
    pub readout: &'a mut [f32],
    pub ro: StepReadout,
}

/// A fully connected layer and its LIF over several steps whose input spike lists are all
/// known: step `t` has the presynaptic indices `idx[offsets[t]..offsets[t + 1]]` (ascending).
/// Step after step: the currents `I[o] = (Σ_k W[idx[k]][o]) + bias[o]` — from 0, in list
/// order, then the bias: exactly the sum of [`accum_rows`]; with `neg = (nidx, noffsets)`,
/// `I[o] = (Σ_k W[idx[k]][o] − Σ_k W[nidx[k]][o]) + bias[o]`, the subtracted rows
/// (`nidx[noffsets[t]..noffsets[t + 1]]`) after the added ones — then the LIF update of
/// [`lif_step`], `U ← (β·U + I) − S·θ`, `S ← [U > θ]`, where the previous step's spikes `S`
/// are held as bit masks `spk` (`u16` word `w`, bit `j`: neuron `16·w + j`, padding included).
/// Writes each step's spikes as masks `masks[t·W + w]` (`W = stride / 16`; bits of neurons
/// `≥ n` cleared), adds each step's number of non-zero currents among the first `n` (NaN
/// counts) to `nz[t]`, and adds each step's `U` or `S` to `readout[..stride]` per `ro`.
///
/// The AVX-512 kernel walks the column blocks and, per block, every step (`S` steps
/// interleaved over their common list length), with the block's membranes and spikes in
/// registers: the block's weight rows stay in L1 across the steps and no current is stored.
pub(crate) fn lif_layer_steps(
    isa: Isa,
    l: &BlockedLayer<'_>,
    lists: &StepLists<'_>,
    out: StepsOut<'_>,
) {
    let StepLists { idx, offsets, neg } = *lists;
    let steps = offsets.len().saturating_sub(1);
    let bw = blocked_row_len(l.nb);
    let words = l.stride / LANES;
    assert!(
        matches!(l.nb, 1 | 2 | 4)
            && l.stride.is_multiple_of(bw)
            && l.n <= l.stride
            && l.wb.len() >= l.in_f * l.stride
            && (l.wb.as_ptr() as usize).is_multiple_of(64)
            && l.bias.len() >= l.stride
            && out.u.len() >= l.stride
            && out.spk.len() >= words
            && out.masks.len() >= steps * words
            && out.nz.len() >= steps
            && out.fired.len() >= steps
            && (out.ro == StepReadout::None || out.readout.len() >= l.stride)
            && offsets.windows(2).all(|p| p[0] <= p[1])
            && offsets.last().is_none_or(|&e| e <= idx.len())
            && neg.is_none_or(|(ni, no)| no.len() == offsets.len()
                && no.windows(2).all(|p| p[0] <= p[1])
                && no.last().is_none_or(|&e| e <= ni.len())),
        "blocked 64-byte aligned weight, bias, state, outputs and ascending offsets"
    );
    if steps == 0 {
        return;
    }
    // Every index the kernel reads must address a row (checked in full: unchecked loads).
    let rows_ok = |idx: &[u32], offsets: &[usize]| {
        max_u32(isa, &idx[offsets[0]..offsets[steps]]).is_none_or(|m| (m as usize) < l.in_f)
    };
    assert!(
        rows_ok(idx, offsets) && neg.is_none_or(|(ni, no)| rows_ok(ni, no)),
        "spike index beyond the weight rows"
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA (checked when chosen); every index, offset and length checked.
        Isa::Avx512 => unsafe {
            avx512::lif_layer(
                l,
                idx.as_ptr(),
                offsets,
                neg.map(|(ni, no)| (ni.as_ptr(), no.as_ptr())),
                out.u.as_mut_ptr(),
                out.spk.as_mut_ptr(),
                out.masks.as_mut_ptr(),
                out.nz.as_mut_ptr(),
                out.fired.as_mut_ptr(),
                out.readout.as_mut_ptr(),
                out.ro,
            )
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA (checked when chosen); every index, offset and length checked;
        // weight rows 32-byte aligned (64-byte aligned blocks of `nb · 64` bytes).
        Isa::Avx2 => unsafe {
            let args = (
                out.u.as_mut_ptr(),
                out.spk.as_mut_ptr(),
                out.masks.as_mut_ptr(),
                out.nz.as_mut_ptr(),
                out.fired.as_mut_ptr(),
                out.readout.as_mut_ptr(),
            );
            match l.nb {
                1 => avx2::lif_layer::<1>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
                2 => avx2::lif_layer::<2>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
                _ => avx2::lif_layer::<4>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
            }
        },
        _ => scalar::lif_layer(l, lists, out),
    }
}

/// Decodes per-step spike masks (`masks[t·words..(t + 1)·words]`, as [`lif_layer_steps`]
/// writes them) into index lists: step `t`'s neurons, ascending, are
/// `list[offs[t]..offs[t + 1]]`. `list` must hold `steps · words · 16` entries and `offs`
/// `steps + 1`.
pub(crate) fn masks_to_lists(
    isa: Isa,
    masks: &[u16],
    words: usize,
    steps: usize,
    list: &mut [u32],
    offs: &mut [usize],
) {
    assert!(
        masks.len() >= steps * words && list.len() >= steps * words * LANES && offs.len() > steps
    );
    offs[0] = 0;
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::masks_to_lists(masks, words, steps, list, offs) },
        _ => scalar::masks_to_lists(masks, words, steps, list, offs),
    }
}

/// The inputs set in more than half of `steps` bit-mask rows (input `16·w + j`: bit `j` of
/// `masks[t·words + w]` at step `t`), those with `2c > steps + 1` for their count `c`, as
/// bits to `base[..words]`. Returns `Σ (2c − steps − 1)` over them: the row additions a
/// baseline of them saves (see `super::baseline`).
pub(crate) fn frequent_inputs(
    isa: Isa,
    masks: &[u16],
    words: usize,
    steps: usize,
    base: &mut [u16],
) -> u64 {
    assert!(masks.len() >= steps * words && base.len() >= words);
    assert!(
        steps < (i32::MAX / 2) as usize,
        "step count fits the counters"
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::frequent_inputs(masks, words, steps, base) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx2 => unsafe { avx2::frequent_inputs(masks, words, steps, base) },
        _ => scalar::frequent_inputs(masks, words, steps, base),
    }
}

/// Splits `steps` rows of spike masks (`masks[t·words..(t + 1)·words]`, bit `j` of word `w`:
/// input `16·w + j`) against the baseline bits `base[..words]`: step `t`'s inputs that spike
/// outside the baseline, ascending, are `plus[plus_offs[t]..plus_offs[t + 1]]`, the
/// baseline's inputs silent at step `t` are `minus[minus_offs[t]..minus_offs[t + 1]]`. `plus`
/// and `minus` must hold `steps · words · 16` entries, the offsets `steps + 1`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn split_against(
    isa: Isa,
    masks: &[u16],
    base: &[u16],
    words: usize,
    steps: usize,
    plus: &mut [u32],
    plus_offs: &mut [usize],
    minus: &mut [u32],
    minus_offs: &mut [usize],
) {
    let room = steps * words * LANES;
    assert!(
        masks.len() >= steps * words
            && base.len() >= words
            && plus.len() >= room
            && minus.len() >= room
            && plus_offs.len() > steps
            && minus_offs.len() > steps
    );
    plus_offs[0] = 0;
    minus_offs[0] = 0;
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe {
            avx512::split_against(
                masks, base, words, steps, plus, plus_offs, minus, minus_offs,
            )
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA.
        Isa::Avx2 => unsafe {
            avx2::split_against(
                masks, base, words, steps, plus, plus_offs, minus, minus_offs,
            )
        },
        _ => scalar::split_against(
            masks, base, words, steps, plus, plus_offs, minus, minus_offs,
        ),
    }
}

/// Writes the indices of the set bits of `bits` (bit `j` of word `w` is index `64·w + j`),
/// ascending, to `idx`; returns their number. `idx` must hold `64 · bits.len()` entries (the
/// AVX-512 kernel stores whole vectors).
pub(crate) fn decode_bits(isa: Isa, bits: &[u64], idx: &mut [u32]) -> usize {
    assert!(idx.len() >= 64 * bits.len(), "room for every bit");
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; length checked above.
        Isa::Avx512 => unsafe { avx512::decode_bits(bits, idx) },
        _ => super::spikes::decode_row(bits, idx),
    }
}

/// The largest value of `x`, if any.
pub(crate) fn max_u32(isa: Isa, x: &[u32]) -> Option<u32> {
    if x.is_empty() {
        return None;
    }
    Some(match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA.
        Isa::Avx512 => unsafe { avx512::max_u32(x) },
        _ => scalar::max_u32(x),
    })
}

/// Hints the CPU to bring `x` into the cache (a no-op where there is no prefetch instruction).
/// Touches no data and cannot fault.
#[inline]
pub fn prefetch(x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = x.as_ptr() as *const i8;
        let bytes = std::mem::size_of_val(x);
        let mut o = 0;
        while o < bytes {
            // SAFETY: prefetch is a hint; the address lies inside `x`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(o)) };
            o += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// What [`scan_nonzero`] found in an input slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Number of non-zero values written.
    pub count: usize,
    /// True when every non-zero value is exactly 1.0 (a spike).
    pub binary: bool,
    /// Position of the first NaN or infinity, if any.
    pub non_finite: Option<usize>,
}

/// Lists the non-zero entries of `x` (ascending position) into `idx` / `vals`.
pub fn scan_nonzero(isa: Isa, x: &[f32], idx: &mut [u32], vals: &mut [f32]) -> Scan {
    assert!(idx.len() >= x.len() && vals.len() >= x.len());
    let (count, nonbinary) = match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::scan(x, idx, vals) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { avx2::scan(x, idx, vals) },
        _ => scalar::scan(x, idx, vals),
    };
    let non_finite = if nonbinary {
        idx[..count]
            .iter()
            .zip(&vals[..count])
            .find(|(_, v)| !v.is_finite())
            .map(|(&i, _)| i as usize)
    } else {
        None
    };
    Scan {
        count,
        binary: !nonbinary,
        non_finite,
    }
}

/// Lists the positions of the 1.0s of `x` (ascending) into `idx` (when given) and returns
/// their number, or `None` as soon as a value is neither 0.0 nor 1.0 (NaN included); writes
/// them as bits to `masks` (bit `j` of word `w`: position `16·w + j`; `⌈x.len() / 16⌉` words, padding
/// bits zero). Also hints the CPU to fetch `ahead` (the slice to be scanned a few calls
/// later), one cache line per vector scanned, so a strided stream of rows arrives steadily
/// from memory; the result does not depend on `ahead`.
pub(crate) fn scan_spikes(
    isa: Isa,
    x: &[f32],
    ahead: &[f32],
    idx: Option<&mut [u32]>,
    masks: &mut [u16],
) -> Option<usize> {
    assert!(
        idx.as_ref().is_none_or(|i| i.len() >= x.len()) && masks.len() >= x.len().div_ceil(LANES)
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { avx512::scan_spikes(x, ahead, idx, masks) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx2 => unsafe { avx2::scan_spikes(x, ahead, idx, masks) },
        _ => scalar::scan_spikes(x, idx, masks),
    }
}

/// Packs rows of `n` floats that are all exactly 0.0 or 1.0 into bits (row `r`, value `i` →
/// bit `i % 64` of `out[r · ⌈n/64⌉ + i / 64]`, padding bits zero). Returns false as soon as a
/// value is anything else (NaN included); `out` is then partly written.
pub(crate) fn pack_spike_rows(isa: Isa, x: &[f32], n: usize, out: &mut [u64]) -> bool {
    let words = n.div_ceil(64);
    if n == 0 {
        return true;
    }
    assert!(x.len().is_multiple_of(n) && out.len() >= x.len() / n * words);
    for (row, o) in x.chunks_exact(n).zip(out.chunks_exact_mut(words)) {
        let ok = match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: supported ISA; `o` holds `⌈row.len() / 64⌉` words.
            Isa::Avx512 => unsafe { avx512::pack_row(row, o) },
            _ => scalar::pack_row(row, o),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Number of non-zero values in `x`.
pub fn count_nonzero(isa: Isa, x: &[f32]) -> usize {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA.
        Isa::Avx512 => unsafe { avx512::count_nonzero(x) },
        _ => scalar::count_nonzero(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_scans_agree_across_instruction_sets() {
        // Rows of several lengths (partial last word, several words), with and without lists;
        // any value other than 0 or 1 (NaN, 0.5, −1) refuses the row.
        let mut seed = 7u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for n in [1usize, 15, 16, 17, 40, 784] {
            let x: Vec<f32> = (0..n).map(|_| (next() % 3 == 0) as u32 as f32).collect();
            let want: Vec<u32> = (0..n as u32).filter(|&j| x[j as usize] == 1.0).collect();
            let mut want_masks = vec![0u16; n.div_ceil(LANES)];
            for &j in &want {
                want_masks[j as usize / LANES] |= 1 << (j as usize % LANES);
            }
            for isa in Isa::supported() {
                for lists in [true, false] {
                    let mut idx = vec![u32::MAX; n];
                    let mut masks = vec![0xffffu16; n.div_ceil(LANES)];
                    let got = scan_spikes(isa, &x, &[], lists.then_some(&mut idx[..]), &mut masks);
                    assert_eq!(got, Some(want.len()), "{isa:?} n={n}");
                    assert_eq!(masks, want_masks, "{isa:?} n={n}");
                    if lists {
                        assert_eq!(idx[..want.len()], want[..], "{isa:?} n={n}");
                    }
                }
                for bad in [f32::NAN, 0.5, -1.0] {
                    let mut y = x.clone();
                    y[n / 2] = bad;
                    let mut idx = vec![0; n];
                    let mut masks = vec![0; n.div_ceil(LANES)];
                    assert_eq!(
                        scan_spikes(isa, &y, &[], Some(&mut idx), &mut masks),
                        None,
                        "{isa:?} n={n} value {bad}"
                    );
                }
            }
        }
    }
}
