//! Convolution by scattering (each non-zero input adds its kernel slice onto the output
//! positions it reaches) and max pooling, dense or on spikes (where max is OR).

use super::aligned::AlignedVec;
use super::plan::{out_pos, ConvW, PoolDims};

/// Scatters the listed inputs (ascending channels-first index; `vals` `None` = all 1.0) through
/// convolution `c` and writes the channels-first result plus bias to `out` — the plain loop of
/// [`super::ExecMode::Dense`] (every input listed); the event path uses
/// [`super::simd::conv_gather`] / [`super::simd::conv_scatter_events`] and
/// [`super::simd::conv_finish`], which give the same values. `acc` is scratch of
/// `oh·ow·cstride` floats. Returns the synaptic operations done (one per output element touched
/// per input). Each output is summed in ascending input order — the order of a direct
/// convolution's `(channel, ky, kx)` loop — then the bias is added.
pub(crate) fn conv_scatter(
    c: &ConvW,
    acc: &mut AlignedVec,
    idx: &[u32],
    vals: Option<&[f32]>,
    out: &mut [f32],
) -> u64 {
    let acc = acc.padded_mut();
    let cs = c.cstride;
    acc[..c.oh * c.ow * cs].fill(0.0);
    let hw = c.h * c.w;
    let wt = c.wt.as_slice();
    let mut ops = 0u64;
    for (k, &pos) in idx.iter().enumerate() {
        let pos = pos as usize;
        let ci = pos / hw;
        let rem = pos % hw;
        let (iy, ix) = (rem / c.w, rem % c.w);
        ops += c.taps[rem] as u64 * c.cout as u64;
        let v = vals.map(|v| v[k]);
        for ky in 0..c.kh {
            let Some(oy) = out_pos(iy, ky, c.sh, c.ph, c.oh) else {
                continue;
            };
            for kx in 0..c.kw {
                let Some(ox) = out_pos(ix, kx, c.sw, c.pw, c.ow) else {
                    continue;
                };
                let a = &mut acc[(oy * c.ow + ox) * cs..][..cs];
                let w = &wt[((ci * c.kh + ky) * c.kw + kx) * cs..][..cs];
                match v {
                    None => a.iter_mut().zip(w).for_each(|(a, &w)| *a += w),
                    Some(v) => a.iter_mut().zip(w).for_each(|(a, &w)| *a += v * w),
                }
            }
        }
    }
    let positions = c.oh * c.ow;
    for o in 0..c.cout {
        let b = c.b[o];
        let dst = &mut out[o * positions..][..positions];
        for (p, d) in dst.iter_mut().enumerate() {
            *d = acc[p * cs + o] + b;
        }
    }
    ops
}

/// Dense max pooling, channels-first.
pub(crate) fn pool_dense(p: &PoolDims, inp: &[f32], out: &mut [f32]) {
    for c in 0..p.c {
        for oy in 0..p.oh {
            for ox in 0..p.ow {
                let mut m = f32::NEG_INFINITY;
                let mut first = true;
                for dy in 0..p.kh {
                    let row = &inp[(c * p.h + oy * p.kh + dy) * p.w + ox * p.kw..][..p.kw];
                    for &v in row {
                        if first || v > m || v.is_nan() {
                            m = v;
                            first = false;
                        }
                    }
                }
                out[(c * p.oh + oy) * p.ow + ox] = m;
            }
        }
    }
}

/// Max pooling of spikes = OR: lists the pooled positions any input spike falls in
/// (ascending) into `out_idx` and returns their number. `marks` is zeroed scratch of the
/// output length and is left zeroed.
pub(crate) fn pool_spikes(
    p: &PoolDims,
    idx: &[u32],
    marks: &mut [u8],
    out_idx: &mut [u32],
) -> usize {
    let hw = p.h * p.w;
    let (ohw, mut touched) = (p.oh * p.ow, false);
    for &pos in idx {
        let pos = pos as usize;
        let (c, rem) = (pos / hw, pos % hw);
        let (oy, ox) = ((rem / p.w) / p.kh, (rem % p.w) / p.kw);
        if oy < p.oh && ox < p.ow {
            marks[c * ohw + oy * p.ow + ox] = 1;
            touched = true;
        }
    }
    if !touched {
        return 0;
    }
    let mut count = 0;
    for (j, m) in marks.iter_mut().enumerate() {
        if *m != 0 {
            out_idx[count] = j as u32;
            count += 1;
            *m = 0;
        }
    }
    count
}
