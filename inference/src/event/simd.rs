//! The event engine's inner kernels, each in a portable scalar version and, on x86-64, an
//! AVX2 and an AVX-512 version chosen at run time ([`Isa::detect`]).
//!
//! Every version computes bit-identical results: sums are formed in the order of the index
//! list (ascending neuron index), products and sums are separate IEEE operations (no fused
//! multiply-add), and the LIF update is `(β·U + I) − S·θ` evaluated left to right, exactly as
//! snnTorch's `Leaky` writes it. Buffers passed as "padded" have a length that is a multiple of
//! [`LANES`](super::aligned::LANES) and are read and written whole.

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
    /// 512-bit AVX-512F (with POPCNT and BMI1, which every AVX-512 CPU has).
    Avx512,
}

impl Isa {
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
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the ISA was checked supported when the engine chose it; bounds checked above.
        Isa::Avx512 => unsafe {
            x86::accum_rows_avx512(
                out.as_mut_ptr(),
                bias.as_ptr(),
                w.as_ptr(),
                stride,
                idx,
                None,
            )
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            x86::accum_rows_avx2(
                out.as_mut_ptr(),
                bias.as_ptr(),
                w.as_ptr(),
                stride,
                idx,
                None,
            )
        },
        _ => scalar_rows(out, bias, w, stride, idx, None),
    }
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
    let vals = &vals[..idx.len()];
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `accum_rows`.
        Isa::Avx512 => unsafe {
            x86::accum_rows_avx512(
                out.as_mut_ptr(),
                bias.as_ptr(),
                w.as_ptr(),
                stride,
                idx,
                Some(vals),
            )
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            x86::accum_rows_avx2(
                out.as_mut_ptr(),
                bias.as_ptr(),
                w.as_ptr(),
                stride,
                idx,
                Some(vals),
            )
        },
        _ => scalar_rows(out, bias, w, stride, idx, Some(vals)),
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
        Isa::Avx512 => unsafe { x86::lif_avx512(u, s, cur, beta, theta, n, spikes) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::lif_avx2(u, s, cur, beta, theta, n, spikes) },
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
        Isa::Avx512 => unsafe { x86::scan_avx512(x, idx, vals) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::scan_avx2(x, idx, vals) },
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

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn accum_rows_avx512(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        vals: Option<&[f32]>,
    ) {
        let nvec = stride / 16;
        let mut v0 = 0;
        while v0 < nvec {
            let nb = (nvec - v0).min(16);
            let off = v0 * 16;
            match vals {
                None => dispatch_blocks!(block512, nb, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16;
                    (out.add(off), bias.add(off), w.add(off), stride, idx)),
                Some(vals) => {
                    dispatch_blocks!(block512_scaled, nb, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16;
                    (out.add(off), bias.add(off), w.add(off), stride, idx, vals))
                }
            }
            v0 += nb;
        }
    }

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    unsafe fn block512<const NB: usize>(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
    ) {
        let mut acc = [_mm512_setzero_ps(); NB];
        for &i in idx {
            let row = w.add(i as usize * stride);
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm512_add_ps(*a, _mm512_load_ps(row.add(k * 16)));
            }
        }
        for (k, a) in acc.iter().enumerate() {
            _mm512_store_ps(
                out.add(k * 16),
                _mm512_add_ps(*a, _mm512_load_ps(bias.add(k * 16))),
            );
        }
    }

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    #[inline]
    unsafe fn block512_scaled<const NB: usize>(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        vals: &[f32],
    ) {
        let mut acc = [_mm512_setzero_ps(); NB];
        for (&i, &v) in idx.iter().zip(vals) {
            let row = w.add(i as usize * stride);
            let vv = _mm512_set1_ps(v);
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm512_add_ps(*a, _mm512_mul_ps(vv, _mm512_load_ps(row.add(k * 16))));
            }
        }
        for (k, a) in acc.iter().enumerate() {
            _mm512_store_ps(
                out.add(k * 16),
                _mm512_add_ps(*a, _mm512_load_ps(bias.add(k * 16))),
            );
        }
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

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn accum_rows_avx2(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        vals: Option<&[f32]>,
    ) {
        let nvec = stride / 8;
        let mut v0 = 0;
        while v0 < nvec {
            let nb = (nvec - v0).min(12);
            let off = v0 * 8;
            match vals {
                None => dispatch_blocks!(block256, nb, 1 2 3 4 5 6 7 8 9 10 11 12;
                    (out.add(off), bias.add(off), w.add(off), stride, idx)),
                Some(vals) => dispatch_blocks!(block256_scaled, nb, 1 2 3 4 5 6 7 8 9 10 11 12;
                    (out.add(off), bias.add(off), w.add(off), stride, idx, vals)),
            }
            v0 += nb;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn block256<const NB: usize>(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
    ) {
        let mut acc = [_mm256_setzero_ps(); NB];
        for &i in idx {
            let row = w.add(i as usize * stride);
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, _mm256_load_ps(row.add(k * 8)));
            }
        }
        for (k, a) in acc.iter().enumerate() {
            _mm256_store_ps(
                out.add(k * 8),
                _mm256_add_ps(*a, _mm256_load_ps(bias.add(k * 8))),
            );
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn block256_scaled<const NB: usize>(
        out: *mut f32,
        bias: *const f32,
        w: *const f32,
        stride: usize,
        idx: &[u32],
        vals: &[f32],
    ) {
        let mut acc = [_mm256_setzero_ps(); NB];
        for (&i, &v) in idx.iter().zip(vals) {
            let row = w.add(i as usize * stride);
            let vv = _mm256_set1_ps(v);
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(vv, _mm256_load_ps(row.add(k * 8))));
            }
        }
        for (k, a) in acc.iter().enumerate() {
            _mm256_store_ps(
                out.add(k * 8),
                _mm256_add_ps(*a, _mm256_load_ps(bias.add(k * 8))),
            );
        }
    }

    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn lif_avx512(
        u: &mut [f32],
        s: &mut [f32],
        cur: &[f32],
        beta: f32,
        theta: f32,
        n: usize,
        spikes: &mut [u32],
    ) -> usize {
        let bv = _mm512_set1_ps(beta);
        let tv = _mm512_set1_ps(theta);
        let one = _mm512_set1_ps(1.0);
        let mut count = 0;
        let (up, sp, cp) = (u.as_mut_ptr(), s.as_mut_ptr(), cur.as_ptr());
        let out = spikes.as_mut_ptr();
        for v in 0..u.len() / 16 {
            let o = v * 16;
            let un = _mm512_sub_ps(
                _mm512_add_ps(
                    _mm512_mul_ps(bv, _mm512_loadu_ps(up.add(o))),
                    _mm512_loadu_ps(cp.add(o)),
                ),
                _mm512_mul_ps(_mm512_loadu_ps(sp.add(o)), tv),
            );
            _mm512_storeu_ps(up.add(o), un);
            let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(un, tv);
            _mm512_storeu_ps(sp.add(o), _mm512_maskz_mov_ps(m, one));
            let mut bits = m as u32;
            if o + 16 > n {
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

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn lif_avx2(
        u: &mut [f32],
        s: &mut [f32],
        cur: &[f32],
        beta: f32,
        theta: f32,
        n: usize,
        spikes: &mut [u32],
    ) -> usize {
        let bv = _mm256_set1_ps(beta);
        let tv = _mm256_set1_ps(theta);
        let one = _mm256_set1_ps(1.0);
        let mut count = 0;
        let (up, sp, cp) = (u.as_mut_ptr(), s.as_mut_ptr(), cur.as_ptr());
        let out = spikes.as_mut_ptr();
        for v in 0..u.len() / 8 {
            let o = v * 8;
            let un = _mm256_sub_ps(
                _mm256_add_ps(
                    _mm256_mul_ps(bv, _mm256_loadu_ps(up.add(o))),
                    _mm256_loadu_ps(cp.add(o)),
                ),
                _mm256_mul_ps(_mm256_loadu_ps(sp.add(o)), tv),
            );
            _mm256_storeu_ps(up.add(o), un);
            let m = _mm256_cmp_ps::<_CMP_GT_OQ>(un, tv);
            _mm256_storeu_ps(sp.add(o), _mm256_and_ps(m, one));
            let mut bits = _mm256_movemask_ps(m) as u32;
            if o + 8 > n {
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

    /// Returns (count, any non-zero value other than 1.0). NaN counts as non-zero.
    #[target_feature(enable = "avx512f,popcnt,bmi1")]
    pub(super) unsafe fn scan_avx512(
        x: &[f32],
        idx: &mut [u32],
        vals: &mut [f32],
    ) -> (usize, bool) {
        let zero = _mm512_setzero_ps();
        let one = _mm512_set1_ps(1.0);
        let mut count = 0;
        let mut nonbinary = false;
        let xp = x.as_ptr();
        let full = x.len() / 16 * 16;
        let (ip, vp) = (idx.as_mut_ptr(), vals.as_mut_ptr());
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let mut o = 0;
        while o < full {
            let xv = _mm512_loadu_ps(xp.add(o));
            let nz = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(xv, zero);
            if nz != 0 {
                let ones = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(xv, one);
                nonbinary |= (nz & !ones) != 0;
                // Register-form compress, then a full-width store: `count ≤ o`, so the 16
                // lanes written at `count` stay below `o + 16 ≤ x.len() ≤ idx.len(), vals.len()`.
                let pos = _mm512_add_epi32(lane, _mm512_set1_epi32(o as i32));
                _mm512_storeu_si512(
                    ip.add(count) as *mut _,
                    _mm512_maskz_compress_epi32(nz, pos),
                );
                _mm512_storeu_ps(vp.add(count), _mm512_maskz_compress_ps(nz, xv));
                count += nz.count_ones() as usize;
            }
            o += 16;
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

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scan_avx2(x: &[f32], idx: &mut [u32], vals: &mut [f32]) -> (usize, bool) {
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let mut count = 0;
        let mut nonbinary = false;
        let xp = x.as_ptr();
        let full = x.len() / 8 * 8;
        let (ip, vp) = (idx.as_mut_ptr(), vals.as_mut_ptr());
        let mut o = 0;
        while o < full {
            let xv = _mm256_loadu_ps(xp.add(o));
            let nz = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(xv, zero)) as u32;
            if nz != 0 {
                let ones = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(xv, one)) as u32;
                nonbinary |= (nz & !ones) != 0;
                let mut bits = nz;
                while bits != 0 {
                    let j = o + bits.trailing_zeros() as usize;
                    *ip.add(count) = j as u32;
                    *vp.add(count) = *xp.add(j);
                    count += 1;
                    bits &= bits - 1;
                }
            }
            o += 8;
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
