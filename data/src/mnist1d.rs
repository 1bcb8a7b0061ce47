//! MNIST-1D (Greydanus & Kowal, "Scaling down deep learning with MNIST-1D"), generated in Rust
//! following the published algorithm of `greydanus/mnist1d` (`make_dataset` / `transform`) with
//! its `get_dataset_args()` defaults. The random numbers come from ChaCha8 (not numpy's Mersenne
//! Twister), so the samples are a different draw from the same distribution as the canonical
//! `mnist1d_data.pkl`; the generator is deterministic for a seed.
//!
//! Per sample, starting from the class template (12 points, see [`templates`]):
//! 1. pad: add `1e-8`, append `p` zeros, `p = 36 + ⌊u·25⌋` (uniform in `36..=60`);
//! 2. stretch: linear interpolation of the padded signal to `template_len + padding.1 = 72` points
//!    (`x` sampled at `linspace(0, 1, len)`, read at `linspace(0, 1, 72)`);
//! 3. scale: multiply by `1 + scale_coeff·(u − 0.5)`;
//! 4. translate: rotate right by `k`, `k` uniform in `0..max_translation`;
//! 5. correlated noise: where the signal is exactly 0 (the padding), replace it by
//!    `gaussian_filter(corr_noise_scale·N(0,1)ⁿ, σ = 2)` (scipy's default: kernel radius
//!    `⌊4σ + 0.5⌋ = 8`, mode `reflect`, i.e. `… x1 x0 | x0 x1 …`);
//! 6. iid noise: add `iid_noise_scale·N(0,1)` everywhere;
//! 7. shear: subtract `c·linspace(−0.5, 0.5, n)`, `c = shear_scale·(u − 0.5)`;
//! 8. resample: linear interpolation to `final_seq_length = 40` points.
//!
//! Samples are made class by class (`num_samples / 10` each), then shuffled by a random
//! permutation, standardized with the global mean and (population) standard deviation of all
//! values, and split: the first `⌊num_samples·train_split⌋` are train, the rest test.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::error::{DataError, Result};

/// Generation arguments; [`Default`] is `get_dataset_args()` of the reference implementation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mnist1dArgs {
    pub num_samples: usize,
    pub train_split: f64,
    pub template_len: usize,
    /// `(low, high)`: number of zeros appended, uniform in `low..=high`.
    pub padding: (usize, usize),
    pub scale_coeff: f64,
    pub max_translation: usize,
    pub corr_noise_scale: f64,
    pub iid_noise_scale: f64,
    pub shear_scale: f64,
    pub final_seq_length: usize,
    pub seed: u64,
}

impl Default for Mnist1dArgs {
    fn default() -> Self {
        Mnist1dArgs {
            num_samples: 5000,
            train_split: 0.8,
            template_len: 12,
            padding: (36, 60),
            scale_coeff: 0.4,
            max_translation: 48,
            corr_noise_scale: 0.25,
            iid_noise_scale: 2e-2,
            shear_scale: 0.75,
            final_seq_length: 40,
            seed: 42,
        }
    }
}

/// A generated MNIST-1D dataset (row-major `[n, final_seq_length]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist1d {
    pub x_train: Vec<f32>,
    pub y_train: Vec<u8>,
    pub x_test: Vec<f32>,
    pub y_test: Vec<u8>,
    /// Sample positions: `linspace(−5, 5, 12)/6` stretched as the signals were, divided by the
    /// global standard deviation (the reference's `new_t / xs.std()`).
    pub t: Vec<f32>,
    pub seq_len: usize,
}

