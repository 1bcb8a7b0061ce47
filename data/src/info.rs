//! Summary statistics of a dataset (`joulebench data info`).

use serde::Serialize;

use crate::dataset::{Dataset, Pixels, Split};

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitInfo {
    pub name: String,
    pub count: usize,
    /// Samples per label `0..num_classes`.
    pub class_counts: Vec<usize>,
    /// Mean, population standard deviation, min and max of every value of every sample, on the
    /// scale models see before normalization: bytes divided by 255, f32 as stored. Computed
    /// exactly (f64 accumulation over all values).
    pub value_mean: f64,
    pub value_std: f64,
    pub value_min: f64,
    pub value_max: f64,
}

/// Statistics of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub dataset: String,
    pub source: String,
    /// One sample's shape, channels first.
    pub sample_shape: Vec<usize>,
    /// Storage type: `u8` (scaled by 1/255 when read) or `f32`.
    pub storage: String,
    pub num_classes: usize,
    pub class_names: Vec<String>,
    pub train: SplitInfo,
    pub test: SplitInfo,
}

fn split_info(name: &str, s: &Split, classes: usize) -> SplitInfo {
    let (mut sum, mut sq, mut min, mut max) = (0.0f64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    let n = s.pixels.len();
    match &s.pixels {
        Pixels::U8(v) => {
            // exact integer histogram, then scale
            let mut hist = [0u64; 256];
            v.iter().for_each(|&b| hist[b as usize] += 1);
            for (b, &c) in hist.iter().enumerate() {
                if c > 0 {
                    let x = b as f64 / 255.0;
                    sum += c as f64 * x;
                    sq += c as f64 * x * x;
                    min = min.min(x);
                    max = max.max(x);
                }
            }
        }
        Pixels::F32(v) => {
            for &x in v {
                let x = x as f64;
                sum += x;
                sq += x * x;
                min = min.min(x);
                max = max.max(x);
            }
        }
    }
    let (mean, std) = if n == 0 {
        (f64::NAN, f64::NAN)
    } else {
        let m = sum / n as f64;
        (m, (sq / n as f64 - m * m).max(0.0).sqrt())
    };
    SplitInfo {
        name: name.to_string(),
        count: s.len(),
        class_counts: s.class_counts(classes),
        value_mean: mean,
        value_std: std,
        value_min: if n == 0 { f64::NAN } else { min },
        value_max: if n == 0 { f64::NAN } else { max },
    }
}

impl Dataset {
    /// Counts, shape, class balance and value statistics of both splits.
    pub fn info(&self) -> DatasetInfo {
        let c = self.num_classes();
        DatasetInfo {
            dataset: self.name().to_string(),
            source: self.source.clone(),
            sample_shape: self.sample_shape().to_vec(),
            storage: self.train.pixels.dtype().to_string(),
            num_classes: c,
            class_names: self.class_names(),
            train: split_info("train", &self.train, c),
            test: split_info("test", &self.test, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dataset::{Dataset, DatasetKind, Pixels, Split};

    #[test]
    fn stats_of_known_values() {
        let train = Split::new(vec![1, 2], Pixels::U8(vec![0, 255, 255, 255]), vec![0, 3]).unwrap();
        let test = Split::new(vec![1, 2], Pixels::U8(vec![51, 51]), vec![1]).unwrap();
        let d = Dataset {
            kind: DatasetKind::Mnist,
            train,
            test,
            source: "mem".into(),
        };
        let i = d.info();
        assert_eq!(i.train.class_counts, vec![1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert!((i.train.value_mean - 0.75).abs() < 1e-12);
        assert!((i.train.value_std - 0.75f64.sqrt() * 0.5).abs() < 1e-12); // sqrt(0.75 - 0.5625)
        assert!((i.test.value_mean - 0.2).abs() < 1e-12 && i.test.value_std.abs() < 1e-7);
        assert_eq!((i.train.value_min, i.train.value_max), (0.0, 1.0));
    }
}
