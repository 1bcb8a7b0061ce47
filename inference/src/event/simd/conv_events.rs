//! The event engine's convolution of a list of non-zero inputs, in two passes over a
//! channels-last accumulator `acc[position · cs + o]` (`cs` = output channels padded to a
//! multiple of [`LANES`]):
//!
//! * [`conv_gather`] (where a padded input row fits a `u64` and the output channels fit the
//!   registers): the listed inputs become bits of their input rows, each output position
//!   collects its receptive field's bits as a column mask (bit `t` = kernel tap
//!   `(c·kh + ky)·kw + kx`) and sums the kernel slices of its set bits in registers — one
//!   vector add (times the input value for analog inputs) per active tap and 16 channels,
//!   each output stored once;
//! * [`conv_scatter_events`] (otherwise): every listed input adds its kernel slice (`cs`
//!   floats per tap) onto each output position it reaches. The positions and kernel offsets
//!   an input position reaches are precomputed once ([`ConvTaps`]), so the inner loop is
//!   whole-vector adds with no index arithmetic;
//! * [`conv_finish`]: adds the bias, counts the non-zero outputs, max-pools them (windows of
//!   `pk = [ph, pw]`, stride = window; `[1, 1]`: no pooling) and writes the result
//!   channels-first — a following max pool is done on the accumulator in registers instead of
//!   on the channels-first convolution output.
//!
//! **Exactness.** Output `(position, o)` is `(Σ_k x_k·w_k) + b_o` summed in list order
//! (ascending input index = ascending `(channel, ky, kx)`, the order of a direct convolution's
//! loop) from +0.0, products (only for analog inputs; a spike adds `w` itself) and sums being
//! separate roundings; the max is that of [`crate::event::conv`]'s dense pooling: the window's
//! first value (row-major), replaced by each later value that is greater or NaN. Gather and
//! scatter form the same sums, and the scalar, AVX2 and AVX-512 versions give identical bits
//! (AVX2 runs the scalar [`conv_finish`]).

use super::super::aligned::LANES;
use crate::isa::Isa;

/// For every input position of one channel of a convolution, the output positions it reaches
/// and the kernel taps it reaches them through (valid taps only: `o·s + k − p = i`, inside the
/// output).
#[derive(Debug, Clone)]
pub(crate) struct ConvTaps {
    /// Input positions per channel (`h · w`).
    hw: usize,
    cin: usize,
    /// Output channel stride (a multiple of [`LANES`]).
    cs: usize,
    /// Kernel floats per input channel: `kh · kw · cs`.
    chan_len: usize,
    /// Output positions `oh · ow`.
    positions: usize,
    /// Input position `r`'s taps are `taps[start[r]..start[r + 1]]`.
    start: Vec<u32>,
    /// `[acc offset = (oy·ow + ox)·cs, kernel offset within the channel = (ky·kw + kx)·cs]`.
    taps: Vec<[u32; 2]>,
    /// The geometry, when inputs may be gathered ([`conv_gather`]): a padded input row
    /// fits one `u64` (`w + 2·pw ≤ 64`).
    gather: Option<ConvGeom>,
    /// Per output position, the input offset of its window: `(oy·sh − ph)·w + ox·sw − pw`.
    window: Vec<isize>,
    /// Per kernel tap `(c·kh + ky)·kw + kx`, its input offset within a window:
    /// `c·h·w + ky·w + kx`.
    tap_offset: Vec<u32>,
}

/// The geometry of a 2-D convolution (a 1-D one has height 1) for [`ConvTaps::new`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvGeom {
    pub cin: usize,
    /// Input height and width.
    pub hw: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// Output height and width.
    pub out: [usize; 2],
    /// Output channels padded to a multiple of [`LANES`].
    pub cs: usize,
}

impl ConvTaps {
    pub fn new(g: &ConvGeom) -> ConvTaps {
        let ([h, w], [kh, kw], [sh, sw], [ph, pw], [oh, ow], cs) =
            (g.hw, g.kernel, g.stride, g.padding, g.out, g.cs);
        assert!(cs.is_multiple_of(LANES) && sh >= 1 && sw >= 1);
        let pos = |i: usize, k: usize, s: usize, p: usize, n: usize| {
            let num = (i + p).checked_sub(k)?;
            (num.is_multiple_of(s) && num / s < n).then_some(num / s)
        };
        let mut start = Vec::with_capacity(h * w + 1);
        let mut taps = Vec::new();
        start.push(0);
        for iy in 0..h {
            for ix in 0..w {
                for ky in 0..kh {
                    let Some(oy) = pos(iy, ky, sh, ph, oh) else {
                        continue;
                    };
                    for kx in 0..kw {
                        let Some(ox) = pos(ix, kx, sw, pw, ow) else {
                            continue;
                        };
                        taps.push([((oy * ow + ox) * cs) as u32, ((ky * kw + kx) * cs) as u32]);
                    }
                }
                start.push(taps.len() as u32);
            }
        }
        let window = (0..oh * ow)
            .map(|p| {
                ((p / ow * sh) as isize - ph as isize) * w as isize + (p % ow * sw) as isize
                    - pw as isize
            })
            .collect();
        let mut tap_offset = Vec::with_capacity(g.cin * kh * kw);
        for c in 0..g.cin {
            for ky in 0..kh {
                for kx in 0..kw {
                    tap_offset.push((c * h * w + ky * w + kx) as u32);
                }
            }
        }
        ConvTaps {
            window,
            tap_offset,
            hw: h * w,
            cin: g.cin,
            cs,
            chan_len: kh * kw * cs,
            positions: oh * ow,
            start,
            taps,
            gather: (w + 2 * pw <= 64 && kw <= 64 && oh * ow > 0).then_some(*g),
        }
    }