/// The ten 12-point digit templates, whitened per template (zero mean, unit population std),
/// shifted so each starts at 0, and divided by 6 — the reference's `get_templates()`.
/// Returns `(x [10][12], t [12])` with `t = linspace(−5, 5, 12)/6`.
pub fn templates() -> (Vec<[f64; 12]>, [f64; 12]) {
    const RAW: [[f64; 12]; 10] = [
        [5.0, 6.0, 6.5, 6.75, 7.0, 7.0, 7.0, 7.0, 6.75, 6.5, 6.0, 5.0],
        [5.0, 3.0, 3.0, 3.4, 3.8, 4.2, 4.6, 5.0, 5.4, 5.8, 5.0, 5.0],
        [5.0, 6.0, 6.5, 6.5, 6.0, 5.25, 4.75, 4.0, 3.5, 3.5, 4.0, 5.0],
        [5.0, 6.0, 6.5, 6.5, 6.0, 5.0, 5.0, 6.0, 6.5, 6.5, 6.0, 5.0],
        [5.0, 4.4, 3.8, 3.2, 2.6, 2.6, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
        [5.0, 3.0, 3.0, 3.0, 3.0, 5.0, 6.0, 6.5, 6.5, 6.0, 4.5, 5.0],
        [5.0, 4.0, 3.5, 3.25, 3.0, 3.0, 3.0, 3.0, 3.25, 3.5, 4.0, 5.0],
        [5.0, 7.0, 7.0, 6.6, 6.2, 5.8, 5.4, 5.0, 4.6, 4.2, 5.0, 5.0],
        [5.0, 4.0, 3.5, 3.5, 4.0, 5.0, 5.0, 4.0, 3.5, 3.5, 4.0, 5.0],
        [5.0, 4.0, 3.5, 3.5, 4.0, 5.0, 5.0, 5.0, 5.0, 4.7, 4.3, 5.0],
    ];
    let x = RAW
        .iter()
        .map(|r| {
            let mean = r.iter().sum::<f64>() / 12.0;
            let std = (r.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 12.0).sqrt();
            let w: Vec<f64> = r.iter().map(|v| (v - mean) / std).collect();
            let mut out = [0.0; 12];
            for (o, v) in out.iter_mut().zip(&w) {
                *o = (v - w[0]) / 6.0;
            }
            out
        })
        .collect();
    let mut t = [0.0; 12];
    for (i, v) in t.iter_mut().enumerate() {
        *v = (-5.0 + 10.0 * i as f64 / 11.0) / 6.0;
    }
    (x, t)
}

/// `numpy.linspace(a, b, n)[i]`.
fn linspace(a: f64, b: f64, n: usize, i: usize) -> f64 {
    if n == 1 {
        a
    } else {
        a + (b - a) * i as f64 / (n - 1) as f64
    }
}

/// Linear interpolation of `x`, sampled at `linspace(0, 1, len)`, at `linspace(0, 1, n)`
/// (the reference's `interp1d(..., kind='linear')`).
fn interpolate(x: &[f64], n: usize) -> Vec<f64> {
    let len = x.len();
    if len == 1 {
        return vec![x[0]; n];
    }
    (0..n)
        .map(|j| {
            let pos = linspace(0.0, 1.0, n, j) * (len - 1) as f64;
            let i = (pos.floor() as usize).min(len - 2);
            let f = pos - i as f64;
            x[i] * (1.0 - f) + x[i + 1] * f
        })
        .collect()
}

/// scipy.ndimage.gaussian_filter1d with `sigma`, truncate 4, mode `reflect`.
fn gaussian_filter(x: &[f64], sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as isize;
    let mut k: Vec<f64> = (-radius..=radius)
        .map(|i| (-0.5 * (i * i) as f64 / (sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let n = x.len() as isize;
    let at = |mut i: isize| -> f64 {
        // half-sample symmetric reflection, repeated until inside
        loop {
            if i < 0 {
                i = -i - 1;
            } else if i >= n {
                i = 2 * n - i - 1;
            } else {
                return x[i as usize];
            }
        }
    };
    (0..n)
        .map(|c| {
            k.iter()
                .enumerate()
                .map(|(j, w)| w * at(c + j as isize - radius))
                .sum()
        })
        .collect()
}

/// One transformed sample (steps 1–8 of the module doc), `final_seq_length` points.
fn transform(template: &[f64], args: &Mnist1dArgs, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let (lo, hi) = args.padding;
    let p = lo + (rng.random::<f64>() * (hi - lo + 1) as f64) as usize;
    let mut x: Vec<f64> = template.iter().map(|v| v + 1e-8).collect();
    x.resize(x.len() + p, 0.0);
    let n = args.template_len + hi;
    let mut x = interpolate(&x, n);
    let scale = 1.0 + args.scale_coeff * (rng.random::<f64>() - 0.5);
    x.iter_mut().for_each(|v| *v *= scale);
    let k = rng.random_range(0..args.max_translation.max(1));
    x.rotate_right(k % n);
    let corr: Vec<f64> = (0..n)
        .map(|_| args.corr_noise_scale * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let corr = gaussian_filter(&corr, 2.0);
    for (v, c) in x.iter_mut().zip(&corr) {
        if *v == 0.0 {
            *v = *c;
        }
    }
    for v in x.iter_mut() {
        *v += args.iid_noise_scale * rng.sample::<f64, _>(StandardNormal);
    }
    let coeff = args.shear_scale * (rng.random::<f64>() - 0.5);
    for (i, v) in x.iter_mut().enumerate() {
        *v -= coeff * linspace(-0.5, 0.5, n, i);
    }
    interpolate(&x, args.final_seq_length)
}

/// Generates MNIST-1D. Errors on arguments the algorithm cannot use (fewer than 10 samples,
/// a split outside `(0, 1)`, a sequence length of 0, `padding.0 > padding.1`).
pub fn generate(args: &Mnist1dArgs) -> Result<Mnist1d> {
    if args.num_samples < 10
        || !(args.train_split > 0.0 && args.train_split < 1.0)
        || args.final_seq_length == 0
        || args.template_len != 12
        || args.padding.0 > args.padding.1
    {
        return Err(DataError::Invalid(format!(
            "MNIST-1D arguments not usable: {args:?}"
        )));
    }
    let (tpl, t12) = templates();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let per_class = args.num_samples / tpl.len();
    let total = per_class * tpl.len();
    let len = args.final_seq_length;
    let mut xs = Vec::with_capacity(total * len);
    let mut ys = Vec::with_capacity(total);
    for (label, template) in tpl.iter().enumerate() {
        for _ in 0..per_class {
            xs.extend(transform(template, args, &mut rng));
            ys.push(label as u8);
        }
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.shuffle(&mut rng);
    let count = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / count;
    let std = (xs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count).sqrt();
    let split = (total as f64 * args.train_split) as usize;
    let mut x_train = Vec::with_capacity(split * len);
    let mut x_test = Vec::with_capacity((total - split) * len);
    let mut y_train = Vec::with_capacity(split);
    let mut y_test = Vec::with_capacity(total - split);
    for (pos, &i) in order.iter().enumerate() {
        let (xd, yd) = if pos < split {
            (&mut x_train, &mut y_train)
        } else {
            (&mut x_test, &mut y_test)
        };
        xd.extend(
            xs[i * len..(i + 1) * len]
                .iter()
                .map(|v| ((v - mean) / std) as f32),
        );
        yd.push(ys[i]);
    }
    let t = interpolate(&interpolate(&t12, args.template_len + args.padding.1), len)
        .into_iter()
        .map(|v| (v / std) as f32)
        .collect();
    Ok(Mnist1d {
        x_train,
        y_train,
        x_test,
        y_test,
        t,
        seq_len: len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_start_at_zero_and_are_scaled() {
        let (x, t) = templates();
        assert_eq!(x.len(), 10);
        for r in &x {
            assert_eq!(r[0], 0.0);
            // whitened then shifted: population std of each template is 1/6
            let m = r.iter().sum::<f64>() / 12.0;
            let s = (r.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 12.0).sqrt();
            assert!((s - 1.0 / 6.0).abs() < 1e-12);
        }
        assert!((t[0] + 5.0 / 6.0).abs() < 1e-12 && (t[11] - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn interpolation_and_filter_match_reference_semantics() {
        assert_eq!(
            interpolate(&[0.0, 1.0, 0.0], 5),
            vec![0.0, 0.5, 1.0, 0.5, 0.0]
        );
        // a constant survives the reflect-mode Gaussian unchanged; an impulse spreads with the
        // kernel's centre weight 1/Σexp(−i²/8), i = −8..=8
        let c = gaussian_filter(&[2.0; 30], 2.0);
        assert!(c.iter().all(|v| (v - 2.0).abs() < 1e-12));
        let mut imp = vec![0.0; 30];
        imp[15] = 1.0;
        let g = gaussian_filter(&imp, 2.0);
        let norm: f64 = (-8..=8).map(|i: i32| (-(i * i) as f64 / 8.0).exp()).sum();
        assert!((g[15] - 1.0 / norm).abs() < 1e-12);
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(g[6], 0.0); // beyond the radius of 8
                               // reflection at the edge: an impulse at 0 gets its mirrored weight added at 0
        let mut e = vec![0.0; 30];
        e[0] = 1.0;
        let h = gaussian_filter(&e, 2.0);
        assert!((h[0] - (1.0 + (-1.0f64 / 8.0).exp()) / norm).abs() < 1e-12);
    }

    #[test]
    fn generated_dataset_has_reference_shape_and_is_standardized() {
        let d = generate(&Mnist1dArgs::default()).unwrap();
        assert_eq!((d.x_train.len(), d.y_train.len()), (4000 * 40, 4000));
        assert_eq!((d.x_test.len(), d.y_test.len()), (1000 * 40, 1000));
        assert_eq!(d.t.len(), 40);
        let all: Vec<f64> = d
            .x_train
            .iter()
            .chain(&d.x_test)
            .map(|&v| v as f64)
            .collect();
        let m = all.iter().sum::<f64>() / all.len() as f64;
        let s = (all.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / all.len() as f64).sqrt();
        assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-5, "{m} {s}");
        assert!(all.iter().all(|v| v.is_finite()));
        // exactly 500 per class overall
        let mut counts = [0usize; 10];
        d.y_train
            .iter()
            .chain(&d.y_test)
            .for_each(|&y| counts[y as usize] += 1);
        assert_eq!(counts, [500; 10]);
        // deterministic for a seed, different for another
        assert_eq!(generate(&Mnist1dArgs::default()).unwrap(), d);
        let other = generate(&Mnist1dArgs {
            seed: 43,
            ..Default::default()
        })
        .unwrap();
        assert_ne!(other.x_train, d.x_train);
    }
}
