//! The Rust MNIST-1D generator against the canonical arrays (`$JOULEBENCH_DATA/mnist1d`, the
//! reference `mnist1d_data.pkl`). The generator draws its random numbers from ChaCha8, not numpy,
//! so the samples differ; the test compares the distribution.
//!
//! Tolerances: per-position means and standard deviations are estimated from 5000 samples with
//! values of std ≈ 1, so the difference between two independent draws has a standard error of
//! about √2·1.1/√5000 ≈ 0.022 (means) and less for the stds; across six generator seeds the
//! largest per-position difference to seed 42 was 0.055 (means) and 0.057 (stds). The bounds
//! (0.12) sit above 5 standard errors. The same bound rejects generators with a real defect
//! (checked below as a negative control): no shear (max |Δstd| 0.21), doubled correlated noise
//! (0.22), no translation (1.25). Class means (500 samples per class) have standard errors of
//! ≈ 0.07 per position; their bound is 0.35.

use joulebench_data::{Dataset, DatasetKind, Mnist1dArgs};

/// Per-position mean and population std over the rows of `[n, 40]` data.
fn profile(rows: &[&[f32]]) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() as f64;
    let mut m = vec![0.0; 40];
    let mut s = vec![0.0; 40];
    for r in rows {
        for j in 0..40 {
            m[j] += r[j] as f64 / n;
        }
    }
    for r in rows {
        for j in 0..40 {
            s[j] += (r[j] as f64 - m[j]).powi(2) / n;
        }
    }
    (m, s.into_iter().map(f64::sqrt).collect())
}

fn rows(d: &Dataset) -> (Vec<Vec<f32>>, Vec<u8>) {
    let mut x = d.train.to_tensor().data;
    x.extend(d.test.to_tensor().data);
    let mut y = d.train.labels.clone();
    y.extend(&d.test.labels);
    (x.chunks(40).map(|c| c.to_vec()).collect(), y)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn generated_matches_canonical_statistics() {
    let Some(dir) = joulebench_testkit::shared_data("mnist1d") else {
        return;
    };
    let canon = Dataset::load(DatasetKind::Mnist1d, Some(&dir)).unwrap();
    let gen = Dataset::mnist1d_generated(&Mnist1dArgs::default()).unwrap();
    // shapes and split sizes
    assert_eq!(canon.sample_shape(), gen.sample_shape());
    assert_eq!(
        (canon.train.len(), canon.test.len()),
        (gen.train.len(), gen.test.len())
    );
    assert_eq!((gen.train.len(), gen.test.len()), (4000, 1000));
    // class balance: 500 per class overall in both; train counts are hypergeometric
    // (σ ≈ 8.5 around 400), so both lie within ±45
    let (cx, cy) = rows(&canon);
    let (gx, gy) = rows(&gen);
    for y in [&cy, &gy] {
        let mut c = [0; 10];
        y.iter().for_each(|&l| c[l as usize] += 1);
        assert_eq!(c, [500; 10]);
    }
    for d in [&canon, &gen] {
        assert!(
            d.train
                .class_counts(10)
                .iter()
                .all(|&c| c.abs_diff(400) <= 45),
            "{:?}",
            d.train.class_counts(10)
        );
    }
    // per-position mean and std over all 5000 samples
    let cr: Vec<&[f32]> = cx.iter().map(|r| r.as_slice()).collect();
    let gr: Vec<&[f32]> = gx.iter().map(|r| r.as_slice()).collect();
    let (cm, cs) = profile(&cr);
    let (gm, gs) = profile(&gr);
    let (dm, ds) = (max_abs_diff(&cm, &gm), max_abs_diff(&cs, &gs));
    eprintln!("per-position max |Δmean| {dm:.4}, max |Δstd| {ds:.4}");
    assert!(dm < 0.12, "per-position means differ by up to {dm}");
    assert!(ds < 0.12, "per-position stds differ by up to {ds}");
    // per-class mean profiles (the templates' shapes after all augmentations)
    let mut worst = 0.0f64;
    for class in 0..10u8 {
        let c: Vec<&[f32]> = cx
            .iter()
            .zip(&cy)
            .filter(|(_, &l)| l == class)
            .map(|(r, _)| r.as_slice())
            .collect();
        let g: Vec<&[f32]> = gx
            .iter()
            .zip(&gy)
            .filter(|(_, &l)| l == class)
            .map(|(r, _)| r.as_slice())
            .collect();
        worst = worst.max(max_abs_diff(&profile(&c).0, &profile(&g).0));
    }
    eprintln!("per-class per-position max |Δmean| {worst:.4}");
    assert!(worst < 0.35, "class mean profiles differ by up to {worst}");

    // negative control: the std-profile bound has the power to reject a wrong generator
    let d = Mnist1dArgs::default();
    for (what, args) in [
        (
            "no shear",
            Mnist1dArgs {
                shear_scale: 0.0,
                ..d.clone()
            },
        ),
        (
            "doubled correlated noise",
            Mnist1dArgs {
                corr_noise_scale: 0.5,
                ..d.clone()
            },
        ),
    ] {
        let bad = Dataset::mnist1d_generated(&args).unwrap();
        let (bx, _) = rows(&bad);
        let br: Vec<&[f32]> = bx.iter().map(|r| r.as_slice()).collect();
        let dsb = max_abs_diff(&cs, &profile(&br).1);
        assert!(
            dsb >= 0.12,
            "{what}: std profile only {dsb} away; the bound cannot tell"
        );
    }
}
