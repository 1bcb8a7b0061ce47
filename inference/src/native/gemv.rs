//! One sample through a Linear layer, `y = act(W·x + b)`, skipping the inputs that are zero
//! (or equal to one repeated background value) — exactly, not approximately.
//!
//! # Method
//! At load the weight `W` (`[n, k]`, PyTorch's layout) is stored input-major as
//! [`InputMajor`]: `k` rows of `ld` floats (`ld` = `n` rounded up to 16, zero padded, each row
//! 64-byte aligned), row `i` holding the `n` weights that leave input `i`. The product is then
//! a sum of whole rows, `y = b + Σᵢ xᵢ·W[·, i]`, so an input with `xᵢ = 0` costs nothing: its
//! row is simply not read.
//!
//! Per call, [`gemv`] picks a reference value `c` — `0`, or `x[0]` when that value occurs more
//! often (a normalized image's background: MNIST's black pixels become `−0.4242` after
//! normalization) — and counts the `nnz` inputs that differ from it. Since
//! `W·x = W·(x − c·1) + c·s` with the row sums `s = Σᵢ W[·, i]` precomputed in f64 at load,
//!
//! ```text
//! y = act( (b + c·s) + Σ_{i : xᵢ ≠ c} (xᵢ − c)·W[·, i] )
//! ```
//!
//! * **sparse path** (`nnz ≤ policy.max_fraction · k`): the pairs `(i, xᵢ − c)` are compressed
//!   into preallocated scratch in one branch-free pass, then only those `nnz` rows are summed;
//! * **dense path** otherwise: all `k` rows in order with `c = 0` (the plain product).
//!
//! Both paths keep a block of up to 256 outputs (AVX-512: 16 zmm registers; AVX2 and the
//! portable kernel: 12 vectors) in registers while streaming the selected weight rows, with
//! several independent accumulator sets when the block is narrow; blocks are processed one
//! after another. The kernels are generated per instruction set by `for_each_isa!` (see
//! `native::simd`). The result differs from a dense product only in f32 rounding (another
//! summation order, and the `c·s` split), far below the engine's 1e-4 agreement bound. Zero
//! inputs and all-`c` inputs give exactly
//! `act(b + c·s)`. Nothing is allocated per call.

use super::simd::{dispatch, for_each_isa};
use crate::isa::Isa;

/// Floats per 64-byte line; rows are padded to whole lines.
const L: usize = 16;

/// One 64-byte line of weights; a `Vec<Line>` is 64-byte aligned.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; L]);

/// A Linear weight `[n, k]` stored input-major (see the module docs), with its bias and row
/// sums, padded to `ld` outputs.
#[derive(Debug, Clone)]
pub struct InputMajor {
    /// Inputs (rows).
    pub k: usize,
    /// Outputs.
    pub n: usize,
    /// Row stride in floats: `n` rounded up to a multiple of 16.
    pub ld: usize,
    lines: Vec<Line>,
    bias: Vec<f32>,
    colsum: Vec<f32>,
}

impl InputMajor {
    /// From PyTorch's `w` (`[n, k]`, row-major) and `bias` (`[n]`, zero when absent).
    pub fn from_rows(w: &[f32], n: usize, k: usize, bias: Option<&[f32]>) -> InputMajor {
        assert_eq!(w.len(), n * k, "weight size");
        let ld = n.div_ceil(L).max(1) * L;
        let per_row = ld / L;
        let mut lines = vec![Line([0.0; L]); k * per_row];
        let mut colsum = vec![0.0f32; ld];
        for j in 0..n {
            let mut s = 0.0f64;
            for i in 0..k {
                let v = w[j * k + i];
                lines[i * per_row + j / L].0[j % L] = v;
                s += v as f64;
            }
            colsum[j] = s as f32;
        }
        let mut b = vec![0.0f32; ld];
        if let Some(bias) = bias {
            b[..n].copy_from_slice(bias);
        }
        InputMajor {
            k,
            n,
            ld,
            lines,
            bias: b,
            colsum,
        }
    }

