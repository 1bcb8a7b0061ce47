//! Currents relative to a baseline spike pattern, for inputs that spike at most steps.
//!
//! Rate-coded images have bright pixels that spike at almost every step (an MNIST digit's
//! saturated strokes). Adding their weight rows at every step repeats the same work: with a
//! baseline set `B` of inputs, a layer's current at step `t` is, exactly in real arithmetic,
//!
//! `I[t] = (bias + Σ_{i∈B} W[i]) + Σ_{i∈S[t]∖B} W[i] − Σ_{i∈B∖S[t]} W[i]`,
//!
//! so the engine forms `bias + Σ_B W` once per chunk of steps and per step adds the rows of the
//! inputs that spike outside `B` and subtracts those of `B`'s inputs that stay silent. An input
//! spiking at `c` of a chunk's `n` steps costs `c` row additions outside `B` and `1 + n − c`
//! inside, so `B` holds exactly the inputs with `2c > n + 1`; when there are none, nothing
//! changes. On MNIST (T = 100) this cuts the input layer's row additions to about a quarter.
//!
//! The sums are the same in real arithmetic but not in floating point: currents differ from
//! step-by-step summation by rounding (a few ulps), as any other summation order would (a BLAS
//! dense layer's included). Spikes still come from the same currents up to that rounding; the
//! engine's exactness tests cover the baseline, and [`super::EventEngine::set_baseline`]
//! turns it off for bit-for-bit comparisons.

use super::aligned::LANES;
use super::simd;
use crate::isa::Isa;

/// The smallest share of a chunk's row additions a baseline must save to be used: below it,
/// splitting the lists costs about what it saves (measured on snn-temporal: at 10 % uniform
/// input rate a few hidden neurons fire at most steps and a baseline saving 4 % of the
/// additions made the run slower).
pub(crate) const MIN_SAVED: f64 = 0.125;

/// One worker's buffers for splitting a chunk's spikes against a baseline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Baseline {
    /// `B` as bits.
    base_bits: Vec<u16>,
    /// `B`'s inputs, ascending (then room for whole-vector stores).
    pub base: Vec<u32>,
    /// Step `t` adds the rows `plus[plus_offs[t]..plus_offs[t + 1]]` and subtracts
    /// `minus[minus_offs[t]..minus_offs[t + 1]]`.
    pub plus: Vec<u32>,
    pub plus_offs: Vec<usize>,
    pub minus: Vec<u32>,
    pub minus_offs: Vec<usize>,
    /// Row additions the baseline saved in the last [`Baseline::split`].
    pub saved_rows: u64,
}

impl Baseline {
    /// Buffers for up to `steps` steps of up to `words` mask words each, so that
    /// [`Baseline::split`] allocates nothing.
    pub fn new(words: usize, steps: usize) -> Self {
        let n = words * steps;
        Baseline {
            base_bits: Vec::with_capacity(words),
            base: Vec::with_capacity(words * LANES),
            plus: vec![0; n * LANES],
            plus_offs: Vec::with_capacity(steps + 1),
            minus: vec![0; n * LANES],
            minus_offs: Vec::with_capacity(steps + 1),
            saved_rows: 0,
        }
    }

    /// Step `t`'s inputs of the last [`Baseline::split`]: those added (spiking outside the
    /// baseline) and those subtracted (the baseline's inputs silent at `t`), each ascending.
    pub fn step(&self, t: usize) -> (&[u32], &[u32]) {
        (
            &self.plus[self.plus_offs[t]..self.plus_offs[t + 1]],
            &self.minus[self.minus_offs[t]..self.minus_offs[t + 1]],
        )
    }

