//! [`SpikeBatch`]: a binary spike input `[T, batch, sample…]` bit-packed, one bit per input
//! neuron per sample per step — 98 bytes per step for a 784-pixel image instead of 3 136 as
//! `f32`. [`EventEngine::run_spikes`](super::EventEngine::run_spikes) reads it directly.

use joulebench_models::Tensor;

use crate::error::InferenceError;

/// Bit-packed binary spikes of `batch` samples over `steps` time steps.
///
/// Layout: row `(t, b)` is `words_per_row()` little-endian `u64` words; input neuron `i`
/// (flat, channels-first index into the sample shape) is bit `i % 64` of word `i / 64`. Bits at
/// positions `≥ n` (the padding of the last word) are always zero. Rows are stored step-major:
/// `(t · batch + b) · words_per_row`, the same order as the `f32` tensor `[T, batch, sample…]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpikeBatch {
    steps: usize,
    batch: usize,
    sample_shape: Vec<usize>,
    n: usize,
    words: usize,
    bits: Vec<u64>,
}

impl SpikeBatch {
    /// No spikes anywhere.
    pub fn zeros(steps: usize, batch: usize, sample_shape: &[usize]) -> Self {
        let n: usize = sample_shape.iter().product();
        let words = n.div_ceil(64);
        SpikeBatch {
            steps,
            batch,
            sample_shape: sample_shape.to_vec(),
            n,
            words,
            bits: vec![0; steps * batch * words],
        }
    }

    /// Packs an encoded spike tensor `[T, batch, sample…]` whose values are all exactly 0.0 or
    /// 1.0. Errors on any other value (naming its position) or a tensor of fewer than 3 axes.
    pub fn from_tensor(x: &Tensor) -> Result<Self, InferenceError> {
        if x.shape.len() < 3 || x.data.len() != x.shape.iter().product::<usize>() {
            return Err(InferenceError::InputShape {
                got: x.shape.clone(),
                expected: "[T, batch, sample…] with data of that size".into(),
            });
        }
        let (steps, batch) = (x.shape[0], x.shape[1]);
        let mut s = SpikeBatch::zeros(steps, batch, &x.shape[2..]);
        let (n, words) = (s.n, s.words);
        if n == 0 {
            return Ok(s);
        }
        for (r, (row, out)) in x
            .data
            .chunks_exact(n)
            .zip(s.bits.chunks_exact_mut(words))
            .enumerate()
        {
            if let Some(j) = pack_row(row, out) {
                return Err(InferenceError::Other(format!(
                    "spike input is not binary at step {}, sample {}, element {j} (value {})",
                    r / batch,
                    r % batch,
                    row[j]
                )));
            }
        }
        Ok(s)
    }

    /// Refills `self` from an encoded tensor `[T, batch, sample…]` (shape already checked),
    /// reusing its storage, with the rows split among the threads of `pool` when given: one
    /// sequential pass over the tensor. Returns false, leaving `self` unusable until refilled,
    /// when a value is neither 0.0 nor 1.0.
    pub(crate) fn refill(
        &mut self,
        isa: crate::isa::Isa,
        x: &Tensor,
        pool: Option<&rayon::ThreadPool>,
    ) -> bool {
        use rayon::prelude::*;
        let (steps, batch) = (x.shape[0], x.shape[1]);
        let n: usize = x.shape[2..].iter().product();
        let words = n.div_ceil(64);
        self.steps = steps;
        self.batch = batch;
        self.sample_shape.clear();
        self.sample_shape.extend_from_slice(&x.shape[2..]);
        self.n = n;
        self.words = words;
        self.bits.resize(steps * batch * words, 0);
        if n == 0 {
            return true;
        }
        let pack = |(xs, bs): (&[f32], &mut [u64])| super::simd::pack_spike_rows(isa, xs, n, bs);
        match pool {
            Some(pool) => {
                // Blocks of rows (about 64 KB of input each), claimed by the pool's threads.
                let rows = (16384 / n).max(1);
                pool.install(|| {
                    x.data
                        .par_chunks(rows * n)
                        .zip(self.bits.par_chunks_mut(rows * words))
                        .all(pack)
                })
            }
            None => pack((&x.data, &mut self.bits)),
        }
    }

