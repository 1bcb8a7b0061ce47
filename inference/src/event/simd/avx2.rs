//! The AVX2 kernels of [`super`] (256-bit AVX2 with POPCNT and BMI1; FMA is available but
//! products and sums stay separate): the twin kernels of `twin_kernels!` at 8 lanes, the fused
//! layer-and-LIF steps, and the spike-mask kernels.

use std::arch::x86_64::*;

use super::x86::{dispatch_blocks, scan_tail, twin_kernels};

twin_kernels! {
    #[target_feature(enable = "avx2,fma")]
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
    blend: blend,
    compact: compact,
}

/// `b` in the lanes set in `m`, `a` elsewhere.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn blend(m: __m256, a: __m256, b: __m256) -> __m256 {
    _mm256_blendv_ps(a, b, m)
}

/// One set bit at a time, the value read back from `xp`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn compact(
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

/// [`super::lif_layer_steps`] with AVX2: per column block of `NB` 16-neuron words and per
/// step, the block's currents in `2·NB` registers (rows added, then subtracted, in list
/// order), then bias, LIF, masks and readout with the state read from and written to memory.
/// The same roundings as the scalar kernel (no FMA; `S·θ` multiplied as there).
#[target_feature(enable = "avx2,popcnt,bmi1")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn lif_layer<const NB: usize>(
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
                    nz_bits |= (_mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(cur, zero)) as u32)
                        << (8 * h);
                    let lanes = if h == 0 { bits_lo } else { bits_hi };
                    let prev = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                        _mm256_and_si256(spv, lanes),
                        lanes,
                    ));
                    let s_prev = _mm256_and_ps(prev, one);
                    let x = _mm256_add_ps(_mm256_mul_ps(betav, _mm256_loadu_ps(u.add(at))), cur);
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

/// [`super::split_against`] with AVX2: non-empty words found 16 at a time, then their set
/// bits walked.
#[target_feature(enable = "avx2,popcnt,bmi1")]
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
                super::scalar::push_bits(bits, (w * 16) as u32, plus, &mut np);
            }
            while qnz != 0 {
                let w = g + qnz.trailing_zeros() as usize / 2;
                qnz &= qnz - 1;
                let bits = (*bp.add(w) & !*row.add(w)) as u32;
                super::scalar::push_bits(bits, (w * 16) as u32, minus, &mut nm);
            }
            g += 16;
        }
        for w in g..words {
            let (m, b) = (*row.add(w), *bp.add(w));
            super::scalar::push_bits((m & !b) as u32, (w * 16) as u32, plus, &mut np);
            super::scalar::push_bits((b & !m) as u32, (w * 16) as u32, minus, &mut nm);
        }
        *plus_offs.get_unchecked_mut(t + 1) = np;
        *minus_offs.get_unchecked_mut(t + 1) = nm;
    }
}

/// [`super::frequent_inputs`] with AVX2: a word's 16 counters in two vectors, each lane
/// incremented where its bit is set.
#[target_feature(enable = "avx2,popcnt,bmi1")]
pub(super) unsafe fn frequent_inputs(
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

/// [`super::scan_spikes`] with AVX2: 8 floats compared at a time, 16 to a mask word; the
/// list (when wanted) from the word's set bits.
#[target_feature(enable = "avx2,popcnt,bmi1")]
pub(super) unsafe fn scan_spikes(
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
            Some(idx) => super::scalar::push_bits(m, o as u32, idx, &mut count),
            None => count += m.count_ones() as usize,
        }
        o += 16;
    }
    scan_tail(x, full, idx.map(|i| i.as_mut_ptr()), mp, count)
}