    /// Splits `steps` steps of spikes given as bit masks (input `16·w + j` spikes at step `t`
    /// when bit `j` of `masks[t·words + w]` is set), `spikes` in all, against the baseline
    /// that saves the most row additions. Returns the size of the baseline (its inputs are
    /// `base[..size]`), 0 when it would save fewer than [`MIN_SAVED`] of the row additions
    /// (no input spikes at more than `(steps + 1) / 2` steps, or too few do): the steps' own
    /// spike lists are then to be used as they are.
    pub fn split(
        &mut self,
        isa: Isa,
        masks: &[u16],
        words: usize,
        steps: usize,
        spikes: usize,
    ) -> usize {
        self.saved_rows = 0;
        // An input in the baseline spikes at more than (steps + 1) / 2 steps.
        if 2 * spikes < steps + 2 {
            return 0;
        }
        self.base_bits.resize(words, 0);
        let saved = simd::frequent_inputs(isa, masks, words, steps, &mut self.base_bits);
        if saved == 0 || (saved as f64) < MIN_SAVED * spikes as f64 {
            return 0;
        }
        self.saved_rows = saved;
        let n = steps * words;
        // The list kernels store whole vectors: room for every bit.
        let room = n * LANES;
        for v in [&mut self.plus, &mut self.minus] {
            if v.len() < room {
                v.resize(room, 0);
            }
        }
        self.base.resize(words * LANES, 0);
        for v in [&mut self.plus_offs, &mut self.minus_offs] {
            v.resize(steps + 1, 0);
        }
        let mut base_offs = [0usize; 2];
        simd::masks_to_lists(
            isa,
            &self.base_bits,
            words,
            1,
            &mut self.base,
            &mut base_offs,
        );
        simd::split_against(
            isa,
            masks,
            &self.base_bits,
            words,
            steps,
            &mut self.plus,
            &mut self.plus_offs,
            &mut self.minus,
            &mut self.minus_offs,
        );
        base_offs[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_split_into_additions_and_subtractions_of_the_baseline() {
        // 5 steps, 40 inputs (three words): input 3 spikes at every step, 20 at 4 of 5,
        // 39 at 3 of 5 (2·3 = 6 = n + 1: not worth it), 7 once.
        let steps: Vec<Vec<u32>> = vec![
            vec![3, 7, 20, 39],
            vec![3, 20, 39],
            vec![3, 20],
            vec![3, 39],
            vec![3, 20],
        ];
        let words = 3;
        let mut masks = vec![0u16; 5 * words];
        for (t, s) in steps.iter().enumerate() {
            for &i in s {
                masks[t * words + i as usize / 16] |= 1 << (i % 16);
            }
        }
        for isa in Isa::supported() {
            let mut b = Baseline::default();
            assert_eq!(b.split(isa, &masks, words, 5, 14), 2, "{isa:?}");
            assert_eq!(b.base[..2], [3, 20]);
            // 3: 5 additions → 1 + 0; 20: 4 → 1 + 1.
            assert_eq!(b.saved_rows, 4 + 2);
            let list = |v: &[u32], o: &[usize], t: usize| v[o[t]..o[t + 1]].to_vec();
            let plus: Vec<_> = (0..5).map(|t| list(&b.plus, &b.plus_offs, t)).collect();
            let minus: Vec<_> = (0..5).map(|t| list(&b.minus, &b.minus_offs, t)).collect();
            assert_eq!(plus, vec![vec![7, 39], vec![39], vec![], vec![39], vec![]]);
            assert_eq!(minus, vec![vec![], vec![], vec![], vec![20], vec![]]);
            // Without a frequent input there is no baseline.
            let sparse = [1u16, 0, 0, 2, 0, 0, 0, 0, 1];
            assert_eq!(b.split(isa, &sparse, words, 3, 3), 0, "{isa:?}");
            assert_eq!(b.saved_rows, 0);
        }
    }

    #[test]
    fn every_instruction_set_splits_alike() {
        // Random masks of several widths (more than one 32-word group, odd word counts) and
        // rates: every ISA must give the baseline, lists and savings of the scalar code, and
        // the lists must rebuild each step's spikes.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (words, steps) in [(49, 100), (70, 37), (1, 5), (8, 100)] {
            let rate: Vec<f64> = (0..words * LANES)
                .map(|_| rng.random::<f64>().powi(2))
                .collect();
            let masks: Vec<u16> = (0..steps * words)
                .map(|k| {
                    let w = k % words;
                    (0..LANES).fold(0u16, |m, j| {
                        m | (((rng.random::<f64>() < rate[w * LANES + j]) as u16) << j)
                    })
                })
                .collect();
            let mut want = Baseline::default();
            let spikes = masks.iter().map(|m| m.count_ones() as usize).sum();
            let nb = want.split(Isa::Scalar, &masks, words, steps, spikes);
            assert!(nb > 0, "some inputs are frequent");
            for t in 0..steps {
                let mut got = vec![0u16; words];
                for &i in &want.base[..nb] {
                    got[i as usize / LANES] |= 1 << (i % 16);
                }
                let (plus, minus) = want.step(t);
                for &i in minus {
                    got[i as usize / LANES] &= !(1 << (i % 16));
                }
                for &i in plus {
                    got[i as usize / LANES] |= 1 << (i % 16);
                }
                assert_eq!(got[..], masks[t * words..(t + 1) * words], "step {t}");
            }
            for isa in Isa::supported() {
                let mut b = Baseline::new(words, steps);
                assert_eq!(b.split(isa, &masks, words, steps, spikes), nb, "{isa:?}");
                assert_eq!(b.base[..nb], want.base[..nb]);
                assert_eq!(b.saved_rows, want.saved_rows);
                let n = |o: &[usize]| o[steps];
                assert_eq!(b.plus_offs[..=steps], want.plus_offs[..=steps]);
                assert_eq!(b.minus_offs[..=steps], want.minus_offs[..=steps]);
                assert_eq!(b.plus[..n(&b.plus_offs)], want.plus[..n(&want.plus_offs)]);
                assert_eq!(
                    b.minus[..n(&b.minus_offs)],
                    want.minus[..n(&want.minus_offs)]
                );
            }
        }
    }
}
