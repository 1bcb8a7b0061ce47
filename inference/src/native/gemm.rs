//! Packed f32 matrix products `C = A·Bᵀ + bias` for the dense native engine.
//!
//! `B` (a layer's weight, `[n, k]` as PyTorch stores it) is packed once at load into panels of
//! [`NR`] output columns: panel `p` holds `B[p·NR + j, kk]` at `kk·NR + j`, zero-padded, so the
//! inner loop streams one contiguous panel and updates `MR × NR` accumulators that stay in
//! registers (AVX-512: 8 rows × 2 zmm; AVX2: 3 rows × 4 ymm), `KC` depths at a time so the
//! panel slice stays in L1 while every row tile passes over it. The kernel is written once in a
//! macro and instantiated per instruction set by `for_each_isa!` (see `native::simd`).

/// Output columns per panel.
pub const NR: usize = 32;
/// Depth of one k-block (a panel slice of `KC·NR` floats = 16 KiB stays in L1).
const KC: usize = 128;

use super::simd::{dispatch, for_each_isa};
use crate::isa::Isa;

/// A weight matrix `[n, k]` packed into column panels, with its bias (zero when absent).
#[derive(Debug, Clone)]
pub struct Packed {
    pub k: usize,
    pub n: usize,
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Packed {
    /// Packs `w` (`[n, k]`, row-major) and `bias` (`[n]`).
    pub fn from_rows(w: &[f32], n: usize, k: usize, bias: Option<&[f32]>) -> Packed {
        assert_eq!(w.len(), n * k, "weight size");
        let np = n.div_ceil(NR);
        let mut panels = vec![0.0f32; np * k * NR];
        for p in 0..np {
            let base = p * k * NR;
            for j in 0..NR {
                let col = p * NR + j;
                if col >= n {
                    break;
                }
                let row = &w[col * k..(col + 1) * k];
                for (kk, &v) in row.iter().enumerate() {
                    panels[base + kk * NR + j] = v;
                }
            }
        }
        let mut b = vec![0.0f32; np * NR];
        if let Some(bias) = bias {
            b[..n].copy_from_slice(bias);
        }
        Packed {
            k,
            n,
            panels,
            bias: b,
        }
    }

    pub fn bytes(&self) -> usize {
        (self.panels.len() + self.bias.len()) * 4
    }
}

/// `c[r, j] = act(Σ_kk a[r, kk]·B[j, kk] + bias[j])` for `rows` rows; `a` has row stride `lda`
/// (≥ k), `c` row stride `ldc` (≥ n). `relu` applies max(0, ·).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    isa: Isa,
    a: &[f32],
    rows: usize,
    lda: usize,
    b: &Packed,
    c: &mut [f32],
    ldc: usize,
    relu: bool,
) {
    if rows == 0 {
        return;
    }
    assert!(lda >= b.k && ldc >= b.n);
    assert!(a.len() >= (rows - 1) * lda + b.k, "gemm: a too short");
    assert!(c.len() >= (rows - 1) * ldc + b.n, "gemm: c too short");
    dispatch!(isa, gemm(a, rows, lda, b, c, ldc, relu))
}

