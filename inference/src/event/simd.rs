//! The event engine's inner kernels, each in a portable scalar version and, on x86-64, an
//! AVX2 and an AVX-512 version chosen at run time ([`Isa::detect`]).
//!
//! Every version computes bit-identical results: sums are formed in the order of the index
//! list (ascending neuron index), products and sums are separate IEEE operations (no fused
//! multiply-add), and the LIF update is `(β·U + I) − S·θ` evaluated left to right, exactly as
//! snnTorch's `Leaky` writes it. Buffers passed as "padded" have a length that is a multiple of
//! [`LANES`] and are read and written whole.

use serde::{Deserialize, Serialize};

use super::aligned::LANES;

/// Instruction set of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isa {
    /// Plain Rust loops (whatever the compiler makes of them for the baseline target).
    Scalar,
    /// 256-bit AVX2 (+FMA detected alongside; products and sums stay separate for exactness).
    Avx2,
    /// 512-bit AVX-512F and BW (with POPCNT and BMI1, which every AVX-512 CPU has).
    Avx512,
}

impl Isa {
    /// Every instruction set this CPU can run, narrowest first (for comparing them).
    pub fn supported() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|i| i.is_supported())
            .collect()
    }

    /// The widest instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if Isa::Avx512.is_supported() {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Scalar
    }

    /// Whether this CPU can run kernels of this instruction set.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("popcnt")
                    && std::arch::is_x86_feature_detected!("bmi1")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    pub fn parse(s: &str) -> Option<Isa> {
        match s {
            "scalar" => Some(Isa::Scalar),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }
}

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
        Isa::Avx512 => unsafe { x86::avx512::accum_rows(o, b, wp, stride, idx, vals) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::avx2::accum_rows(o, b, wp, stride, idx, vals) },
        _ => scalar_rows(out, bias, w, stride, idx, vals),
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
                x86::steps_avx512(
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

fn scalar_rows(
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
        Isa::Avx512 => unsafe { x86::avx512::lif(u, s, cur, beta, theta, n, spikes) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::avx2::lif(u, s, cur, beta, theta, n, spikes) },
        _ => {
            let mut count = 0;
            for j in 0..len {
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
            x86::lif_layer_avx512(
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
                1 => x86::lif_layer_avx2::<1>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
                2 => x86::lif_layer_avx2::<2>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
                _ => x86::lif_layer_avx2::<4>(
                    l, idx, offsets, neg, args.0, args.1, args.2, args.3, args.4, args.5, out.ro,
                ),
            }
        },
        _ => lif_layer_portable(l, lists, out),
    }
}

/// [`lif_layer_steps`] in plain Rust, block by block like the AVX-512 kernel: per column
/// block (`nb · 16` neurons) and step, the block's currents summed row by row over the lists
/// (the same order per neuron as every other path), then the LIF update of one 16-neuron word
/// at a time with its spike bits in a register.
fn lif_layer_portable(l: &BlockedLayer<'_>, lists: &StepLists<'_>, out: StepsOut<'_>) {
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
fn push_bits(mut bits: u32, first: u32, out: &mut [u32], n: &mut usize) {
    while bits != 0 {
        out[*n] = first + bits.trailing_zeros();
        *n += 1;
        bits &= bits - 1;
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
        Isa::Avx512 => unsafe { x86::masks_to_lists_avx512(masks, words, steps, list, offs) },
        _ => {
            let mut c = 0;
            for t in 0..steps {
                for (w, &m) in masks[t * words..(t + 1) * words].iter().enumerate() {
                    push_bits(m as u32, (w * LANES) as u32, list, &mut c);
                }
                offs[t + 1] = c;
            }
        }
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
        Isa::Avx512 => unsafe { x86::frequent_inputs_avx512(masks, words, steps, base) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx2 => unsafe { x86::frequent_inputs_avx2(masks, words, steps, base) },
        _ => {
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
            x86::split_against_avx512(
                masks, base, words, steps, plus, plus_offs, minus, minus_offs,
            )
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA.
        Isa::Avx2 => unsafe {
            x86::split_against_avx2(
                masks, base, words, steps, plus, plus_offs, minus, minus_offs,
            )
        },
        _ => split_against_scalar(
            masks, base, words, steps, plus, plus_offs, minus, minus_offs,
        ),
    }
}

/// [`split_against`] in plain Rust: each word's set bits walked.
#[allow(clippy::too_many_arguments)]
fn split_against_scalar(
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

/// Writes the indices of the set bits of `bits` (bit `j` of word `w` is index `64·w + j`),
/// ascending, to `idx`; returns their number. `idx` must hold `64 · bits.len()` entries (the
/// AVX-512 kernel stores whole vectors).
pub(crate) fn decode_bits(isa: Isa, bits: &[u64], idx: &mut [u32]) -> usize {
    assert!(idx.len() >= 64 * bits.len(), "room for every bit");
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; length checked above.
        Isa::Avx512 => unsafe { x86::decode_bits_avx512(bits, idx) },
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
        Isa::Avx512 => unsafe { x86::max_u32_avx512(x) },
        _ => x.iter().copied().max().unwrap_or(0),
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
        Isa::Avx512 => unsafe { x86::avx512::scan(x, idx, vals) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::avx2::scan(x, idx, vals) },
        _ => {
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
    mut idx: Option<&mut [u32]>,
    masks: &mut [u16],
) -> Option<usize> {
    assert!(
        idx.as_ref().is_none_or(|i| i.len() >= x.len()) && masks.len() >= x.len().div_ceil(LANES)
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx512 => unsafe { x86::scan_spikes_avx512(x, ahead, idx, masks) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; lengths checked above.
        Isa::Avx2 => unsafe { x86::scan_spikes_avx2(x, ahead, idx, masks) },
        _ => {
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
            Isa::Avx512 => unsafe { x86::pack_row_avx512(row, o) },
            _ => {
                o.fill(0);
                row.iter().enumerate().all(|(i, &v)| {
                    if v == 1.0 {
                        o[i / 64] |= 1 << (i % 64);
                    }
                    v == 1.0 || v == 0.0
                })
            }
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
        Isa::Avx512 => unsafe { x86::count_nonzero_avx512(x) },
        _ => x.iter().filter(|&&v| v != 0.0).count(),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    macro_rules! dispatch_blocks {
        ($f:ident, $nb:expr, $($n:literal)+; $args:tt) => {
            match $nb { $($n => $f::<$n> $args,)+ _ => unreachable!("block size") }
        };
    }

    /// Generates one instruction set's twin kernels as `mod NAME` under its `#[target_feature]`:
    /// `accum_rows` (with `block`, `block_scaled`), `lif` and `scan` — see [`super::accum_rows`],
    /// [`super::lif_step`], [`super::scan_nonzero`]. `lanes`: f32 lanes per vector; column
    /// blocks of at most `max_block` vectors (`blocks`: the literals `1..=max_block`). The vector
    /// operations (`load`/`store` aligned, `loadu`/`storeu` not; `add`, `sub`, `mul` separate:
    /// no fused multiply-add) are the ISA's intrinsics. `cmp::<P>(a, b)` compares to a lane
    /// mask, `ones_where(mask, one)` is 1.0 in its set lanes and +0.0 elsewhere, `mask_bits`
    /// turns a mask into an integer (lane `j` → bit `j`), and `compact(ip, vp, count, xp, o,
    /// nz, xv)` writes the lanes of bits `nz` of the vector `xv` loaded from `xp + o` —
    /// positions `o + j` to `ip`, values to `vp`, in lane order from `count` — returning how
    /// many.
    macro_rules! twin_kernels {
        (
            $(#[$attr:meta])*
            mod $m:ident {
                lanes: $w:literal,
                max_block: $maxb:literal,
                blocks: [$($nb:literal)+],
                zero: $zero:path,
                splat: $splat:path,
                load: $load:path,
                store: $store:path,
                loadu: $loadu:path,
                storeu: $storeu:path,
                add: $add:path,
                sub: $sub:path,
                mul: $mul:path,
                cmp: $cmp:ident,
                ones_where: $ones_where:path,
                mask_bits: $mask_bits:path,
                compact: $compact:path $(,)?
            }
        ) => {
            pub(super) mod $m {
                #[allow(unused_imports)]
                use super::*;

                /// [`super::super::accum_rows`] and [`super::super::accum_rows_scaled`]: column
                /// blocks of up to `max_block` vectors, each summed over the whole list.
                $(#[$attr])*
                pub(crate) unsafe fn accum_rows(
                    out: *mut f32,
                    bias: *const f32,
                    w: *const f32,
                    stride: usize,
                    idx: &[u32],
                    vals: Option<&[f32]>,
                ) {
                    let nvec = stride / $w;
                    let mut v0 = 0;
                    while v0 < nvec {
                        let nb = (nvec - v0).min($maxb);
                        let off = v0 * $w;
                        match vals {
                            None => dispatch_blocks!(block, nb, $($nb)+;
                                (out.add(off), bias.add(off), w.add(off), stride, idx)),
                            Some(vals) => dispatch_blocks!(block_scaled, nb, $($nb)+;
                                (out.add(off), bias.add(off), w.add(off), stride, idx, vals)),
                        }
                        v0 += nb;
                    }
                }

                $(#[$attr])*
                #[inline]
                unsafe fn block<const NB: usize>(
                    out: *mut f32,
                    bias: *const f32,
                    w: *const f32,
                    stride: usize,
                    idx: &[u32],
                ) {
                    let mut acc = [$zero(); NB];
                    for &i in idx {
                        let row = w.add(i as usize * stride);
                        for (k, a) in acc.iter_mut().enumerate() {
                            *a = $add(*a, $load(row.add(k * $w)));
                        }
                    }
                    for (k, a) in acc.iter().enumerate() {
                        $store(out.add(k * $w), $add(*a, $load(bias.add(k * $w))));
                    }
                }

                $(#[$attr])*
                #[inline]
                unsafe fn block_scaled<const NB: usize>(
                    out: *mut f32,
                    bias: *const f32,
                    w: *const f32,
                    stride: usize,
                    idx: &[u32],
                    vals: &[f32],
                ) {
                    let mut acc = [$zero(); NB];
                    for (&i, &v) in idx.iter().zip(vals) {
                        let row = w.add(i as usize * stride);
                        let vv = $splat(v);
                        for (k, a) in acc.iter_mut().enumerate() {
                            *a = $add(*a, $mul(vv, $load(row.add(k * $w))));
                        }
                    }
                    for (k, a) in acc.iter().enumerate() {
                        $store(out.add(k * $w), $add(*a, $load(bias.add(k * $w))));
                    }
                }

                /// [`super::super::lif_step`].
                $(#[$attr])*
                pub(crate) unsafe fn lif(
                    u: &mut [f32],
                    s: &mut [f32],
                    cur: &[f32],
                    beta: f32,
                    theta: f32,
                    n: usize,
                    spikes: &mut [u32],
                ) -> usize {
                    let bv = $splat(beta);
                    let tv = $splat(theta);
                    let one = $splat(1.0);
                    let mut count = 0;
                    let (up, sp, cp) = (u.as_mut_ptr(), s.as_mut_ptr(), cur.as_ptr());
                    let out = spikes.as_mut_ptr();
                    for v in 0..u.len() / $w {
                        let o = v * $w;
                        let un = $sub(
                            $add($mul(bv, $loadu(up.add(o))), $loadu(cp.add(o))),
                            $mul($loadu(sp.add(o)), tv),
                        );
                        $storeu(up.add(o), un);
                        let m = $cmp::<_CMP_GT_OQ>(un, tv);
                        $storeu(sp.add(o), $ones_where(m, one));
                        let mut bits = $mask_bits(m) as u32;
                        if o + $w > n {
                            bits &= if n > o { (1u32 << (n - o)) - 1 } else { 0 };
                        }
                        while bits != 0 {
                            *out.add(count) = (o as u32) + bits.trailing_zeros();
                            count += 1;
                            bits &= bits - 1;
                        }
                    }
                    count
                }

                /// [`super::super::scan_nonzero`]: returns (count, any non-zero value other than
                /// 1.0). NaN counts as non-zero.
                $(#[$attr])*
                pub(crate) unsafe fn scan(
                    x: &[f32],
                    idx: &mut [u32],
                    vals: &mut [f32],
                ) -> (usize, bool) {
                    let zero = $zero();
                    let one = $splat(1.0);
                    let mut count = 0;
                    let mut nonbinary = false;
                    let xp = x.as_ptr();
                    let full = x.len() / $w * $w;
                    let (ip, vp) = (idx.as_mut_ptr(), vals.as_mut_ptr());
                    let mut o = 0;
                    while o < full {
                        let xv = $loadu(xp.add(o));
                        let nz = $mask_bits($cmp::<_CMP_NEQ_UQ>(xv, zero));
                        if nz != 0 {
                            let ones = $mask_bits($cmp::<_CMP_EQ_OQ>(xv, one));
                            nonbinary |= (nz & !ones) != 0;
                            count += $compact(ip, vp, count, xp, o, nz, xv);
                        }
                        o += $w;
                    }
                    for (j, &v) in x.iter().enumerate().skip(full) {
                        if v != 0.0 || v.is_nan() {
                            *ip.add(count) = j as u32;
                            *vp.add(count) = v;
                            count += 1;
                            nonbinary |= v != 1.0;
                        }
                    }
                    (count, nonbinary)
                }
            }
        };
    }

    twin_kernels! {
        #[target_feature(enable = "avx512f,popcnt,bmi1")]
        mod avx512 {
            lanes: 16,
            max_block: 16,
            blocks: [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16],
            zero: _mm512_setzero_ps,
            splat: _mm512_set1_ps,
            load: _mm512_load_ps,
            store: _mm512_store_ps,
            loadu: _mm512_loadu_ps,
            storeu: _mm512_storeu_ps,
            add: _mm512_add_ps,
            sub: _mm512_sub_ps,
            mul: _mm512_mul_ps,
            cmp: _mm512_cmp_ps_mask,
            ones_where: _mm512_maskz_mov_ps,
            mask_bits: std::convert::identity,
            compact: compact512,
        }
    }

    twin_kernels! {
        #[target_feature(enable = "avx2,fma")]
        mod avx2 {
            lanes: 8,
            max_block: 12,
            blocks: [1 2 3 4 5 6 7 8 9 10 11 12],
            zero: _mm256_setzero_ps,
            splat: _mm256_set1_ps,
            load: _mm256_load_ps,
            store: _mm256_store_ps,
            loadu: _mm256_loadu_ps,
            storeu: _mm256_storeu_ps,
            add: _mm256_add_ps,
            sub: _mm256_sub_ps,
            mul: _mm256_mul_ps,
            cmp: _mm256_cmp_ps,
            ones_where: _mm256_and_ps,
            mask_bits: _mm256_movemask_ps,
            compact: compact256,
        }
    }

    /// Register-form compress, then a full-width store: `count ≤ o`, so the 16 lanes written at
    /// `count` stay below `o + 16 ≤ x.len() ≤ idx.len(), vals.len()` (see `twin_kernels!`'s
    /// `scan`).
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    unsafe fn compact512(
        ip: *mut u32,
        vp: *mut f32,
        count: usize,
        _xp: *const f32,
        o: usize,
        nz: __mmask16,
        xv: __m512,
    ) -> usize {
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let pos = _mm512_add_epi32(lane, _mm512_set1_epi32(o as i32));
        _mm512_storeu_si512(
            ip.add(count) as *mut _,
            _mm512_maskz_compress_epi32(nz, pos),
        );
        _mm512_storeu_ps(vp.add(count), _mm512_maskz_compress_ps(nz, xv));
        nz.count_ones() as usize
    }

    /// One set bit at a time, the value read back from `xp`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn compact256(
        ip: *mut u32,
        vp: *mut f32,
        count: usize,
        xp: *const f32,
        o: usize,
        nz: i32,
        _xv: __m256,
    ) -> usize {
        let mut c = count;
        let mut bits = nz as u32;
        while bits != 0 {
            let j = o + bits.trailing_zeros() as usize;
            *ip.add(c) = j as u32;
            *vp.add(c) = *xp.add(j);
            c += 1;
            bits &= bits - 1;
        }
        c - count
    }

    /// Column blocks of `NB` vectors; per block every step in turn, `S` steps interleaved (their
    /// common length in lockstep, then each one's rest) so that `NB·S` independent sums hide the
    /// add latency while the block's row slices (`NB` cache lines each) stay in L1.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn steps_avx512(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        offsets: &[usize],
    ) {
        let nvec = stride / 16;
        let mut v0 = 0;
        while v0 < nvec {
            let nb = (nvec - v0).min(STEPS_NB);
            let off = v0 * 16;
            dispatch_blocks!(sblock512, nb, 1 2; (out.add(off), bias.add(off), w.add(off), stride, idx, offsets));
            v0 += nb;
        }
    }

    const STEPS_NB: usize = 2;
    const STEPS_S: usize = 3;

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    unsafe fn sblock512<const NB: usize>(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        offsets: &[usize],
    ) {
        const S: usize = STEPS_S;
        let mut b = [_mm512_setzero_ps(); NB];
        for (k, x) in b.iter_mut().enumerate() {
            *x = _mm512_load_ps(bias.add(k * 16));
        }
        let ip = idx.as_ptr();
        let steps = offsets.len() - 1;
        let mut t0 = 0;
        while t0 < steps {
            let g = (steps - t0).min(S);
            let mut st = [0usize; S];
            let mut en = [0usize; S];
            for q in 0..g {
                st[q] = *offsets.get_unchecked(t0 + q);
                en[q] = *offsets.get_unchecked(t0 + q + 1);
            }
            let mut acc = [[_mm512_setzero_ps(); NB]; S];
            if g == S {
                let common = (0..S).map(|q| en[q] - st[q]).min().unwrap_or(0);
                for j in 0..common {
                    for q in 0..S {
                        let row = w.add(*ip.add(st[q] + j) as usize * stride);
                        for (k, a) in acc[q].iter_mut().enumerate() {
                            *a = _mm512_add_ps(*a, _mm512_load_ps(row.add(k * 16)));
                        }
                    }
                }
                for s in st.iter_mut() {
                    *s += common;
                }
            }
            for q in 0..g {
                for j in st[q]..en[q] {
                    let row = w.add(*ip.add(j) as usize * stride);
                    for (k, a) in acc[q].iter_mut().enumerate() {
                        *a = _mm512_add_ps(*a, _mm512_load_ps(row.add(k * 16)));
                    }
                }
                let o = out.add((t0 + q) * stride);
                for k in 0..NB {
                    _mm512_store_ps(o.add(k * 16), _mm512_add_ps(acc[q][k], b[k]));
                }
            }
            t0 += g;
        }
    }

    /// [`super::lif_layer_steps`] with AVX2: per column block of `NB` 16-neuron words and per
    /// step, the block's currents in `2·NB` registers (rows added, then subtracted, in list
    /// order), then bias, LIF, masks and readout with the state read from and written to memory.
    /// The same roundings as the scalar kernel (no FMA; `S·θ` multiplied as there).
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn lif_layer_avx2<const NB: usize>(
        l: &super::BlockedLayer<'_>,
        idx: &[u32],
        offsets: &[usize],
        neg: Option<(&[u32], &[usize])>,
        u: *mut f32,
        spk: *mut u16,
        masks: *mut u16,
        nz: *mut u32,
        fired: *mut u32,
        readout: *mut f32,
        ro: super::StepReadout,
    ) {
        use super::StepReadout;
        let bw = NB * 16;
        let words = l.stride / 16;
        let steps = offsets.len() - 1;
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let betav = _mm256_set1_ps(l.beta);
        let thv = _mm256_set1_ps(l.theta);
        // Lane `j` of the low / high half of a 16-bit word.
        let bits_lo = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let bits_hi = _mm256_setr_epi32(256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
        let (ip, op) = (idx.as_ptr(), offsets.as_ptr());
        for blk in 0..l.stride / bw {
            let w = l.wb.as_ptr().add(blk * l.in_f * bw);
            for t in 0..steps {
                let mut acc = [zero; 8];
                for j in *op.add(t)..*op.add(t + 1) {
                    let row = w.add(*ip.add(j) as usize * bw);
                    for (k, a) in acc.iter_mut().enumerate().take(2 * NB) {
                        *a = _mm256_add_ps(*a, _mm256_load_ps(row.add(8 * k)));
                    }
                }
                if let Some((ni, no)) = neg {
                    for &i in &ni[no[t]..no[t + 1]] {
                        let row = w.add(i as usize * bw);
                        for (k, a) in acc.iter_mut().enumerate().take(2 * NB) {
                            *a = _mm256_sub_ps(*a, _mm256_load_ps(row.add(8 * k)));
                        }
                    }
                }
                let (mut c, mut f) = (0u32, 0u32);
                for q in 0..NB {
                    let word = blk * NB + q;
                    let o = word * 16;
                    let sp = *spk.add(word) as i32;
                    let spv = _mm256_set1_epi32(sp);
                    let valid = match l.n.saturating_sub(o) {
                        v if v >= 16 => 0xffffu32,
                        v => (1u32 << v) - 1,
                    };
                    let mut fire_bits = 0u32;
                    let mut nz_bits = 0u32;
                    for h in 0..2 {
                        let at = o + 8 * h;
                        let cur =
                            _mm256_add_ps(acc[2 * q + h], _mm256_loadu_ps(l.bias.as_ptr().add(at)));
                        nz_bits |= (_mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(cur, zero))
                            as u32)
                            << (8 * h);
                        let lanes = if h == 0 { bits_lo } else { bits_hi };
                        let prev = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                            _mm256_and_si256(spv, lanes),
                            lanes,
                        ));
                        let s_prev = _mm256_and_ps(prev, one);
                        let x =
                            _mm256_add_ps(_mm256_mul_ps(betav, _mm256_loadu_ps(u.add(at))), cur);
                        let un = _mm256_sub_ps(x, _mm256_mul_ps(s_prev, thv));
                        _mm256_storeu_ps(u.add(at), un);
                        let fire = _mm256_cmp_ps::<_CMP_GT_OQ>(un, thv);
                        fire_bits |= (_mm256_movemask_ps(fire) as u32) << (8 * h);
                        match ro {
                            StepReadout::None => {}
                            StepReadout::Membrane => {
                                let r = readout.add(at);
                                _mm256_storeu_ps(r, _mm256_add_ps(_mm256_loadu_ps(r), un));
                            }
                            StepReadout::Spikes => {
                                let r = readout.add(at);
                                _mm256_storeu_ps(
                                    r,
                                    _mm256_add_ps(_mm256_loadu_ps(r), _mm256_and_ps(fire, one)),
                                );
                            }
                        }
                    }
                    *spk.add(word) = fire_bits as u16;
                    let out = fire_bits & valid;
                    *masks.add(t * words + word) = out as u16;
                    c += (nz_bits & valid).count_ones();
                    f += out.count_ones();
                }
                *nz.add(t) += c;
                *fired.add(t) += f;
            }
        }
    }

    /// [`super::lif_layer_steps`] (see there).
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn lif_layer_avx512(
        l: &super::BlockedLayer<'_>,
        idx: *const u32,
        offsets: &[usize],
        neg: Option<(*const u32, *const usize)>,
        u: *mut f32,
        spk: *mut u16,
        masks: *mut u16,
        nz: *mut u32,
        fired: *mut u32,
        readout: *mut f32,
        ro: super::StepReadout,
    ) {
        let bw = l.nb * 16;
        let words = l.stride / 16;
        for blk in 0..l.stride / bw {
            let b = Blk {
                w: l.wb.as_ptr().add(blk * l.in_f * bw),
                bias: l.bias.as_ptr().add(blk * bw),
                u: u.add(blk * bw),
                spk: spk.add(blk * l.nb),
                masks: masks.add(blk * l.nb),
                words,
                nz,
                fired,
                readout: readout.add(if ro == super::StepReadout::None {
                    0
                } else {
                    blk * bw
                }),
                ro,
                beta: l.beta,
                theta: l.theta,
                theta_sign_clear: l.theta.is_sign_positive(),
                first: blk * bw,
                n: l.n,
            };
            match l.nb {
                1 => lblock512::<1, 8>(&b, idx, offsets, neg),
                2 => lblock512::<2, 4>(&b, idx, offsets, neg),
                _ => lblock512::<4, 2>(&b, idx, offsets, neg),
            }
        }
    }

    /// One column block of [`lif_layer_avx512`]: pointers at the block's first column.
    struct Blk {
        w: *const f32,
        bias: *const f32,
        u: *mut f32,
        spk: *mut u16,
        masks: *mut u16,
        words: usize,
        nz: *mut u32,
        fired: *mut u32,
        readout: *mut f32,
        ro: super::StepReadout,
        beta: f32,
        theta: f32,
        theta_sign_clear: bool,
        /// Index of the block's first neuron.
        first: usize,
        n: usize,
    }

    /// One column block of [`lif_layer_avx512`], every step, in groups of `S` (see
    /// [`group512`]), the block's state in registers throughout.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    #[allow(clippy::needless_range_loop)] // constant-bound loops over register arrays
    unsafe fn lblock512<const NB: usize, const S: usize>(
        b: &Blk,
        idx: *const u32,
        offsets: &[usize],
        neg: Option<(*const u32, *const usize)>,
    ) {
        let zero = _mm512_setzero_ps();
        let mut st = BlockState::<NB> {
            bv: [zero; NB],
            uv: [zero; NB],
            rov: [zero; NB],
            sp: [0; NB],
            valid: [0; NB],
        };
        for k in 0..NB {
            st.bv[k] = _mm512_loadu_ps(b.bias.add(k * 16));
            st.uv[k] = _mm512_loadu_ps(b.u.add(k * 16));
            if b.ro != super::StepReadout::None {
                st.rov[k] = _mm512_loadu_ps(b.readout.add(k * 16));
            }
            st.sp[k] = *b.spk.add(k);
            let o = b.first + k * 16;
            st.valid[k] = if o + 16 <= b.n {
                0xffff
            } else if b.n > o {
                ((1u32 << (b.n - o)) - 1) as u16
            } else {
                0
            };
        }
        let steps = offsets.len() - 1;
        let op = offsets.as_ptr();
        let mut t0 = 0;
        // Groups of `S` steps; a shorter tail in groups of 4, 2 and 1.
        while t0 < steps {
            let g = steps - t0;
            t0 += if g >= S {
                group512::<NB, S>(b, &mut st, idx, op, neg, t0)
            } else if g >= 4 {
                group512::<NB, 4>(b, &mut st, idx, op, neg, t0)
            } else if g >= 2 {
                group512::<NB, 2>(b, &mut st, idx, op, neg, t0)
            } else {
                group512::<NB, 1>(b, &mut st, idx, op, neg, t0)
            };
        }
        for k in 0..NB {
            _mm512_storeu_ps(b.u.add(k * 16), st.uv[k]);
            if b.ro != super::StepReadout::None {
                _mm512_storeu_ps(b.readout.add(k * 16), st.rov[k]);
            }
            *b.spk.add(k) = st.sp[k];
        }
    }

    /// A column block's bias, membranes, readout sums, previous spikes and valid lanes.
    struct BlockState<const NB: usize> {
        bv: [__m512; NB],
        uv: [__m512; NB],
        rov: [__m512; NB],
        sp: [u16; NB],
        valid: [u16; NB],
    }

    /// Steps `t0..t0 + G` of one column block: the rows of the `G` lists added, those of the
    /// `neg` lists subtracted ([`rows512`]); then, step by step, bias, LIF, masks and readout.
    /// Returns `G`.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    #[allow(clippy::needless_range_loop)] // constant-bound loops over register arrays
    unsafe fn group512<const NB: usize, const G: usize>(
        b: &Blk,
        st: &mut BlockState<NB>,
        idx: *const u32,
        op: *const usize,
        neg: Option<(*const u32, *const usize)>,
        t0: usize,
    ) -> usize {
        use super::StepReadout;
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_ps(1.0);
        let betav = _mm512_set1_ps(b.beta);
        let thv = _mm512_set1_ps(b.theta);
        // `0·θ`: what a non-spiking neuron subtracts (±0, as `S·θ` gives).
        let zth = _mm512_mul_ps(zero, thv);
        let mut acc = [[zero; NB]; G];
        rows512::<NB, G, false>(b.w, &mut acc, idx, op, t0);
        if let Some((ni, no)) = neg {
            rows512::<NB, G, true>(b.w, &mut acc, ni, no, t0);
        }
        for q in 0..G {
            let t = t0 + q;
            let (mut c, mut f) = (0u32, 0u32);
            for k in 0..NB {
                let cur = _mm512_add_ps(acc[q][k], st.bv[k]);
                c += (_mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(cur, zero) & st.valid[k]).count_ones();
                let x = _mm512_add_ps(_mm512_mul_ps(betav, st.uv[k]), cur);
                // `x − S·θ`. With θ's sign bit clear, `0·θ = +0` and `x − (+0)` is `x` (bit for
                // bit: arithmetic NaNs are quiet already), so a masked subtraction does it.
                let un = if b.theta_sign_clear {
                    _mm512_mask_sub_ps(x, st.sp[k], x, thv)
                } else {
                    _mm512_sub_ps(x, _mm512_mask_mov_ps(zth, st.sp[k], thv))
                };
                st.uv[k] = un;
                let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(un, thv);
                st.sp[k] = m;
                let out = m & st.valid[k];
                *b.masks.add(t * b.words + k) = out;
                f += out.count_ones();
                match b.ro {
                    StepReadout::None => {}
                    StepReadout::Membrane => st.rov[k] = _mm512_add_ps(st.rov[k], un),
                    StepReadout::Spikes => {
                        st.rov[k] = _mm512_add_ps(st.rov[k], _mm512_maskz_mov_ps(m, one))
                    }
                }
            }
            *b.nz.add(t) += c;
            *b.fired.add(t) += f;
        }
        G
    }

    /// Adds (`SUB` false) or subtracts the rows of steps `t0..t0 + G`'s lists (step `t`:
    /// `idx[op[t]..op[t + 1]]`) to `acc[t − t0]`, each in list order: the lists' common
    /// length in lockstep (`NB·G` independent sums), then each one's rest.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    #[allow(clippy::needless_range_loop)] // constant-bound loops over register arrays
    unsafe fn rows512<const NB: usize, const G: usize, const SUB: bool>(
        w: *const f32,
        acc: &mut [[__m512; NB]; G],
        idx: *const u32,
        op: *const usize,
        t0: usize,
    ) {
        let mut p = [idx; G];
        let mut len = [0usize; G];
        for q in 0..G {
            let s0 = *op.add(t0 + q);
            p[q] = idx.add(s0);
            len[q] = *op.add(t0 + q + 1) - s0;
        }
        let common = len.iter().copied().min().unwrap_or(0);
        for j in 0..common {
            for q in 0..G {
                let row = w.add(*p[q].add(j) as usize * (NB * 16));
                for k in 0..NB {
                    let r = _mm512_load_ps(row.add(k * 16));
                    acc[q][k] = if SUB {
                        _mm512_sub_ps(acc[q][k], r)
                    } else {
                        _mm512_add_ps(acc[q][k], r)
                    };
                }
            }
        }
        for q in 0..G {
            for j in common..len[q] {
                let row = w.add(*p[q].add(j) as usize * (NB * 16));
                for k in 0..NB {
                    let r = _mm512_load_ps(row.add(k * 16));
                    acc[q][k] = if SUB {
                        _mm512_sub_ps(acc[q][k], r)
                    } else {
                        _mm512_add_ps(acc[q][k], r)
                    };
                }
            }
        }
    }

    /// [`super::masks_to_lists`]: each mask word's lane indices compressed in a register and
    /// stored as a whole vector.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn masks_to_lists_avx512(
        masks: &[u16],
        words: usize,
        steps: usize,
        list: &mut [u32],
        offs: &mut [usize],
    ) {
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let (mp, lp) = (masks.as_ptr(), list.as_mut_ptr());
        let mut c = 0usize;
        for t in 0..steps {
            for w in 0..words {
                let m = *mp.add(t * words + w);
                if m == 0 {
                    continue;
                }
                let pos = _mm512_add_epi32(lane, _mm512_set1_epi32((w * 16) as i32));
                // `c ≤ (t·words + w)·16`: the 16 lanes stored at `c` stay below
                // `steps·words·16 ≤ list.len()`.
                _mm512_storeu_si512(lp.add(c) as *mut _, _mm512_maskz_compress_epi32(m, pos));
                c += m.count_ones() as usize;
            }
            *offs.get_unchecked_mut(t + 1) = c;
        }
    }

    /// [`super::frequent_inputs`]: one word's 16 counters in a vector, a masked increment
    /// per step.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn frequent_inputs_avx512(
        masks: &[u16],
        words: usize,
        steps: usize,
        base: &mut [u16],
    ) -> u64 {
        let one = _mm512_set1_epi32(1);
        let half = _mm512_set1_epi32(steps as i32 + 1);
        let mp = masks.as_ptr();
        let mut saved = 0u64;
        for (w, b) in base[..words].iter_mut().enumerate() {
            let mut c = _mm512_setzero_si512();
            for t in 0..steps {
                c = _mm512_mask_add_epi32(c, *mp.add(t * words + w), c, one);
            }
            let extra = _mm512_sub_epi32(_mm512_add_epi32(c, c), half);
            let m = _mm512_cmpgt_epi32_mask(extra, _mm512_setzero_si512());
            *b = m;
            saved += _mm512_mask_reduce_add_epi32(m, extra) as u32 as u64;
        }
        saved
    }

    /// [`super::split_against`] with AVX2: non-empty words found 16 at a time, then their set
    /// bits walked.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn split_against_avx2(
        masks: &[u16],
        base: &[u16],
        words: usize,
        steps: usize,
        plus: &mut [u32],
        plus_offs: &mut [usize],
        minus: &mut [u32],
        minus_offs: &mut [usize],
    ) {
        let (mp, bp) = (masks.as_ptr(), base.as_ptr());
        let (mut np, mut nm) = (0usize, 0usize);
        let zero = _mm256_setzero_si256();
        for t in 0..steps {
            let row = mp.add(t * words);
            let mut g = 0;
            // 16 words at a time: a bitmap of the non-empty added and subtracted words (two
            // bits per word), then only those words walked.
            while g + 16 <= words {
                let m = _mm256_loadu_si256(row.add(g) as *const _);
                let b = _mm256_loadu_si256(bp.add(g) as *const _);
                let empty_p = _mm256_cmpeq_epi16(_mm256_andnot_si256(b, m), zero);
                let empty_q = _mm256_cmpeq_epi16(_mm256_andnot_si256(m, b), zero);
                let mut pnz = !(_mm256_movemask_epi8(empty_p) as u32) & 0x5555_5555;
                let mut qnz = !(_mm256_movemask_epi8(empty_q) as u32) & 0x5555_5555;
                while pnz != 0 {
                    let w = g + pnz.trailing_zeros() as usize / 2;
                    pnz &= pnz - 1;
                    let bits = (*row.add(w) & !*bp.add(w)) as u32;
                    super::push_bits(bits, (w * 16) as u32, plus, &mut np);
                }
                while qnz != 0 {
                    let w = g + qnz.trailing_zeros() as usize / 2;
                    qnz &= qnz - 1;
                    let bits = (*bp.add(w) & !*row.add(w)) as u32;
                    super::push_bits(bits, (w * 16) as u32, minus, &mut nm);
                }
                g += 16;
            }
            for w in g..words {
                let (m, b) = (*row.add(w), *bp.add(w));
                super::push_bits((m & !b) as u32, (w * 16) as u32, plus, &mut np);
                super::push_bits((b & !m) as u32, (w * 16) as u32, minus, &mut nm);
            }
            *plus_offs.get_unchecked_mut(t + 1) = np;
            *minus_offs.get_unchecked_mut(t + 1) = nm;
        }
    }

    /// [`super::frequent_inputs`] with AVX2: a word's 16 counters in two vectors, each lane
    /// incremented where its bit is set.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub(super) unsafe fn frequent_inputs_avx2(
        masks: &[u16],
        words: usize,
        steps: usize,
        base: &mut [u16],
    ) -> u64 {
        let lo = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let hi = _mm256_setr_epi32(256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
        let half = _mm256_set1_epi32(steps as i32 + 1);
        let zero = _mm256_setzero_si256();
        let mp = masks.as_ptr();
        let mut saved = 0u64;
        for (w, b) in base[..words].iter_mut().enumerate() {
            let (mut c0, mut c1) = (zero, zero);
            for t in 0..steps {
                let m = _mm256_set1_epi32(*mp.add(t * words + w) as i32);
                // A set bit's lane compares to all ones (−1): subtracting it counts one.
                c0 = _mm256_sub_epi32(c0, _mm256_cmpeq_epi32(_mm256_and_si256(m, lo), lo));
                c1 = _mm256_sub_epi32(c1, _mm256_cmpeq_epi32(_mm256_and_si256(m, hi), hi));
            }
            let mut bits = 0u16;
            for (h, c) in [c0, c1].into_iter().enumerate() {
                let extra = _mm256_sub_epi32(_mm256_add_epi32(c, c), half);
                let gt = _mm256_cmpgt_epi32(extra, zero);
                bits |= (_mm256_movemask_ps(_mm256_castsi256_ps(gt)) as u16) << (8 * h);
                let mut lanes = [0i32; 8];
                _mm256_storeu_si256(lanes.as_mut_ptr() as *mut _, _mm256_and_si256(extra, gt));
                saved += lanes.iter().map(|&v| v as u64).sum::<u64>();
            }
            *b = bits;
        }
        saved
    }

    /// The last `x.len() − full` (< 16) values of a spike scan, one by one: list entries from
    /// `count` on (when `ip` is given), the mask word at `full / 16`. Returns the new count, or
    /// `None` for a value other than 0 and 1.
    unsafe fn scan_tail(
        x: &[f32],
        full: usize,
        ip: Option<*mut u32>,
        mp: *mut u16,
        mut count: usize,
    ) -> Option<usize> {
        if full < x.len() {
            let mut m = 0u16;
            for (j, &v) in x.iter().enumerate().skip(full) {
                if v == 1.0 {
                    if let Some(ip) = ip {
                        *ip.add(count) = j as u32;
                    }
                    m |= 1 << (j - full);
                    count += 1;
                } else if v != 0.0 {
                    return None;
                }
            }
            *mp.add(full / 16) = m;
        }
        Some(count)
    }

    /// [`super::scan_spikes`] with AVX2: 8 floats compared at a time, 16 to a mask word; the
    /// list (when wanted) from the word's set bits.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub(super) unsafe fn scan_spikes_avx2(
        x: &[f32],
        ahead: &[f32],
        mut idx: Option<&mut [u32]>,
        masks: &mut [u16],
    ) -> Option<usize> {
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let (xp, mp) = (x.as_ptr(), masks.as_mut_ptr());
        let (ap, alen) = (ahead.as_ptr() as *const i8, ahead.len());
        let full = x.len() / 16 * 16;
        let mut count = 0;
        let mut o = 0;
        while o < full {
            if o < alen {
                // A hint inside `ahead`; it cannot fault.
                _mm_prefetch::<_MM_HINT_T0>(ap.add(o * 4));
            }
            let mut m = 0u32;
            for h in 0..2 {
                let xv = _mm256_loadu_ps(xp.add(o + 8 * h));
                let nz = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(xv, zero));
                let ones = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(xv, one));
                if nz != ones {
                    return None;
                }
                m |= (ones as u32) << (8 * h);
            }
            *mp.add(o / 16) = m as u16;
            match idx.as_deref_mut() {
                Some(idx) => super::push_bits(m, o as u32, idx, &mut count),
                None => count += m.count_ones() as usize,
            }
            o += 16;
        }
        scan_tail(x, full, idx.map(|i| i.as_mut_ptr()), mp, count)
    }

    /// [`super::split_against`]: per step and group of 32 words, the added and subtracted
    /// words and bitmaps of the non-empty ones in vectors, then only those words' lane indices
    /// compressed and stored (spikes outside a baseline are few and scattered: testing each
    /// word would mispredict).
    #[target_feature(enable = "avx512f,avx512bw,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn split_against_avx512(
        masks: &[u16],
        base: &[u16],
        words: usize,
        steps: usize,
        plus: &mut [u32],
        plus_offs: &mut [usize],
        minus: &mut [u32],
        minus_offs: &mut [usize],
    ) {
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let (mp, bp) = (masks.as_ptr(), base.as_ptr());
        let (pp, qp) = (plus.as_mut_ptr(), minus.as_mut_ptr());
        let (mut np, mut nm) = (0usize, 0usize);
        for t in 0..steps {
            let row = mp.add(t * words);
            let mut g = 0;
            while g < words {
                let gn = (words - g).min(32);
                let lanes = (u64::MAX >> (64 - gn)) as u32;
                let m = _mm512_maskz_loadu_epi16(lanes, row.add(g) as *const _);
                let b = _mm512_maskz_loadu_epi16(lanes, bp.add(g) as *const _);
                let (p, q) = (_mm512_andnot_si512(b, m), _mm512_andnot_si512(m, b));
                // The words themselves are read again from `masks` and `base` below (not
                // from a store of `p`/`q`: narrow loads from a wide store stall).
                let mut pnz = _mm512_test_epi16_mask(p, p);
                let mut qnz = _mm512_test_epi16_mask(q, q);
                // `np`, `nm` ≤ the bits of the words before (`< (t·words + w)·16`): each
                // 16-lane store stays below `steps·words·16 ≤ len`.
                while pnz != 0 {
                    let k = pnz.trailing_zeros() as usize;
                    pnz &= pnz - 1;
                    let w = *row.add(g + k) & !*bp.add(g + k);
                    let pos = _mm512_add_epi32(lane, _mm512_set1_epi32(((g + k) * 16) as i32));
                    _mm512_storeu_si512(pp.add(np) as *mut _, _mm512_maskz_compress_epi32(w, pos));
                    np += w.count_ones() as usize;
                }
                while qnz != 0 {
                    let k = qnz.trailing_zeros() as usize;
                    qnz &= qnz - 1;
                    let w = *bp.add(g + k) & !*row.add(g + k);
                    let pos = _mm512_add_epi32(lane, _mm512_set1_epi32(((g + k) * 16) as i32));
                    _mm512_storeu_si512(qp.add(nm) as *mut _, _mm512_maskz_compress_epi32(w, pos));
                    nm += w.count_ones() as usize;
                }
                g += gn;
            }
            *plus_offs.get_unchecked_mut(t + 1) = np;
            *minus_offs.get_unchecked_mut(t + 1) = nm;
        }
    }

    /// [`super::decode_bits`]: 16 bits at a time, lane indices compressed in a register.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn decode_bits_avx512(bits: &[u64], idx: &mut [u32]) -> usize {
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let ip = idx.as_mut_ptr();
        let mut c = 0usize;
        for (w, &word) in bits.iter().enumerate() {
            if word == 0 {
                continue;
            }
            for h in 0..4 {
                let m = (word >> (16 * h)) as u16;
                let pos = _mm512_add_epi32(lane, _mm512_set1_epi32((w * 64 + h * 16) as i32));
                // `c ≤ 64·w + 16·h`: the 16 lanes stored at `c` stay below `64·bits.len()`.
                _mm512_storeu_si512(ip.add(c) as *mut _, _mm512_maskz_compress_epi32(m, pos));
                c += m.count_ones() as usize;
            }
        }
        c
    }

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn max_u32_avx512(x: &[u32]) -> u32 {
        let mut m = _mm512_setzero_si512();
        let full = x.len() / 16 * 16;
        let mut o = 0;
        while o < full {
            m = _mm512_max_epu32(m, _mm512_loadu_si512(x.as_ptr().add(o) as *const _));
            o += 16;
        }
        let tail = x[full..].iter().copied().max().unwrap_or(0);
        _mm512_reduce_max_epu32(m).max(tail)
    }

    /// [`super::scan_spikes`].
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn scan_spikes_avx512(
        x: &[f32],
        ahead: &[f32],
        idx: Option<&mut [u32]>,
        masks: &mut [u16],
    ) -> Option<usize> {
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_ps(1.0);
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let (xp, mp) = (x.as_ptr(), masks.as_mut_ptr());
        let ip = idx.map(|i| i.as_mut_ptr());
        let (ap, alen) = (ahead.as_ptr() as *const i8, ahead.len());
        let full = x.len() / 16 * 16;
        let mut count = 0;
        let mut o = 0;
        while o < full {
            if o < alen {
                // A hint inside `ahead`; it cannot fault.
                _mm_prefetch::<_MM_HINT_T0>(ap.add(o * 4));
            }
            let xv = _mm512_loadu_ps(xp.add(o));
            let nz = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(xv, zero);
            let ones = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(xv, one);
            if nz != ones {
                return None;
            }
            *mp.add(o / 16) = ones;
            if let Some(ip) = ip {
                // `count ≤ o`: the 16 lanes stored at `count` stay below `o + 16 ≤ idx.len()`.
                let pos = _mm512_add_epi32(lane, _mm512_set1_epi32(o as i32));
                _mm512_storeu_si512(
                    ip.add(count) as *mut _,
                    _mm512_maskz_compress_epi32(ones, pos),
                );
            }
            count += ones.count_ones() as usize;
            o += 16;
        }
        scan_tail(x, full, ip, mp, count)
    }

    /// One row of [`super::pack_spike_rows`]: 16 floats to 16 bits at a time.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn pack_row_avx512(row: &[f32], out: &mut [u64]) -> bool {
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_ps(1.0);
        let (xp, op) = (row.as_ptr(), out.as_mut_ptr() as *mut u16);
        let full = row.len() / 16;
        for c in 0..full {
            let xv = _mm512_loadu_ps(xp.add(c * 16));
            let nz = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(xv, zero);
            let ones = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(xv, one);
            if nz != ones {
                return false;
            }
            // Little-endian: u16 `c` of the words is bits `16c..16c + 16`.
            *op.add(c) = ones;
        }
        let chunks = out.len() * 4;
        for c in full..chunks {
            let mut m = 0u16;
            for (k, &v) in row.iter().skip(c * 16).take(16).enumerate() {
                if v == 1.0 {
                    m |= 1 << k;
                } else if v != 0.0 {
                    return false;
                }
            }
            *op.add(c) = m;
        }
        true
    }

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn count_nonzero_avx512(x: &[f32]) -> usize {
        let zero = _mm512_setzero_ps();
        let full = x.len() / 16 * 16;
        let mut count = 0usize;
        let mut o = 0;
        while o < full {
            let m = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(_mm512_loadu_ps(x.as_ptr().add(o)), zero);
            count += (m as u32).count_ones() as usize;
            o += 16;
        }
        count + x[full..].iter().filter(|&&v| v != 0.0).count()
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