    /// `u64` scratch words [`conv_gather`] needs (0: it does not apply).
    pub fn gather_words(&self) -> usize {
        self.gather.map_or(0, |g| {
            g.cin * g.hw[0] + g.out[0] * g.out[1] * (g.cin * g.kernel[0] * g.kernel[1]).div_ceil(64)
        })
    }

    /// Floats of the accumulator: `oh · ow · cs`.
    pub fn acc_len(&self) -> usize {
        self.positions * self.cs
    }
}

/// Zeroes `acc` and scatters the listed inputs through the convolution: for each `k`, input
/// `idx[k]` (channels-first index `c·h·w + r`, ascending) adds, for each of its taps
/// `[a, o]`, `w[c·chan_len + o + j]` (times `vals[k]`, product rounded, when `vals` is given)
/// to `acc[a + j]`, `j < cs`. `w` is the kernel `[c][ky][kx][cs]`. Returns the synaptic
/// operations done: Σ taps × `cout`.
pub(crate) fn conv_scatter_events(
    isa: Isa,
    t: &ConvTaps,
    cout: usize,
    acc: &mut [f32],
    w: &[f32],
    idx: &[u32],
    vals: Option<&[f32]>,
) -> u64 {
    assert!(
        acc.len() >= t.acc_len()
            && w.len() >= t.cin * t.chan_len
            && vals.is_none_or(|v| v.len() >= idx.len()),
        "accumulator, kernel and values sized for the convolution"
    );
    // Memory safety of the kernels rests on every index addressing an input neuron (a later
    // out-of-order index only costs a division).
    assert!(
        super::max_u32(isa, idx).is_none_or(|m| (m as usize) < t.cin * t.hw),
        "input index beyond the convolution's input"
    );
    acc[..t.acc_len()].fill(0.0);
    let vals = vals.map(|v| &v[..idx.len()]);
    let ops = match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; sizes and indices checked above, taps valid by construction.
        Isa::Avx512 => unsafe { x86::scatter_avx512(t, acc.as_mut_ptr(), w.as_ptr(), idx, vals) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::scatter_avx2(t, acc.as_mut_ptr(), w.as_ptr(), idx, vals) },
        _ => scatter_scalar(t, acc, w, idx, vals),
    };
    ops * cout as u64
}

/// [`conv_scatter_events`] computed output by output instead of input by input: the listed
/// inputs are set as bits of their input rows, each output position collects the bits of its
/// receptive field as a column bit mask whose bit `t` is kernel tap `t = (c·kh + ky)·kw + kx`,
/// and sums the kernel slices `w[t·cs..][..cs]` of its set bits in ascending `t` — spikes
/// (`x` `None`) add the slice, analog inputs add it times their value `x[i]` (`x` the dense
/// input, `cin·h·w` values; product rounded first) — the same sums in the same order
/// (ascending input index), in registers, each output stored once. Writes `acc` as
/// [`conv_scatter_events`] does and returns the same operation count; `None` (nothing
/// written) where the geometry does not fit ([`ConvTaps::gather_words`] is 0) or the
/// instruction set has no kernel for `cs`. `bits` is scratch of at least
/// [`ConvTaps::gather_words`] words.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_gather(
    isa: Isa,
    t: &ConvTaps,
    cout: usize,
    acc: &mut [f32],
    w: &[f32],
    idx: &[u32],
    x: Option<&[f32]>,
    bits: &mut [u64],
) -> Option<u64> {
    let g = t.gather.as_ref()?;
    let nv = t.cs / LANES;
    let vector = match isa {
        Isa::Avx512 => (1..=4).contains(&nv),
        Isa::Avx2 => (1..=4).contains(&nv),
        Isa::Scalar => true,
    };
    if !vector {
        return None;
    }
    assert!(
        acc.len() >= t.acc_len()
            && w.len() >= t.cin * t.chan_len
            && bits.len() >= t.gather_words()
            && x.is_none_or(|x| x.len() >= t.cin * t.hw),
        "accumulator, kernel, scratch and input sized for the convolution"
    );
    let ([h, iw], [kh, kw], [_, pw], [oh, ow]) = (g.hw, g.kernel, g.padding, g.out);
    let (rows, cols) = bits[..t.gather_words()].split_at_mut(g.cin * h);
    rows.fill(0);
    // Input rows as bits (`ix + pw`); ascending indices walk the rows forward.
    let (mut row, mut row_end) = (0usize, iw);
    for &pos in idx {
        let pos = pos as usize;
        if pos < row_end.saturating_sub(iw) {
            row = pos / iw;
            row_end = row * iw + iw;
        }
        while pos >= row_end {
            row += 1;
            row_end += iw;
        }
        // An index beyond the input is refused (the rows hold cin·h entries).
        rows[row] |= 1u64 << (pos + iw - row_end + pw);
    }
    let positions = oh * ow;
    let taps = g.cin * kh * kw;
    let words = taps.div_ceil(64);
    let cols = &mut cols[..words * positions];
    let ops = match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA (the function only enables it for the generic body).
        Isa::Avx512 => unsafe { x86::columns_avx512(g, rows, cols) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::columns_avx2(g, rows, cols) },
        _ => columns(g, rows, cols),
    };
    let wk = &w[..taps * t.cs];
    let c = Cols {
        positions,
        words,
        cols,
        x: x.map(|x| (x, &t.window[..], &t.tap_offset[..])),
    };
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; every set bit is a tap `< taps`, whose slice lies in `wk`;
        // `acc` holds `positions · cs` floats (checked above).
        Isa::Avx512 => unsafe { x86::gather_avx512(nv, &c, wk, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::gather_avx2(nv, &c, wk, acc) },
        _ => gather_scalar(t.cs, &c, wk, acc),
    }
    Some(ops * cout as u64)
}

