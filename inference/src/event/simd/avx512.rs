//! The AVX-512 kernels of [`super`] (AVX-512 F and BW with POPCNT and BMI1): the twin
//! kernels of `twin_kernels!` at 16 lanes, and the kernels only this instruction set has —
//! the multi-step input layer, the fused layer-and-LIF steps with the state in registers, and
//! the list, mask and bit conversions built on register compression.

use std::arch::x86_64::*;

use super::x86::{dispatch_blocks, scan_tail, twin_kernels};

twin_kernels! {
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
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
    blend: blend,
    compact: compact,
}

/// `b` in the lanes set in `m`, `a` elsewhere.
#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[inline]
unsafe fn blend(m: __mmask16, a: __m512, b: __m512) -> __m512 {
    _mm512_mask_blend_ps(m, a, b)
}

/// Register-form compress, then a full-width store: `count ≤ o`, so the 16 lanes written at
/// `count` stay below `o + 16 ≤ x.len() ≤ idx.len(), vals.len()` (see `twin_kernels!`'s
/// `scan`).
#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[inline]
unsafe fn compact(
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

/// [`super::accum_rows_steps`]: column blocks of `NB` vectors; per block every step in turn,
/// `S` steps interleaved (their common length in lockstep, then each one's rest) so that
/// `NB·S` independent sums hide the add latency while the block's row slices (`NB` cache lines
/// each) stay in L1.
#[target_feature(enable = "avx512f,popcnt,bmi1")]
pub(super) unsafe fn accum_rows_steps(
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
        dispatch_blocks!(steps_block, nb, 1 2; (out.add(off), bias.add(off), w.add(off), stride, idx, offsets));
        v0 += nb;
    }
}

const STEPS_NB: usize = 2;
const STEPS_S: usize = 3;

#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[inline]
unsafe fn steps_block<const NB: usize>(
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

/// [`super::lif_layer_steps`] (see there).
#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn lif_layer(
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
            1 => lif_block::<1, 8>(&b, idx, offsets, neg),
            2 => lif_block::<2, 4>(&b, idx, offsets, neg),
            _ => lif_block::<4, 2>(&b, idx, offsets, neg),
        }
    }
}

/// One column block of [`lif_layer`]: pointers at the block's first column.
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

/// One column block of [`lif_layer`], every step, in groups of `S` (see
/// [`lif_group`]), the block's state in registers throughout.
#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[inline]
#[allow(clippy::needless_range_loop)] // constant-bound loops over register arrays
unsafe fn lif_block<const NB: usize, const S: usize>(
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
            lif_group::<NB, S>(b, &mut st, idx, op, neg, t0)
        } else if g >= 4 {
            lif_group::<NB, 4>(b, &mut st, idx, op, neg, t0)
        } else if g >= 2 {
            lif_group::<NB, 2>(b, &mut st, idx, op, neg, t0)
        } else {
            lif_group::<NB, 1>(b, &mut st, idx, op, neg, t0)
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
/// `neg` lists subtracted ([`group_rows`]); then, step by step, bias, LIF, masks and readout.
/// Returns `G`.
#[target_feature(enable = "avx512f,popcnt,bmi1")]
#[inline]
#[allow(clippy::needless_range_loop)] // constant-bound loops over register arrays
unsafe fn lif_group<const NB: usize, const G: usize>(
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
    group_rows::<NB, G, false>(b.w, &mut acc, idx, op, t0);
    if let Some((ni, no)) = neg {
        group_rows::<NB, G, true>(b.w, &mut acc, ni, no, t0);
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
unsafe fn group_rows<const NB: usize, const G: usize, const SUB: bool>(
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
pub(super) unsafe fn masks_to_lists(
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
pub(super) unsafe fn frequent_inputs(
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

/// [`super::split_against`]: per step and group of 32 words, the added and subtracted
/// words and bitmaps of the non-empty ones in vectors, then only those words' lane indices
/// compressed and stored (spikes outside a baseline are few and scattered: testing each
/// word would mispredict).
#[target_feature(enable = "avx512f,avx512bw,popcnt,bmi1")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn split_against(
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
pub(super) unsafe fn decode_bits(bits: &[u64], idx: &mut [u32]) -> usize {
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
pub(super) unsafe fn max_u32(x: &[u32]) -> u32 {
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
pub(super) unsafe fn scan_spikes(
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
pub(super) unsafe fn pack_row(row: &[f32], out: &mut [u64]) -> bool {
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
pub(super) unsafe fn count_nonzero(x: &[f32]) -> usize {
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
