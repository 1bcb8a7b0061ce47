//! Packed f32 matrix products `C = A·Bᵀ + bias` for the dense native engine.
//!
//! `B` (a layer's weight, `[n, k]` as PyTorch stores it) is packed once at load into panels of
//! [`NR`] output columns: panel `p` holds `B[p·NR + j, kk]` at `kk·NR + j`, zero-padded, so the
//! inner loop streams one contiguous panel and updates `MR × NR` accumulators that stay in
//! registers. The loops are written for LLVM's auto-vectorizer and compiled three times:
//! plain (SSE2), AVX2+FMA and AVX-512, picked at run time by CPU feature detection.

/// Output columns per panel.
pub const NR: usize = 16;
/// Rows (samples or positions) per micro-kernel call.
const MR: usize = 4;
/// Depth of one k-block (a panel slice of `KC·NR` floats = 16 KiB stays in L1).
const KC: usize = 256;

/// Instruction set the kernels were compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Generic,
    Avx2Fma,
    Avx512,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("avx2")
            {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Generic
    }

    pub fn name(&self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Avx512 => "avx512",
        }
    }
}

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
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512`/`Avx2Fma` are only produced by `detect` after checking the features.
        Isa::Avx512 => unsafe { gemm_avx512(a, rows, lda, b, c, ldc, relu) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { gemm_avx2(a, rows, lda, b, c, ldc, relu) },
        _ => gemm_impl::<false>(a, rows, lda, b, c, ldc, relu),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemm_avx512(
    a: &[f32],
    rows: usize,
    lda: usize,
    b: &Packed,
    c: &mut [f32],
    ldc: usize,
    relu: bool,
) {
    gemm_impl::<true>(a, rows, lda, b, c, ldc, relu)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_avx2(
    a: &[f32],
    rows: usize,
    lda: usize,
    b: &Packed,
    c: &mut [f32],
    ldc: usize,
    relu: bool,
) {
    gemm_impl::<true>(a, rows, lda, b, c, ldc, relu)
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn gemm_impl<const FMA: bool>(
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
    while k0 < k || (k == 0 && k0 == 0) {
        let k1 = (k0 + KC).min(k);
        let first = k0 == 0;
        let last = k1 == k;
        for p in 0..np {
            let bp = &b.panels[p * k * NR + k0 * NR..p * k * NR + k1 * NR];
            let ncols = NR.min(n - p * NR);
            let bias: &[f32; NR] = b.bias[p * NR..p * NR + NR].try_into().expect("bias panel");
            let init = if first { Some(bias) } else { None };
            let act = last && relu;
            let mut r = 0;
            while r < rows {
                let mr = MR.min(rows - r);
                let a_off = r * lda + k0;
                let c_off = r * ldc + p * NR;
                let cc = &mut c[c_off..];
                let aa = &a[a_off..];
                match mr {
                    1 => kernel_1row::<FMA>(aa, bp, k1 - k0, cc, ncols, init, act),
                    2 => kernel::<2, FMA>(aa, lda, bp, k1 - k0, cc, ldc, ncols, init, act),
                    3 => kernel::<3, FMA>(aa, lda, bp, k1 - k0, cc, ldc, ncols, init, act),
                    _ => kernel::<4, FMA>(aa, lda, bp, k1 - k0, cc, ldc, ncols, init, act),
                }
                r += mr;
            }
        }
        if k == 0 {
            break;
        }
        k0 = k1;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel<const R: usize, const FMA: bool>(
    a: &[f32],
    lda: usize,
    b: &[f32],
    kc: usize,
    c: &mut [f32],
    ldc: usize,
    ncols: usize,
    init: Option<&[f32; NR]>,
    relu: bool,
) {
    // Accumulate from zero in registers; the bias or previous partial sum is added after.
    let mut acc = [[0.0f32; NR]; R];
    assert!(a.len() >= (R - 1) * lda + kc && b.len() >= kc * NR);
    for kk in 0..kc {
        // SAFETY: kk < kc and the asserts above bound every index.
        let bv: &[f32; NR] = unsafe { &*(b.as_ptr().add(kk * NR) as *const [f32; NR]) };
        let mut av = [0.0f32; R];
        for r in 0..R {
            av[r] = unsafe { *a.get_unchecked(r * lda + kk) };
        }
        for r in 0..R {
            for j in 0..NR {
                acc[r][j] = madd::<FMA>(av[r], bv[j], acc[r][j]);
            }
        }
    }
    let mut sum = [[0.0f32; NR]; R];
    load_acc(&mut sum, c, ldc, ncols, init);
    for r in 0..R {
        for j in 0..NR {
            sum[r][j] += acc[r][j];
        }
    }
    store_acc(&sum, c, ldc, ncols, relu);
}

/// One row: four independent accumulator sets over `kk` keep the FMA units busy.
#[inline(always)]
fn kernel_1row<const FMA: bool>(
    a: &[f32],
    b: &[f32],
    kc: usize,
    c: &mut [f32],
    ncols: usize,
    init: Option<&[f32; NR]>,
    relu: bool,
) {
    let mut acc = [[0.0f32; NR]; 4];
    let a = &a[..kc];
    let b = &b[..kc * NR];
    let quads = kc / 4;
    for q in 0..quads {
        let bq = &b[q * 4 * NR..(q + 1) * 4 * NR];
        let aq = &a[q * 4..q * 4 + 4];
        for u in 0..4 {
            let av = aq[u];
            let bv: &[f32; NR] = bq[u * NR..u * NR + NR].try_into().expect("panel row");
            for j in 0..NR {
                acc[u][j] = madd::<FMA>(av, bv[j], acc[u][j]);
            }
        }
    }
    for kk in quads * 4..kc {
        let av = a[kk];
        let bv: &[f32; NR] = b[kk * NR..kk * NR + NR].try_into().expect("panel row");
        for j in 0..NR {
            acc[0][j] = madd::<FMA>(av, bv[j], acc[0][j]);
        }
    }
    let mut sum = [[0.0f32; NR]; 1];
    load_acc(&mut sum, c, 0, ncols, init);
    for j in 0..NR {
        sum[0][j] += (acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]);
    }
    store_acc(&sum, c, 0, ncols, relu);
}

#[inline(always)]
fn load_acc<const R: usize>(
    acc: &mut [[f32; NR]; R],
    c: &[f32],
    ldc: usize,
    ncols: usize,
    init: Option<&[f32; NR]>,
) {
    match init {
        Some(bias) => {
            for row in acc.iter_mut() {
                *row = *bias;
            }
        }
        None => {
            for (r, row) in acc.iter_mut().enumerate() {
                row[..ncols].copy_from_slice(&c[r * ldc..r * ldc + ncols]);
            }
        }
    }
}

#[inline(always)]
fn store_acc<const R: usize>(
    acc: &[[f32; NR]; R],
    c: &mut [f32],
    ldc: usize,
    ncols: usize,
    relu: bool,
) {
    for (r, row) in acc.iter().enumerate() {
        let dst = &mut c[r * ldc..r * ldc + ncols];
        if relu {
            for (d, &v) in dst.iter_mut().zip(row.iter()) {
                *d = v.max(0.0);
            }
        } else {
            dst.copy_from_slice(&row[..ncols]);
        }
    }
}

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
        let mut isas = vec![Isa::Generic];
        if Isa::detect() != Isa::Generic {
            isas.push(Isa::detect());
        }
        if Isa::detect() == Isa::Avx512 {
            isas.push(Isa::Avx2Fma);
        }
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