/// The column masks of [`conv_gather`]: word `k` of output position `p` is
/// `cols[k·positions + p]` (positions of a word side by side: the `ox` loop vectorizes).
/// Returns the number of set bits (the operations of the gather, per output channel).
#[inline(always)]
fn columns(g: &ConvGeom, rows: &[u64], cols: &mut [u64]) -> u64 {
    let ([h, _], [kh, kw], [sh, sw], [ph, _], [oh, ow]) =
        (g.hw, g.kernel, g.stride, g.padding, g.out);
    let positions = oh * ow;
    cols.fill(0);
    let kmask = if kw == 64 { !0u64 } else { (1u64 << kw) - 1 };
    for c in 0..g.cin {
        for ky in 0..kh {
            let t0 = (c * kh + ky) * kw;
            let (k, off) = (t0 / 64, (t0 % 64) as u32);
            let spill = off as usize + kw > 64;
            for oy in 0..oh {
                let Some(iy) = (oy * sh + ky).checked_sub(ph).filter(|&iy| iy < h) else {
                    continue;
                };
                let r = rows[c * h + iy];
                if r == 0 {
                    continue;
                }
                let dst = &mut cols[k * positions + oy * ow..][..ow];
                for (ox, d) in dst.iter_mut().enumerate() {
                    *d |= ((r >> (ox * sw)) & kmask) << off;
                }
                if spill {
                    let dst = &mut cols[(k + 1) * positions + oy * ow..][..ow];
                    for (ox, d) in dst.iter_mut().enumerate() {
                        *d |= ((r >> (ox * sw)) & kmask) >> (64 - off);
                    }
                }
            }
        }
    }
    cols.iter().map(|c| c.count_ones() as u64).sum()
}

fn gather_scalar(cs: usize, c: &Cols<'_>, w: &[f32], acc: &mut [f32]) {
    for p in 0..c.positions {
        let a = &mut acc[p * cs..][..cs];
        a.fill(0.0);
        for k in 0..c.words {
            let mut m = c.cols[k * c.positions + p];
            while m != 0 {
                let t = 64 * k + m.trailing_zeros() as usize;
                m &= m - 1;
                let src = a.iter_mut().zip(&w[t * cs..][..cs]);
                match c.x {
                    None => src.for_each(|(a, &x)| *a += x),
                    Some(_) => {
                        let v = c.value(p, t);
                        src.for_each(|(a, &x)| *a += v * x)
                    }
                }
            }
        }
    }
}

/// The column masks of one gather and, for analog inputs, where each tap reads its value.
pub(crate) struct Cols<'a> {
    positions: usize,
    words: usize,
    cols: &'a [u64],
    /// The dense input (`cin·h·w` values) with, per output position, the offset of its
    /// window (`(oy·sh − ph)·w + ox·sw − pw`, possibly negative), and per tap its offset
    /// within a window (`c·h·w + ky·w + kx`).
    x: Option<(&'a [f32], &'a [isize], &'a [u32])>,
}

impl Cols<'_> {
    /// The input value tap `t` of position `p` reads (analog gathers only; a set bit's tap
    /// always lies inside the input).
    #[inline(always)]
    fn value(&self, p: usize, t: usize) -> f32 {
        let (x, base, toff) = self.x.expect("analog gather");
        // SAFETY: `p < positions = base.len()` and `t < taps = toff.len()` (a set bit of `p`'s
        // column), and a set bit is an input inside the map: `base[p] + toff[t] < x.len()`
        // (checked lengths in `conv_gather`).
        unsafe {
            let i = *base.get_unchecked(p) + *toff.get_unchecked(t) as isize;
            *x.get_unchecked(i as usize)
        }
    }
}

/// Channel and position within the channel of input `pos`, tracking the channel of the last
/// one (`lo` = its first index): ascending lists cross channels by additions only.
#[inline(always)]
fn split(pos: usize, hw: usize, ci: &mut usize, lo: &mut usize) -> usize {
    if pos < *lo || pos >= *lo + hw {
        *ci = pos / hw;
        *lo = *ci * hw;
    }
    pos - *lo
}