    /// The weights as `k × ld` floats.
    fn data(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; 16]` with size 64 = 16·4, so the vector's
        // buffer is `lines.len()·16` initialized, contiguous f32 values.
        unsafe {
            std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.lines.len() * L)
        }
    }

    pub fn bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Line>() + (self.bias.len() + self.colsum.len()) * 4
    }
}

/// When Linear layers take the sparse path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparsePolicy {
    /// [`gemv`] is sparse when the inputs differing from the reference value are at most this
    /// fraction of all inputs (0: only for all-reference inputs, 1: always).
    pub max_fraction: f32,
    /// A batch of 4 rows or more runs one sparse-capable [`gemv`] per row, instead of one
    /// packed matrix product, when at most this fraction of all its inputs differ from their
    /// row's reference value (0: never, unless every input equals it).
    pub batch_max_fraction: f32,
}

impl SparsePolicy {
    /// Measured on Zen 4 (AVX-512, `ann` on MNIST, see `bench/benches/backends.rs`): for one sample
    /// the sparse path pays a compress pass and an index load per row, so it pays off until
    /// nearly every input is nonzero; for a batch the matrix product reuses each loaded weight
    /// for 8 rows, so per-row sparse products win only on clearly sparse inputs.
    pub const DEFAULT: SparsePolicy = SparsePolicy {
        max_fraction: 0.8,
        batch_max_fraction: 0.35,
    };
    /// Always dense (unless every input equals the reference).
    pub const DENSE: SparsePolicy = SparsePolicy {
        max_fraction: 0.0,
        batch_max_fraction: 0.0,
    };
    /// Always sparse.
    pub const SPARSE: SparsePolicy = SparsePolicy {
        max_fraction: 1.0,
        batch_max_fraction: 1.0,
    };
}

impl Default for SparsePolicy {
    fn default() -> Self {
        SparsePolicy::DEFAULT
    }
}

/// Which path one [`gemv`] call took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GemvPath {
    Dense,
    Sparse {
        /// Inputs different from `reference` (rows summed).
        nonzeros: usize,
        /// The value `c` subtracted from every input.
        reference: f32,
    },
}

/// Preallocated index/value buffers of the sparse path.
#[derive(Debug, Default, Clone)]
pub struct SparseScratch {
    idx: Vec<u32>,
    val: Vec<f32>,
}

impl SparseScratch {
    /// Makes room for inputs of length `k` (allocates only when growing).
    pub fn reserve(&mut self, k: usize) {
        if self.idx.len() < k {
            self.idx.resize(k, 0);
            self.val.resize(k, 0.0);
        }
    }
}

/// The reference value (0 or `x[0]`, whichever occurs more often; 0 on ties) and how many
/// entries of `x` differ from it.
#[inline(always)]
fn reference(x: &[f32]) -> (f32, usize) {
    let first = x.first().copied().unwrap_or(0.0);
    let (mut zeros, mut firsts) = (0u32, 0u32);
    for &v in x {
        zeros += (v == 0.0) as u32;
        firsts += (v == first) as u32;
    }
    if first != 0.0 && firsts > zeros {
        (first, x.len() - firsts as usize)
    } else {
        (0.0, x.len() - zeros as usize)
    }
}

/// Number of entries of `x` that [`gemv`] would have to visit: those different from the
/// reference value it would choose (see the module docs).
pub fn nonzeros(x: &[f32]) -> usize {
    reference(x).1
}

/// Counts the inputs, picks the path and, for the sparse one, compresses `(i, xᵢ − c)` into
/// `scratch`. Inlined into each instruction set's [`gemv`] so the loops vectorize there.
#[inline(always)]
fn prepare(
    x: &[f32],
    w: &InputMajor,
    policy: SparsePolicy,
    scratch: &mut SparseScratch,
) -> GemvPath {
    assert_eq!(x.len(), w.k, "gemv: input length");
    let (c, nnz) = reference(x);
    if nnz != 0 && (nnz as f32) > policy.max_fraction * w.k as f32 {
        return GemvPath::Dense;
    }
    scratch.reserve(w.k);
    let (idx, val) = (&mut scratch.idx[..w.k], &mut scratch.val[..w.k]);
    let mut m = 0;
    for (i, &v) in x.iter().enumerate() {
        // SAFETY: m ≤ i < k = idx.len() = val.len().
        unsafe {
            *idx.get_unchecked_mut(m) = i as u32;
            *val.get_unchecked_mut(m) = v - c;
        }
        m += (v != c) as usize;
    }
    debug_assert_eq!(m, nnz);
    GemvPath::Sparse {
        nonzeros: m,
        reference: c,
    }
}

/// Generates one instruction set's gemv kernels (see [`for_each_isa!`]).
macro_rules! gemv_kernels {
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
            /// Accumulator vectors kept in registers (16 of 32 zmm; 12 of 16 ymm/xmm).
            const MAXV: usize = if $regs >= 32 { 16 } else { 12 };

            /// See [`super::gemv`].
            $(#[$attr])*
            pub(super) unsafe fn gemv(
                x: &[f32],
                w: &InputMajor,
                y: &mut [f32],
                relu: bool,
                policy: SparsePolicy,
                scratch: &mut SparseScratch,
            ) -> GemvPath {
                assert!(y.len() >= w.n, "gemv: output too short");
                let path = prepare(x, w, policy, scratch);
                // SAFETY: dense reads x[0..k]; sparse indices come from `prepare` (< k); the
                // caller guarantees the target features.
                unsafe {
                    match path {
                        GemvPath::Dense => blocks::<true>(&[], x, w, 0.0, y, relu),
                        GemvPath::Sparse {
                            nonzeros,
                            reference,
                        } => blocks::<false>(
                            &scratch.idx[..nonzeros],
                            &scratch.val[..nonzeros],
                            w,
                            reference,
                            y,
                            relu,
                        ),
                    }
                }
                path
            }

            /// The output blocks left to right, each as wide as the register budget allows.
            /// Dense: row `e` with coefficient `val[e]`; sparse: row `idx[e]`.
            $(#[$attr])*
            #[inline]
            unsafe fn blocks<const DENSE: bool>(
                idx: &[u32],
                val: &[f32],
                w: &InputMajor,
                c: f32,
                y: &mut [f32],
                relu: bool,
            ) {
                let vecs = w.ld / W;
                let mut v0 = 0;
                while v0 < vecs {
                    let left = (vecs - v0).min(MAXV);
                    // SAFETY: forwarded (each block stays inside `ld`).
                    v0 += unsafe {
                        match left {
                            16.. => block::<DENSE, 16, 1>(idx, val, w, v0, c, y, relu),
                            12..=15 => block::<DENSE, 12, 1>(idx, val, w, v0, c, y, relu),
                            8..=11 => block::<DENSE, 8, 1>(idx, val, w, v0, c, y, relu),
                            6 | 7 => block::<DENSE, 6, 1>(idx, val, w, v0, c, y, relu),
                            4 | 5 => block::<DENSE, 4, 1>(idx, val, w, v0, c, y, relu),
                            3 => block::<DENSE, 3, 2>(idx, val, w, v0, c, y, relu),
                            2 => block::<DENSE, 2, 2>(idx, val, w, v0, c, y, relu),
                            _ => block::<DENSE, 1, 4>(idx, val, w, v0, c, y, relu),
                        }
                    };
                }
            }

            /// Outputs `[v0·W, (v0 + NV)·W)` with `U` accumulator sets (independent chains
            /// when the block is narrow); returns `NV`.
            $(#[$attr])*
            #[inline]
            #[allow(clippy::too_many_arguments)]
            unsafe fn block<const DENSE: bool, const NV: usize, const U: usize>(
                idx: &[u32],
                val: &[f32],
                w: &InputMajor,
                v0: usize,
                c: f32,
                y: &mut [f32],
                relu: bool,
            ) -> usize {
                let col0 = v0 * W;
                assert!(col0 + NV * W <= w.ld && NV * W <= 256);
                assert!(DENSE && val.len() == w.k || !DENSE && idx.len() == val.len());
                let ld = w.ld;
                let n = val.len();
                // SAFETY: every pointer below stays inside `bias`/`colsum` (ld floats), the
                // k·ld weights (row < k: dense e < n = k, sparse indices < k by contract),
                // `val` (e < n) and `idx` (e < n, sparse only).
                unsafe {
                    let mut acc = [[$zero(); NV]; U];
                    let cs = $splat(c);
                    for t in 0..NV {
                        let b = $load(w.bias.as_ptr().add(col0 + t * W));
                        acc[0][t] = if c != 0.0 {
                            $fma(cs, $load(w.colsum.as_ptr().add(col0 + t * W)), b)
                        } else {
                            b
                        };
                    }
                    let base = w.data().as_ptr().add(col0);
                    let row = |e: usize| -> *const f32 {
                        let kk = if DENSE {
                            e
                        } else {
                            *idx.get_unchecked(e) as usize
                        };
                        base.add(kk * ld)
                    };
                    let mut e = 0;
                    while e + U <= n {
                        for u in 0..U {
                            let v = $splat(*val.get_unchecked(e + u));
                            let r = row(e + u);
                            for t in 0..NV {
                                acc[u][t] = $fma(v, $load(r.add(t * W)), acc[u][t]);
                            }
                        }
                        e += U;
                    }
                    while e < n {
                        let v = $splat(*val.get_unchecked(e));
                        let r = row(e);
                        for t in 0..NV {
                            acc[0][t] = $fma(v, $load(r.add(t * W)), acc[0][t]);
                        }
                        e += 1;
                    }
                    let mut out = [0.0f32; 256];
                    for t in 0..NV {
                        let mut s = acc[0][t];
                        for a in &acc[1..] {
                            s = $add(s, a[t]);
                        }
                        if relu {
                            s = $max(s, $zero());
                        }
                        $store(out.as_mut_ptr().add(t * W), s);
                    }
                    let end = (col0 + NV * W).min(w.n);
                    if col0 < end {
                        y[col0..end].copy_from_slice(&out[..end - col0]);
                    }
                }
                NV
            }
        }
    };
}

for_each_isa!(gemv_kernels);

/// `y[j] = act(Σᵢ W[j, i]·x[i] + b[j])` for `j < n` (see the module docs for the method),
/// taking the sparse path when `policy` allows it. `x.len()` must be `w.k`, `y.len() ≥ w.n`.
pub fn gemv(
    isa: Isa,
    x: &[f32],
    w: &InputMajor,
    y: &mut [f32],
    relu: bool,
    policy: SparsePolicy,
    scratch: &mut SparseScratch,
) -> GemvPath {
    dispatch!(isa, gemv(x, w, y, relu, policy, scratch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], n: usize, bias: &[f32], relu: bool) -> Vec<f32> {
        let k = x.len();
        (0..n)
            .map(|j| {
                let s = bias[j] as f64
                    + (0..k)
                        .map(|i| x[i] as f64 * w[j * k + i] as f64)
                        .sum::<f64>();
                if relu {
                    (s as f32).max(0.0)
                } else {
                    s as f32
                }
            })
            .collect()
    }

    #[test]
    fn dense_and_sparse_paths_match_naive_for_all_sparsities_and_widths() {
        let mut seed = 99u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut scratch = SparseScratch::default();
        for &(k, n) in &[
            (784, 256),
            (256, 128),
            (128, 10),
            (33, 1),
            (5, 300),
            (1, 17),
        ] {
            let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
            let bias: Vec<f32> = (0..n).map(|_| rnd()).collect();
            let m = InputMajor::from_rows(&w, n, k, Some(&bias));
            // all zero, all nonzero, ~80 % zero, ~80 % one background value, all background
            let dense: Vec<f32> = (0..k).map(|_| rnd() + 1.0).collect();
            let zeros = vec![0.0f32; k];
            let sparse: Vec<f32> = dense
                .iter()
                .enumerate()
                .map(|(i, &v)| if i % 5 == 2 { v } else { 0.0 })
                .collect();
            let bg = -0.4242f32;
            let background: Vec<f32> = sparse
                .iter()
                .map(|&v| if v == 0.0 { bg } else { v })
                .collect();
            let all_bg = vec![bg; k];
            for x in [&dense, &zeros, &sparse, &background, &all_bg] {
                for relu in [false, true] {
                    let want = naive(x, &w, n, &bias, relu);
                    for isa in Isa::supported() {
                        for policy in [SparsePolicy::DENSE, SparsePolicy::SPARSE] {
                            let mut y = vec![f32::NAN; n + 3];
                            let path = gemv(isa, x, &m, &mut y, relu, policy, &mut scratch);
                            let nnz = nonzeros(x);
                            match (policy == SparsePolicy::SPARSE || nnz == 0, path) {
                                (true, GemvPath::Sparse { nonzeros, .. }) => {
                                    assert_eq!(nonzeros, nnz)
                                }
                                (false, GemvPath::Dense) => {}
                                (_, p) => panic!("{policy:?} with {nnz} nonzeros took {p:?}"),
                            }
                            for (j, (a, b)) in y[..n].iter().zip(&want).enumerate() {
                                assert!(
                                    (a - b).abs() < 1e-4,
                                    "{isa:?} {path:?} k {k} n {n} out {j}: {a} vs {b}"
                                );
                            }
                            assert!(y[n..].iter().all(|v| v.is_nan()), "wrote past n");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn reference_value_is_the_more_frequent_of_zero_and_the_first_entry() {
        assert_eq!(reference(&[0.0, 1.0, 0.0]), (0.0, 1));
        assert_eq!(reference(&[2.0, 2.0, 0.0, 3.0]), (2.0, 2));
        // ties go to zero
        assert_eq!(reference(&[2.0, 0.0, 1.0]), (0.0, 2));
        assert_eq!(reference(&[]), (0.0, 0));
    }
}