    /// The `f32` tensor `[T, batch, sample…]` of these spikes (1.0 / 0.0).
    pub fn to_tensor(&self) -> Tensor {
        let mut data = vec![0.0f32; self.steps * self.batch * self.n];
        if self.n > 0 {
            for (row, bits) in data
                .chunks_exact_mut(self.n)
                .zip(self.bits.chunks_exact(self.words))
            {
                for_each_set(bits, |i| row[i] = 1.0);
            }
        }
        let mut shape = vec![self.steps, self.batch];
        shape.extend_from_slice(&self.sample_shape);
        Tensor { shape, data }
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Shape of one sample (without the step and batch axes).
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// Input neurons per sample (`sample_shape` product).
    pub fn neurons(&self) -> usize {
        self.n
    }

    /// `u64` words per `(step, sample)` row: `⌈neurons / 64⌉`.
    pub fn words_per_row(&self) -> usize {
        self.words
    }

    /// The bits of sample `b` at step `t`.
    pub fn row(&self, t: usize, b: usize) -> &[u64] {
        assert!(
            t < self.steps && b < self.batch,
            "row ({t}, {b}) out of range"
        );
        &self.bits[(t * self.batch + b) * self.words..][..self.words]
    }

    /// Whether input neuron `i` of sample `b` spikes at step `t`.
    pub fn get(&self, t: usize, b: usize, i: usize) -> bool {
        assert!(i < self.n, "neuron {i} out of range ({} neurons)", self.n);
        self.row(t, b)[i / 64] >> (i % 64) & 1 == 1
    }

    /// Sets or clears the spike of input neuron `i` of sample `b` at step `t`.
    pub fn set(&mut self, t: usize, b: usize, i: usize, spike: bool) {
        assert!(
            t < self.steps && b < self.batch && i < self.n,
            "({t}, {b}, {i}) out of range"
        );
        let w = &mut self.bits[(t * self.batch + b) * self.words + i / 64];
        let m = 1u64 << (i % 64);
        if spike {
            *w |= m;
        } else {
            *w &= !m;
        }
    }

    /// Total number of spikes.
    pub fn count_ones(&self) -> u64 {
        self.bits.iter().map(|w| w.count_ones() as u64).sum()
    }
}

/// Calls `f(i)` for every set bit `i` of `bits`, ascending.
#[inline]
pub(crate) fn for_each_set(bits: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in bits.iter().enumerate() {
        let mut m = word;
        while m != 0 {
            f(w * 64 + m.trailing_zeros() as usize);
            m &= m - 1;
        }
    }
}

/// Copies one bit-packed row (bit `j` of word `w`: neuron `64·w + j`) into `out.len()` 16-bit
/// mask words (bit `j` of word `w`: neuron `16·w + j`); returns the row's spikes.
pub(crate) fn row_to_masks(row: &[u64], out: &mut [u16]) -> u32 {
    for (m4, &x) in out.chunks_mut(4).zip(row) {
        for (h, m) in m4.iter_mut().enumerate() {
            *m = (x >> (16 * h)) as u16;
        }
    }
    row.iter().map(|x| x.count_ones()).sum()
}

/// Writes the indices of the set bits of `bits`, ascending, to `idx`; returns their number.
/// `idx` must hold at least as many entries as there are set bits.
#[inline]
pub(crate) fn decode_row(bits: &[u64], idx: &mut [u32]) -> usize {
    let mut c = 0;
    for (w, &word) in bits.iter().enumerate() {
        let mut m = word;
        let base = (w * 64) as u32;
        while m != 0 {
            idx[c] = base + m.trailing_zeros();
            c += 1;
            m &= m - 1;
        }
    }
    c
}

/// Packs one row of `f32` spikes into `out` (`⌈row.len() / 64⌉` words); returns the position
/// of the first value that is neither 0.0 nor 1.0, if any (then `out` is incomplete).
fn pack_row(row: &[f32], out: &mut [u64]) -> Option<usize> {
    for (w, (chunk, o)) in row.chunks(64).zip(out.iter_mut()).enumerate() {
        let mut word = 0u64;
        for (k, &v) in chunk.iter().enumerate() {
            if v == 1.0 {
                word |= 1 << k;
            } else if v != 0.0 {
                return Some(w * 64 + k);
            }
        }
        *o = word;
    }
    None
}