fn scatter_scalar(
    t: &ConvTaps,
    acc: &mut [f32],
    w: &[f32],
    idx: &[u32],
    vals: Option<&[f32]>,
) -> u64 {
    let (mut ci, mut lo, mut ops) = (0usize, 0usize, 0u64);
    let cs = t.cs;
    for (k, &pos) in idx.iter().enumerate() {
        let r = split(pos as usize, t.hw, &mut ci, &mut lo);
        let base = ci * t.chan_len;
        let taps = &t.taps[t.start[r] as usize..t.start[r + 1] as usize];
        ops += taps.len() as u64;
        for &[a, o] in taps {
            let dst = &mut acc[a as usize..][..cs];
            let src = &w[base + o as usize..][..cs];
            match vals {
                None => dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s),
                Some(v) => {
                    let v = v[k];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += v * s)
                }
            }
        }
    }
    ops
}

/// Adds the bias to the accumulator of [`conv_scatter_events`], max-pools it with windows
/// `pk` (stride = window, no padding; `[1, 1]` = none) over the output `[oh, ow]`, and writes
/// the pooled values channels-first: `out[(o·poh + py)·pow + px]`, `o < cout`, with
/// `[poh, pow] = [oh / pk[0], ow / pk[1]]` (rounded down, as max pooling does). Returns the
/// number of non-zero convolution outputs (bias added, every position, NaN counted), before
/// pooling. `bias` holds `cs` values. `acc` is left clobbered.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_finish(
    isa: Isa,
    t: &ConvTaps,
    acc: &mut [f32],
    bias: &[f32],
    cout: usize,
    [oh, ow]: [usize; 2],
    pk: [usize; 2],
    out: &mut [f32],
) -> usize {
    let cs = t.cs;
    let (poh, pow) = (oh / pk[0].max(1), ow / pk[1].max(1));
    assert!(
        oh * ow == t.positions
            && cout <= cs
            && pk[0] >= 1
            && pk[1] >= 1
            && acc.len() >= t.acc_len()
            && bias.len() >= cs
            && out.len() >= cout * poh * pow,
        "accumulator, bias and output sized for the convolution and its pooling"
    );
    let g = Finish {
        cs,
        cout,
        ow,
        positions: oh * ow,
        pk,
        pooled: [poh, pow],
    };
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: supported ISA; sizes checked above.
        Isa::Avx512 => unsafe { x86::finish_avx512(&g, acc, bias, out) },
        _ => finish_scalar(&g, acc, bias, out),
    }
}

/// The checked geometry of [`conv_finish`].
struct Finish {
    cs: usize,
    cout: usize,
    ow: usize,
    positions: usize,
    pk: [usize; 2],
    pooled: [usize; 2],
}