/// Generates one instruction set's gemm kernels (see `for_each_isa!`): `MR × NR` register
/// tiles, `MR` = the accumulator budget (16 vectors of 32 registers, 12 of 16) over the
/// vectors per panel row.
macro_rules! gemm_kernels {
    (
        $(#[$attr:meta])*
        mod $m:ident {
            lanes: $w:expr,
            regs: $regs:expr,
            zero: $zero:path,
            splat: $splat:path,
            load: $load:path,
            store: $store:path,
            fma: $fma:path,
            add: $add:path,
            max: $max:path $(,)?
        }
    ) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            /// Floats per vector.
            const W: usize = $w;
            /// Vectors per panel row.
            const NV: usize = NR / W;
            /// Rows per register tile.
            const MR: usize = (if $regs >= 32 { 16 } else { 12 }) / NV;

            /// See [`super::gemm`]; the caller checked the sizes.
            $(#[$attr])*
            pub(super) unsafe fn gemm(
                a: &[f32],
                rows: usize,
                lda: usize,
                b: &Packed,
                c: &mut [f32],
                ldc: usize,
                relu: bool,
            ) {
                let (k, n) = (b.k, b.n);
                let np = n.div_ceil(NR);
                let mut k0 = 0;
                loop {
                    let k1 = (k0 + KC).min(k);
                    let last = k1 == k;
                    for p in 0..np {
                        let ncols = NR.min(n - p * NR);
                        // SAFETY (whole block): panel p spans k·NR floats from p·k·NR, the bias
                        // np·NR floats; rows r < rows read a[r·lda + k0 .. r·lda + k1] and write
                        // c[r·ldc + p·NR ..][..ncols], inside the lengths the caller checked.
                        unsafe {
                            let bp = b.panels.as_ptr().add(p * k * NR + k0 * NR);
                            let init = if k0 == 0 {
                                Some(b.bias.as_ptr().add(p * NR))
                            } else {
                                None
                            };
                            let act = last && relu;
                            let mut r = 0;
                            while r < rows {
                                let mr = MR.min(rows - r);
                                let ap = a.as_ptr().add(r * lda + k0);
                                let cp = c.as_mut_ptr().add(r * ldc + p * NR);
                                let kc = k1 - k0;
                                match mr {
                                    8.. => tile::<8>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    7 => tile::<7>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    6 => tile::<6>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    5 => tile::<5>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    4 => tile::<4>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    3 => tile::<3>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    2 => tile::<2>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                    _ => tile::<1>(ap, lda, bp, kc, cp, ldc, ncols, init, act),
                                }
                                r += mr;
                            }
                        }
                    }
                    if last {
                        break;
                    }
                    k0 = k1;
                }
            }

            /// `R` rows × one panel over `kc` depths, accumulated from zero in registers, then
            /// added to `init` (the bias) or to the partial sums already in `c`.
            $(#[$attr])*
            #[inline]
            #[allow(clippy::too_many_arguments)]
            unsafe fn tile<const R: usize>(
                ap: *const f32,
                lda: usize,
                bp: *const f32,
                kc: usize,
                cp: *mut f32,
                ldc: usize,
                ncols: usize,
                init: Option<*const f32>,
                relu: bool,
            ) {
                // SAFETY: see `gemm`.
                unsafe {
                    let mut acc = [[$zero(); NV]; R];
                    for kk in 0..kc {
                        let mut bv = [$zero(); NV];
                        for (t, v) in bv.iter_mut().enumerate() {
                            *v = $load(bp.add(kk * NR + t * W));
                        }
                        for (r, row) in acc.iter_mut().enumerate() {
                            let av = $splat(*ap.add(r * lda + kk));
                            for t in 0..NV {
                                row[t] = $fma(av, bv[t], row[t]);
                            }
                        }
                    }
                    for (r, row) in acc.iter().enumerate() {
                        let dst = cp.add(r * ldc);
                        let mut tmp = [0.0f32; NR];
                        let src = match init {
                            Some(bias) => bias,
                            None if ncols == NR => dst.cast_const(),
                            None => {
                                std::ptr::copy_nonoverlapping(dst, tmp.as_mut_ptr(), ncols);
                                tmp.as_ptr()
                            }
                        };
                        for t in 0..NV {
                            let mut s = $add(row[t], $load(src.add(t * W)));
                            if relu {
                                s = $max(s, $zero());
                            }
                            if ncols == NR {
                                $store(dst.add(t * W), s);
                            } else {
                                $store(tmp.as_mut_ptr().add(t * W), s);
                            }
                        }
                        if ncols < NR {
                            std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, ncols);
                        }
                    }
                }
            }
        }
    };
}

for_each_isa!(gemm_kernels);

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        a: &[f32],
        rows: usize,
        k: usize,
        w: &[f32],
        n: usize,
        bias: &[f32],
        relu: bool,
    ) -> Vec<f32> {
        let mut c = vec![0.0; rows * n];
        for r in 0..rows {
            for j in 0..n {
                let mut s = bias[j] as f64;
                for kk in 0..k {
                    s += a[r * k + kk] as f64 * w[j * k + kk] as f64;
                }
                c[r * n + j] = if relu { (s as f32).max(0.0) } else { s as f32 };
            }
        }
        c
    }

    #[test]
    fn packed_gemm_matches_naive_on_every_isa_and_odd_sizes() {
        let isas = Isa::supported();
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for &(rows, k, n) in &[
            (1, 784, 256),
            (5, 300, 17),
            (7, 1, 3),
            (64, 513, 40),
            (3, 0, 5),
            (1, 7, 16),
        ] {
            let a: Vec<f32> = (0..rows * k).map(|_| rnd()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
            let bias: Vec<f32> = (0..n).map(|_| rnd()).collect();
            let p = Packed::from_rows(&w, n, k, Some(&bias));
            for relu in [false, true] {
                let want = naive(&a, rows, k, &w, n, &bias, relu);
                for &isa in &isas {
                    let mut c = vec![f32::NAN; rows * n];
                    gemm(isa, &a, rows, k, &p, &mut c, n, relu);
                    for (i, (x, y)) in c.iter().zip(&want).enumerate() {
                        assert!(
                            (x - y).abs() < 1e-4,
                            "{isa:?} rows {rows} k {k} n {n} at {i}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }
}