fn finish_scalar(g: &Finish, acc: &[f32], bias: &[f32], out: &mut [f32]) -> usize {
    let cs = g.cs;
    let mut nz = 0;
    for p in 0..g.positions {
        let a = &acc[p * cs..][..g.cout];
        nz += a.iter().zip(bias).filter(|(&a, &b)| a + b != 0.0).count();
    }
    let pp = g.pooled[0] * g.pooled[1];
    for py in 0..g.pooled[0] {
        for px in 0..g.pooled[1] {
            for (o, &b) in bias[..g.cout].iter().enumerate() {
                let mut m = 0.0f32;
                let mut first = true;
                for dy in 0..g.pk[0] {
                    for dx in 0..g.pk[1] {
                        let p = (py * g.pk[0] + dy) * g.ow + px * g.pk[1] + dx;
                        let v = acc[p * cs + o] + b;
                        if first || v > m || v.is_nan() {
                            m = v;
                            first = false;
                        }
                    }
                }
                out[o * pp + py * g.pooled[1] + px] = m;
            }
        }
    }
    nz
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{split, ConvTaps, Finish};

    /// Adds (`vals` `None`) or adds `v ×` (product rounded first) `NV` (or, with `NV = 0`,
    /// `nv`) 16-float vectors of `src` onto `dst`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn add16<const NV: usize>(dst: *mut f32, src: *const f32, nv: usize, v: Option<__m512>) {
        let n = if NV == 0 { nv } else { NV };
        for j in 0..n {
            let s = _mm512_loadu_ps(src.add(16 * j));
            let s = match v {
                None => s,
                Some(v) => _mm512_mul_ps(v, s),
            };
            let d = dst.add(16 * j);
            _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), s));
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn add8<const NV: usize>(dst: *mut f32, src: *const f32, nv: usize, v: Option<__m256>) {
        let n = if NV == 0 { nv } else { NV };
        for j in 0..n {
            let s = _mm256_loadu_ps(src.add(8 * j));
            let s = match v {
                None => s,
                Some(v) => _mm256_mul_ps(v, s),
            };
            let d = dst.add(8 * j);
            _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), s));
        }
    }

    /// One scatter loop per vector count: `$add::<NV>` over every tap of every listed input.
    macro_rules! scatter_fn {
        ($name:ident, $feat:literal, $lanes:literal, $add:ident, $splat:ident, [$($nv:literal)*]) => {
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn $name(
                t: &ConvTaps,
                acc: *mut f32,
                w: *const f32,
                idx: &[u32],
                vals: Option<&[f32]>,
            ) -> u64 {
                let nv = t.cs / $lanes;
                match nv {
                    $($nv => body::<$nv>(t, acc, w, idx, vals),)*
                    _ => body::<0>(t, acc, w, idx, vals),
                }
            }
        };
    }

    macro_rules! scatter_body {
        ($feat:literal, $lanes:literal, $add:ident, $splat:ident) => {
            #[target_feature(enable = $feat)]
            #[inline]
            unsafe fn body<const NV: usize>(
                t: &ConvTaps,
                acc: *mut f32,
                w: *const f32,
                idx: &[u32],
                vals: Option<&[f32]>,
            ) -> u64 {
                let nv = t.cs / $lanes;
                let (mut ci, mut lo, mut ops) = (0usize, 0usize, 0u64);
                let (start, taps) = (t.start.as_ptr(), t.taps.as_ptr());
                for (k, &pos) in idx.iter().enumerate() {
                    // `pos < cin·hw` (checked by the caller), so `r < hw` and `ci < cin`.
                    let r = split(pos as usize, t.hw, &mut ci, &mut lo);
                    let base = w.add(ci * t.chan_len);
                    let (s, e) = (*start.add(r) as usize, *start.add(r + 1) as usize);
                    ops += (e - s) as u64;
                    let v = vals.map(|v| $splat(*v.get_unchecked(k)));
                    for j in s..e {
                        let [a, o] = *taps.add(j);
                        $add::<NV>(acc.add(a as usize), base.add(o as usize), nv, v);
                    }
                }
                ops
            }
        };
    }

    mod avx512 {
        use super::*;
        scatter_body!("avx512f", 16, add16, _mm512_set1_ps);
        scatter_fn!(scatter, "avx512f", 16, add16, _mm512_set1_ps, [1 2 3 4]);
    }
    mod avx2 {
        use super::*;
        scatter_body!("avx2", 8, add8, _mm256_set1_ps);
        scatter_fn!(scatter, "avx2", 8, add8, _mm256_set1_ps, [2 4 6 8]);
    }
    pub(super) use avx2::scatter as scatter_avx2;
    pub(super) use avx512::scatter as scatter_avx512;

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,popcnt,bmi1")]
    pub(super) unsafe fn columns_avx512(
        g: &super::ConvGeom,
        rows: &[u64],
        cols: &mut [u64],
    ) -> u64 {
        super::columns(g, rows, cols)
    }

    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub(super) unsafe fn columns_avx2(g: &super::ConvGeom, rows: &[u64], cols: &mut [u64]) -> u64 {
        super::columns(g, rows, cols)
    }

    /// The sums of [`super::gather_scalar`] with `NV` vectors of accumulators per position;
    /// with `x`, each tap's slice times the input value it reads (product rounded first).
    macro_rules! gather_fn {
        ($name:ident, $feat:literal, $lanes:literal, $vec:ty, $zero:ident, $load:ident, $store:ident, $add:ident, $mul:ident, $splat:ident, [$($nv:literal)*]) => {
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn $name(nv: usize, c: &super::Cols<'_>, w: &[f32], acc: &mut [f32]) {
                /// `r += w[t]` (times the value tap `t` reads at position `p`, with `ANALOG`).
                #[target_feature(enable = $feat)]
                #[inline]
                unsafe fn tap<const NV: usize, const ANALOG: bool>(
                    r: &mut [$vec; NV],
                    w: *const f32,
                    t: usize,
                    c: &super::Cols<'_>,
                    p: usize,
                ) {
                    let src = w.add(t * NV * $lanes);
                    let v = if ANALOG { Some($splat(c.value(p, t))) } else { None };
                    for (j, r) in r.iter_mut().enumerate() {
                        let s = $load(src.add($lanes * j));
                        *r = $add(*r, match v {
                            Some(v) => $mul(v, s),
                            None => s,
                        });
                    }
                }
                #[target_feature(enable = $feat)]
                #[inline]
                unsafe fn body<const NV: usize, const ANALOG: bool>(
                    c: &super::Cols<'_>,
                    w: *const f32,
                    acc: *mut f32,
                ) {
                    let (cs, positions) = (NV * $lanes, c.positions);
                    let mut p = 0;
                    while p < positions {
                        // With few vectors per position, a sum's chain of dependent adds is
                        // the limit: two positions advance side by side (each in its order).
                        let two = NV <= 2 && p + 1 < positions;
                        let mut r: [[$vec; NV]; 2] = [[$zero(); NV]; 2];
                        for k in 0..c.words {
                            let mut m0 = *c.cols.get_unchecked(k * positions + p);
                            if two {
                                let mut m1 = *c.cols.get_unchecked(k * positions + p + 1);
                                while m0 != 0 && m1 != 0 {
                                    let t0 = 64 * k + m0.trailing_zeros() as usize;
                                    let t1 = 64 * k + m1.trailing_zeros() as usize;
                                    m0 &= m0 - 1;
                                    m1 &= m1 - 1;
                                    tap::<NV, ANALOG>(&mut r[0], w, t0, c, p);
                                    tap::<NV, ANALOG>(&mut r[1], w, t1, c, p + 1);
                                }
                                while m1 != 0 {
                                    let t1 = 64 * k + m1.trailing_zeros() as usize;
                                    m1 &= m1 - 1;
                                    tap::<NV, ANALOG>(&mut r[1], w, t1, c, p + 1);
                                }
                            }
                            while m0 != 0 {
                                let t0 = 64 * k + m0.trailing_zeros() as usize;
                                m0 &= m0 - 1;
                                tap::<NV, ANALOG>(&mut r[0], w, t0, c, p);
                            }
                        }
                        for (i, r) in r.iter().enumerate().take(if two { 2 } else { 1 }) {
                            for (j, r) in r.iter().enumerate() {
                                $store(acc.add((p + i) * cs + $lanes * j), *r);
                            }
                        }
                        p += if two { 2 } else { 1 };
                    }
                }
                let (wp, ap) = (w.as_ptr(), acc.as_mut_ptr());
                match (nv, c.x.is_some()) {
                    $(($nv, false) => body::<$nv, false>(c, wp, ap),)*
                    $(($nv, true) => body::<$nv, true>(c, wp, ap),)*
                    _ => unreachable!("vector count checked by the caller"),
                }
            }
        };
    }
    gather_fn!(gather_avx512, "avx512f,popcnt,bmi1", 16, __m512, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps, _mm512_mul_ps, _mm512_set1_ps, [1 2 3 4]);

    /// AVX2: `2·nv` vectors of 8 per position.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub(super) unsafe fn gather_avx2(nv: usize, c: &super::Cols<'_>, w: &[f32], acc: &mut [f32]) {
        gather_avx2_8(2 * nv, c, w, acc)
    }
    gather_fn!(gather_avx2_8, "avx2,popcnt,bmi1", 8, __m256, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_mul_ps, _mm256_set1_ps, [2 4 6 8]);

    /// The transpose of a 16 × 16 block: `out[c]` lane `i` = `r[i]` lane `c`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
        // 32-bit, then 64-bit interleaves within 128-bit lanes: `b[4i + c]`, lane `L`, holds
        // element `4L + c` of rows `4i..4i + 4`.
        let mut a = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        let mut b = [_mm512_setzero_pd(); 16];
        for i in 0..4 {
            let x = |k: usize| _mm512_castps_pd(a[4 * i + k]);
            b[4 * i] = _mm512_unpacklo_pd(x(0), x(2));
            b[4 * i + 1] = _mm512_unpackhi_pd(x(0), x(2));
            b[4 * i + 2] = _mm512_unpacklo_pd(x(1), x(3));
            b[4 * i + 3] = _mm512_unpackhi_pd(x(1), x(3));
        }
        // Then 128-bit lanes: output row `4L + c` = lane `L` of `b[c]`, `b[4 + c]`,
        // `b[8 + c]`, `b[12 + c]`.
        let mut out = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            let f = |k: usize| _mm512_castpd_ps(b[k]);
            let d0 = _mm512_shuffle_f32x4::<0x44>(f(c), f(4 + c));
            let d1 = _mm512_shuffle_f32x4::<0xEE>(f(c), f(4 + c));
            let e0 = _mm512_shuffle_f32x4::<0x44>(f(8 + c), f(12 + c));
            let e1 = _mm512_shuffle_f32x4::<0xEE>(f(8 + c), f(12 + c));
            out[c] = _mm512_shuffle_f32x4::<0x88>(d0, e0);
            out[4 + c] = _mm512_shuffle_f32x4::<0xDD>(d0, e0);
            out[8 + c] = _mm512_shuffle_f32x4::<0x88>(d1, e1);
            out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(d1, e1);
        }
        out
    }

    /// [`super::finish_scalar`] with 16 channels per vector: the pool's select is
    /// `v > m || v ≠ v` per lane, as the scalar comparison.
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn finish_avx512(
        g: &Finish,
        acc: &mut [f32],
        bias: &[f32],
        out: &mut [f32],
    ) -> usize {
        let cs = g.cs;
        let (a, b, o) = (acc.as_mut_ptr(), bias.as_ptr(), out.as_mut_ptr());
        let zero = _mm512_setzero_ps();
        let [poh, pow] = g.pooled;
        let pp = poh * pow;
        let mut nz = 0usize;
        for j in (0..g.cout).step_by(16) {
            let lanes = (g.cout - j).min(16);
            let keep: __mmask16 = if lanes == 16 {
                0xffff
            } else {
                (1u16 << lanes) - 1
            };
            let bv = _mm512_loadu_ps(b.add(j));
            for p in 0..g.positions {
                let v = _mm512_add_ps(_mm512_loadu_ps(a.add(p * cs + j)), bv);
                let m = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(keep, v, zero);
                nz += (m as u32).count_ones() as usize;
            }
            // Pooled position `q` is stored over accumulator position `q`: every window
            // read later starts at a position `> q` (these lanes only).
            for py in 0..poh {
                for px in 0..pow {
                    let mut m = zero;
                    for dy in 0..g.pk[0] {
                        for dx in 0..g.pk[1] {
                            let p = (py * g.pk[0] + dy) * g.ow + px * g.pk[1] + dx;
                            let v = _mm512_add_ps(_mm512_loadu_ps(a.add(p * cs + j)), bv);
                            m = if dy == 0 && dx == 0 {
                                v
                            } else {
                                let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, m)
                                    | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                                _mm512_mask_blend_ps(take, m, v)
                            };
                        }
                    }
                    _mm512_storeu_ps(a.add((py * pow + px) * cs + j), m);
                }
            }
        }
        // Channels-first: blocks of 16 pooled positions × 16 channels, transposed in registers.
        let mut q = 0;
        while q < pp {
            let n = (pp - q).min(16);
            let k: __mmask16 = if n == 16 { 0xffff } else { (1u16 << n) - 1 };
            for j in (0..g.cout).step_by(16) {
                let mut r = [zero; 16];
                for (i, r) in r.iter_mut().enumerate().take(n) {
                    *r = _mm512_loadu_ps(a.add((q + i) * cs + j));
                }
                let t = transpose16(&r);
                for (c, v) in t.iter().enumerate().take((g.cout - j).min(16)) {
                    _mm512_mask_storeu_ps(o.add((j + c) * pp + q), k, *v);
                }
            }
            q += 16;
        }
        nz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator (reproducible test data).
    struct Rng(u32);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
        fn unit(&mut self) -> f32 {
            (self.next() % 2001) as f32 / 1000.0 - 1.0
        }
    }

    struct Case {
        g: ConvGeom,
        cout: usize,
        /// `W[o][c][ky][kx]` (PyTorch order).
        w: Vec<f32>,
        b: Vec<f32>,
    }

    impl Case {
        fn new([cin, h, iw, cout, kh, kw, s, p]: [usize; 8], rng: &mut Rng) -> Case {
            let out = [(h + 2 * p - kh) / s + 1, (iw + 2 * p - kw) / s + 1];
            let g = ConvGeom {
                cin,
                hw: [h, iw],
                kernel: [kh, kw],
                stride: [s, s],
                padding: [p, p],
                out,
                cs: cout.div_ceil(LANES) * LANES,
            };
            let w = (0..cout * cin * kh * kw).map(|_| rng.unit()).collect();
            let b = (0..cout).map(|_| rng.unit()).collect();
            Case { g, cout, w, b }
        }

        /// The kernel `[c][ky][kx][cs]` (padding zero) and the bias padded to `cs`.
        fn layout(&self) -> (Vec<f32>, Vec<f32>) {
            let ([kh, kw], cs) = (self.g.kernel, self.g.cs);
            let mut t = vec![0.0; self.g.cin * kh * kw * cs];
            for o in 0..self.cout {
                for c in 0..self.g.cin {
                    for k in 0..kh * kw {
                        t[(c * kh * kw + k) * cs + o] = self.w[(o * self.g.cin + c) * kh * kw + k];
                    }
                }
            }
            let mut b = self.b.clone();
            b.resize(cs, 0.0);
            (t, b)
        }

        /// The convolution from its definition, channels-first `[o][oy][ox]`: each output
        /// summed over its non-zero inputs in `(c, ky, kx)` order from +0.0, then the bias.
        fn reference(&self, x: &[f32]) -> Vec<f32> {
            let ([h, iw], [kh, kw], [s, _], [p, _], [oh, ow]) = (
                self.g.hw,
                self.g.kernel,
                self.g.stride,
                self.g.padding,
                self.g.out,
            );
            let mut out = vec![0.0; self.cout * oh * ow];
            for o in 0..self.cout {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut a = 0.0f32;
                        for c in 0..self.g.cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let (iy, ix) = (oy * s + ky, ox * s + kx);
                                    if iy < p || ix < p || iy - p >= h || ix - p >= iw {
                                        continue;
                                    }
                                    let v = x[(c * h + iy - p) * iw + ix - p];
                                    if v != 0.0 {
                                        let wv = self.w[((o * self.g.cin + c) * kh + ky) * kw + kx];
                                        a += if v == 1.0 { wv } else { v * wv };
                                    }
                                }
                            }
                        }
                        out[(o * oh + oy) * ow + ox] = a + self.b[o];
                    }
                }
            }
            out
        }
    }

    /// Max pooling of a channels-first map as the engine's dense pooling defines it.
    fn pool(y: &[f32], c: usize, [oh, ow]: [usize; 2], [kh, kw]: [usize; 2]) -> Vec<f32> {
        let (ph, pw) = (oh / kh, ow / kw);
        let mut out = vec![0.0; c * ph * pw];
        for o in 0..c {
            for py in 0..ph {
                for px in 0..pw {
                    let mut m = 0.0f32;
                    let mut first = true;
                    for dy in 0..kh {
                        for dx in 0..kw {
                            let v = y[(o * oh + py * kh + dy) * ow + px * kw + dx];
                            if first || v > m || v.is_nan() {
                                m = v;
                                first = false;
                            }
                        }
                    }
                    out[(o * ph + py) * pw + px] = m;
                }
            }
        }
        out
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    const SHAPES: [[usize; 8]; 8] = [
        // cin, h, w, cout, kh, kw, stride, padding
        [1, 28, 28, 12, 5, 5, 1, 0],
        [12, 12, 12, 64, 5, 5, 1, 0],
        [2, 9, 9, 5, 3, 3, 2, 1],
        [3, 7, 11, 20, 4, 4, 1, 2],
        // 325 taps: column masks cross words mid-row (5-bit rows at offset 60).
        [13, 6, 6, 40, 5, 5, 1, 0],
        // cs = 80: five vectors (the vector kernels leave gathering to the scatter).
        [2, 6, 6, 70, 3, 3, 1, 1],
        [1, 1, 30, 16, 1, 7, 3, 0],
        // Rows wider than one word: scatter only.
        [1, 3, 70, 16, 3, 3, 1, 0],
    ];

    #[test]
    fn scatter_gather_and_finish_match_the_definition_on_every_isa() {
        let mut rng = Rng(0x2545_f491);
        for shape in SHAPES {
            let case = Case::new(shape, &mut rng);
            let g = case.g;
            let taps = ConvTaps::new(&g);
            let (wt, bp) = case.layout();
            let n = g.cin * g.hw[0] * g.hw[1];
            let [oh, ow] = g.out;
            for (rate, analog) in [
                (0.0, false),
                (0.15, false),
                (0.5, false),
                (1.0, false),
                (0.4, true),
            ] {
                let x: Vec<f32> = (0..n)
                    .map(|_| {
                        let on = (rng.next() % 1000) as f32 / 1000.0 < rate;
                        match (on, analog) {
                            (false, _) => 0.0,
                            (true, false) => 1.0,
                            (true, true) => rng.unit(),
                        }
                    })
                    .collect();
                let idx: Vec<u32> = (0..n as u32).filter(|&i| x[i as usize] != 0.0).collect();
                let vals: Vec<f32> = idx.iter().map(|&i| x[i as usize]).collect();
                let want = case.reference(&x);
                let want_nz = want.iter().filter(|&&v| v != 0.0).count();
                let mut scalar_ops = None;
                for isa in Isa::supported() {
                    let mut acc = vec![f32::NAN; taps.acc_len()];
                    let vals = analog.then_some(&vals[..]);
                    let ops = conv_scatter_events(isa, &taps, case.cout, &mut acc, &wt, &idx, vals);
                    assert_eq!(*scalar_ops.get_or_insert(ops), ops, "{shape:?} {isa:?}");
                    let mut accs = vec![acc];
                    {
                        let mut acc = vec![f32::NAN; taps.acc_len()];
                        let mut scratch = vec![u64::MAX; taps.gather_words()];
                        let got = conv_gather(
                            isa,
                            &taps,
                            case.cout,
                            &mut acc,
                            &wt,
                            &idx,
                            analog.then_some(&x[..]),
                            &mut scratch,
                        );
                        let vector = g.cs / LANES <= 4 || isa == Isa::Scalar;
                        let fits = g.hw[1] + 2 * g.padding[1] <= 64;
                        assert_eq!(got.is_some(), vector && fits, "{shape:?} {isa:?}");
                        if let Some(gops) = got {
                            assert_eq!(gops, ops, "{shape:?} {isa:?}: gathered operations");
                            accs.push(acc);
                        }
                    }
                    for (path, acc) in accs.iter().enumerate() {
                        for pk in [[1, 1], [2, 2], [3, 3], [1, 2]] {
                            if pk[0] > oh || pk[1] > ow {
                                continue;
                            }
                            let (ph, pw) = (oh / pk[0], ow / pk[1]);
                            let mut out = vec![f32::NAN; case.cout * ph * pw];
                            let nz = conv_finish(
                                isa,
                                &taps,
                                &mut acc.clone(),
                                &bp,
                                case.cout,
                                g.out,
                                pk,
                                &mut out,
                            );
                            let what = format!("{shape:?} rate {rate} analog {analog} {isa:?} path {path} pool {pk:?}");
                            assert_eq!(nz, want_nz, "{what}: non-zero outputs");
                            assert_eq!(
                                bits(&out),
                                bits(&pool(&want, case.cout, g.out, pk)),
                                "{what}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pooling_keeps_the_first_maximum_and_any_nan_as_the_dense_pool_does() {
        // One output channel, 2×2 windows holding a tie of −0 then +0 (the first stays), a
        // NaN and infinities.
        let g = ConvGeom {
            cin: 1,
            hw: [4, 4],
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            out: [4, 4],
            cs: LANES,
        };
        let taps = ConvTaps::new(&g);
        #[rustfmt::skip]
        let map = [
            -0.0, 0.0, f32::NAN, 1.0,
            0.0, 0.0, 2.0, f32::NAN,
            f32::NEG_INFINITY, -1.0, f32::INFINITY, 3.0,
            -2.0, -1.0, 3.0, f32::INFINITY,
        ];
        let mut acc = vec![0.0; taps.acc_len()];
        for (p, &v) in map.iter().enumerate() {
            acc[p * LANES] = v;
        }
        // x + (−0.0) = x for every x: the map reaches the pooling unchanged.
        let bias = vec![-0.0; LANES];
        let want = pool(&map, 1, [4, 4], [2, 2]);
        for isa in Isa::supported() {
            let mut out = vec![0.0; 4];
            let nz = conv_finish(
                isa,
                &taps,
                &mut acc.clone(),
                &bias,
                1,
                [4, 4],
                [2, 2],
                &mut out,
            );
            assert_eq!(bits(&out), bits(&want), "{isa:?}");
            assert_eq!(nz, 12, "{isa:?}: NaN counts as non-zero, ±0 does not");
        }
        assert!(want[0] == 0.0 && want[0].is_sign_negative() && want[1].is_nan());
    }
}
