//! The [`Dataset`] type: train and test [`Split`]s, the sample shape (channels first), class
//! names, and loading from disk (IDX, CSV, MNIST-1D raw arrays) or generation (MNIST-1D).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use joulebench_models::{DataShape, Normalize, Tensor};

use crate::error::{DataError, Result};
use crate::fetch::default_fetch_dir;
use crate::mnist1d::{generate, Mnist1dArgs};

/// The datasets joulebench knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    /// MNIST-1D, generated (the default) or loaded from its canonical raw arrays.
    Mnist1d,
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

impl DatasetKind {
    pub const ALL: [DatasetKind; 3] = [
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Mnist1d,
    ];

    /// `mnist`, `fashion-mnist` or `mnist1d` (also the folder name under `$JOULEBENCH_DATA`).
    pub fn name(&self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Mnist1d => "mnist1d",
        }
    }

    pub fn num_classes(&self) -> usize {
        10
    }

    /// Class names by label: Fashion-MNIST's ten names, digits `0`…`9` otherwise.
    pub fn class_names(&self) -> Vec<String> {
        match self {
            DatasetKind::FashionMnist => FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            _ => (0..10).map(|d| d.to_string()).collect(),
        }
    }

    /// One raw sample, channels first: `[1, 28, 28]` or `[1, 40]` (MNIST-1D).
    pub fn sample_shape(&self) -> Vec<usize> {
        match self {
            DatasetKind::Mnist1d => vec![1, 40],
            _ => vec![1, 28, 28],
        }
    }

    /// The usual normalization of `[0, 1]`-scaled pixels: MNIST 0.1307/0.3081, Fashion-MNIST
    /// 0.2860/0.3530 (train-set mean and std); `None` for MNIST-1D, which is already standardized.
    pub fn normalize(&self) -> Option<Normalize> {
        match self {
            DatasetKind::Mnist => Some(Normalize {
                mean: 0.1307,
                std: 0.3081,
            }),
            DatasetKind::FashionMnist => Some(Normalize {
                mean: 0.2860,
                std: 0.3530,
            }),
            DatasetKind::Mnist1d => None,
        }
    }

    /// What model presets need to know about this dataset: its name, raw sample shape,
    /// classes and usual normalization ([`DatasetKind::normalize`]). Shapes only: the spike
    /// encoders' rescaling of MNIST-1D needs the data (`spike_scale` is `None` here; a spec to
    /// train or run comes from [`Dataset::data_shape`]).
    pub fn data_shape(&self) -> DataShape {
        DataShape {
            dataset: self.name().to_string(),
            sample_shape: self.sample_shape(),
            num_classes: self.num_classes(),
            normalize: self.normalize(),
            spike_scale: None,
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;
    /// Accepts the names of [`DatasetKind::name`], case-insensitive, plus `fashion`,
    /// `fashion_mnist`, `fashionmnist`, `mnist-1d`, `mnist_1d`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" | "fashion" => {
                Ok(DatasetKind::FashionMnist)
            }
            "mnist1d" | "mnist-1d" | "mnist_1d" => Ok(DatasetKind::Mnist1d),
            _ => Err(DataError::UnknownDataset(s.to_string())),
        }
    }
}

/// Sample values as stored: images as bytes `0..=255`, MNIST-1D as f32.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

impl Pixels {
    pub fn len(&self) -> usize {
        match self {
            Pixels::U8(v) => v.len(),
            Pixels::F32(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The element type's name: `u8` or `f32`.
    pub fn dtype(&self) -> &'static str {
        match self {
            Pixels::U8(_) => "u8",
            Pixels::F32(_) => "f32",
        }
    }
}

/// `b as f32 / 255.0` for every byte (a division, as torchvision's `ToTensor`, so values match
/// PyTorch pipelines bit for bit).
static U8_TO_UNIT: [f32; 256] = {
    let mut t = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f32 / 255.0;
        i += 1;
    }
    t
};

/// One split (train or test): samples and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Shape of one sample, channels first.
    pub sample_shape: Vec<usize>,
    /// `len() × prod(sample_shape)` values, sample after sample.
    pub pixels: Pixels,
    pub labels: Vec<u8>,
}

/// The map spike encoders apply to data outside `[0, 1]`: `x ← (x − (μ − 2σ)) / 4σ` with the
/// mean `μ` and standard deviation `σ` of `pixels` (the training split), which the encoder then
/// clamps to `[0, 1]`: the central ±2σ (95 % of a normal variable, 96 % of MNIST-1D's values)
/// spread over the whole spike-probability range, so a standardized dataset such as MNIST-1D
/// keeps its negative half instead of having it clamped to 0 by rate coding, and keeps its
/// contrast (its extremes, −5.5 and 4.5 on MNIST-1D, would squeeze most values into
/// probabilities 0.4–0.7 if the full range were used). `None` when the values already lie in
/// `[0, 1]` (8-bit images are read as `v / 255`) or have no spread.
pub fn spike_scale(pixels: &Pixels) -> Option<Normalize> {
    let Pixels::F32(v) = pixels else {
        return None;
    };
    let (mut n, mut sum, mut sum2) = (0usize, 0.0f64, 0.0f64);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &x in v.iter().filter(|x| x.is_finite()) {
        n += 1;
        sum += x as f64;
        sum2 += (x as f64) * (x as f64);
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if n == 0 || (lo >= 0.0 && hi <= 1.0) {
        return None;
    }
    let mean = sum / n as f64;
    let std = (sum2 / n as f64 - mean * mean).max(0.0).sqrt();
    if std.is_nan() || std <= 0.0 {
        return None;
    }
    Some(Normalize {
        mean: (mean - 2.0 * std) as f32,
        std: (4.0 * std) as f32,
    })
}

impl Split {
    /// A split; errors when the number of values is not `labels.len() × prod(sample_shape)`.
    pub fn new(sample_shape: Vec<usize>, pixels: Pixels, labels: Vec<u8>) -> Result<Self> {
        let per: usize = sample_shape.iter().product();
        if pixels.len() != per * labels.len() {
            return Err(DataError::Invalid(format!(
                "{} values for {} samples of shape {sample_shape:?} (need {})",
                pixels.len(),
                labels.len(),
                per * labels.len()
            )));
        }
        Ok(Split {
            sample_shape,
            pixels,
            labels,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Writes sample `i` as f32 into `out` (`sample_len()` values): bytes scaled to `[0, 1]`
    /// (`v / 255`), f32 values unchanged. Panics when `i >= len()`.
    pub fn write_sample(&self, i: usize, out: &mut [f32]) {
        let n = self.sample_len();
        match &self.pixels {
            Pixels::U8(v) => {
                for (o, &b) in out.iter_mut().zip(&v[i * n..(i + 1) * n]) {
                    *o = U8_TO_UNIT[b as usize];
                }
            }
            Pixels::F32(v) => out.copy_from_slice(&v[i * n..(i + 1) * n]),
        }
    }

    /// The samples at `indices` as an f32 batch `[indices.len(), sample_shape…]` (bytes scaled
    /// to `[0, 1]`). Panics when an index is `>= len()` (like slice indexing).
    pub fn batch(&self, indices: &[usize]) -> Tensor {
        let n = self.sample_len();
        let mut data = vec![0.0f32; indices.len() * n];
        for (k, &i) in indices.iter().enumerate() {
            assert!(
                i < self.len(),
                "sample index {i} out of range for a split of {}",
                self.len()
            );
            self.write_sample(i, &mut data[k * n..(k + 1) * n]);
        }
        let mut shape = vec![indices.len()];
        shape.extend_from_slice(&self.sample_shape);
        Tensor { shape, data }
    }

    /// Samples `start..end` (clamped to `len()`) as an f32 batch.
    pub fn batch_range(&self, start: usize, end: usize) -> Tensor {
        let end = end.min(self.len());
        let idx: Vec<usize> = (start.min(end)..end).collect();
        self.batch(&idx)
    }

    /// The labels at `indices` as `usize`.
    pub fn labels_at(&self, indices: &[usize]) -> Vec<usize> {
        indices.iter().map(|&i| self.labels[i] as usize).collect()
    }

    /// The whole split as one f32 tensor `[len, sample_shape…]`.
    pub fn to_tensor(&self) -> Tensor {
        self.batch_range(0, self.len())
    }

    /// The first `n` samples (all when `n >= len()`).
    pub fn head(&self, n: usize) -> Split {
        self.range(0, n)
    }

    /// Samples `start..end` (both clamped to `len()`) as a new split.
    pub fn range(&self, start: usize, end: usize) -> Split {
        let end = end.min(self.len());
        let start = start.min(end);
        let per = self.sample_len();
        let pixels = match &self.pixels {
            Pixels::U8(v) => Pixels::U8(v[start * per..end * per].to_vec()),
            Pixels::F32(v) => Pixels::F32(v[start * per..end * per].to_vec()),
        };
        Split {
            sample_shape: self.sample_shape.clone(),
            pixels,
            labels: self.labels[start..end].to_vec(),
        }
    }

    /// Number of samples of each label `0..num_classes`.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut c = vec![0usize; num_classes];
        for &l in &self.labels {
            if let Some(v) = c.get_mut(l as usize) {
                *v += 1;
            }
        }
        c
    }
}

/// A dataset: its kind, train and test splits, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub train: Split,
    pub test: Split,
    /// Human-readable origin: a folder, or `generated (seed 42)`.
    pub source: String,
}

impl Dataset {
    /// Loads a dataset.
    /// * MNIST-1D: generated with the reference arguments ([`Mnist1dArgs::default`]) when `dir`
    ///   is `None`; with a `dir`, the canonical raw arrays in it (`x_train.f32`, `y_train.u8`,
    ///   `x_test.f32`, `y_test.u8`, see [`crate::raw::load_mnist1d_arrays`]).
    /// * MNIST / Fashion-MNIST: from the first existing folder of `dir`, else
    ///   `$JOULEBENCH_DATA/<name>`, else the `data fetch` default ([`default_fetch_dir`]); the
    ///   folder holds the IDX files (gzip or not; see [`find_files`]) or, failing that, CSV files.
    ///   No such folder → [`DataError::Missing`] telling the user to run `joulebench data fetch`.
    pub fn load(kind: DatasetKind, dir: Option<&Path>) -> Result<Dataset> {
        match (kind, dir) {
            (DatasetKind::Mnist1d, None) => Dataset::mnist1d_generated(&Mnist1dArgs::default()),
            (DatasetKind::Mnist1d, Some(d)) => crate::raw::load_mnist1d_arrays(d),
            (_, dir) => {
                let folder = resolve_dir(kind, dir)?;
                Dataset::from_dir(kind, &folder)
            }
        }
    }

    /// MNIST-1D generated with `args`.
    pub fn mnist1d_generated(args: &Mnist1dArgs) -> Result<Dataset> {
        let d = generate(args)?;
        let shape = vec![1, d.seq_len];
        Ok(Dataset {
            kind: DatasetKind::Mnist1d,
            train: Split::new(shape.clone(), Pixels::F32(d.x_train), d.y_train)?,
            test: Split::new(shape, Pixels::F32(d.x_test), d.y_test)?,
            source: format!("generated (seed {})", args.seed),
        })
    }

    /// MNIST or Fashion-MNIST from one folder (IDX files, else CSV files).
    pub fn from_dir(kind: DatasetKind, dir: &Path) -> Result<Dataset> {
        if kind == DatasetKind::Mnist1d {
            return crate::raw::load_mnist1d_arrays(dir);
        }
        let files = find_files(kind, dir)?;
        let classes = kind.num_classes();
        let shape = kind.sample_shape();
        let per: usize = shape.iter().product();
        let load = |f: &SplitFiles| -> Result<Split> {
            let (px, lab) = match f {
                SplitFiles::Idx { images, labels } => {
                    crate::idx::read_idx_pair(images, labels, classes, 28, 28)?
                }
                SplitFiles::Csv(p) => {
                    let s = crate::csv::read_csv(p, per, classes)?;
                    (s.pixels, s.labels)
                }
            };
            Split::new(shape.clone(), Pixels::U8(px), lab)
        };
        let (train, test) = rayon::join(|| load(&files.0), || load(&files.1));
        Ok(Dataset {
            kind,
            train: train?,
            test: test?,
            source: dir.display().to_string(),
        })
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
    pub fn num_classes(&self) -> usize {
        self.kind.num_classes()
    }
    pub fn class_names(&self) -> Vec<String> {
        self.kind.class_names()
    }
    /// One sample's shape, channels first.
    pub fn sample_shape(&self) -> &[usize] {
        &self.train.sample_shape
    }

    /// What model presets need to know: [`DatasetKind::data_shape`] with this dataset's own
    /// sample shape and, for data outside `[0, 1]`, the spike encoders' rescaling from the
    /// training split's mean and spread ([`spike_scale`]).
    pub fn data_shape(&self) -> DataShape {
        DataShape {
            sample_shape: self.train.sample_shape.clone(),
            spike_scale: spike_scale(&self.train.pixels),
            ..self.kind.data_shape()
        }
    }

    /// Holds out the last `n` training samples as the evaluation split, in place of the test
    /// set (for choosing a recipe without looking at the test set): the training split keeps
    /// its first `len − n` samples. Errors unless `1 ≤ n < train.len()`.
    pub fn hold_out(mut self, n: usize) -> Result<Dataset> {
        let len = self.train.len();
        if n == 0 || n >= len {
            return Err(DataError::Invalid(format!(
                "cannot hold out {n} of the {len} training samples of {} for validation (need 1 ≤ N < {len})",
                self.kind.name()
            )));
        }
        self.test = self.train.range(len - n, len);
        self.train = self.train.head(len - n);
        self.source = format!("{} (validation: last {n} training samples)", self.source);
        Ok(self)
    }

    /// Keeps the first `train` and `test` samples of each split (for quick runs and tests).
    pub fn truncate(mut self, train: usize, test: usize) -> Dataset {
        if train < self.train.len() {
            self.train = self.train.head(train);
        }
        if test < self.test.len() {
            self.test = self.test.head(test);
        }
        self
    }
}

/// The files of one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitFiles {
    Idx { images: PathBuf, labels: PathBuf },
    Csv(PathBuf),
}

/// Finds the train and test files of MNIST / Fashion-MNIST in `dir`. IDX names tried, each also
/// with `.gz`: `train-images-idx3-ubyte`, `train-images.idx3-ubyte` (labels and `t10k` alike).
/// CSV names tried when no IDX images are there: `<name>_train.csv`, `mnist_train.csv`, `train.csv`
/// (and `_test` / `test`), each also with `.gz`.
pub fn find_files(kind: DatasetKind, dir: &Path) -> Result<(SplitFiles, SplitFiles)> {
    let first = |cands: &[String]| cands.iter().map(|c| dir.join(c)).find(|p| p.is_file());
    let idx = |stem: &str, kind_: &str, dims: u8| -> Vec<String> {
        let a = format!("{stem}-{kind_}-idx{dims}-ubyte");
        let b = format!("{stem}-{kind_}.idx{dims}-ubyte");
        vec![format!("{a}.gz"), a, format!("{b}.gz"), b]
    };
    let split = |stem: &str, csv: &str| -> Option<SplitFiles> {
        if let Some(images) = first(&idx(stem, "images", 3)) {
            return Some(match first(&idx(stem, "labels", 1)) {
                Some(labels) => SplitFiles::Idx { images, labels },
                // images without labels: report the missing labels file by its usual name
                None => SplitFiles::Idx {
                    images,
                    labels: dir.join(&idx(stem, "labels", 1)[0]),
                },
            });
        }
        let names = [
            format!("{}_{csv}.csv", kind.name()),
            format!("mnist_{csv}.csv"),
            format!("{csv}.csv"),
        ];
        let cands: Vec<String> = names
            .iter()
            .flat_map(|n| [n.clone(), format!("{n}.gz")])
            .collect();
        first(&cands).map(SplitFiles::Csv)
    };
    match (split("train", "train"), split("t10k", "test")) {
        (Some(a), Some(b)) => Ok((a, b)),
        (a, _) => Err(DataError::Missing {
            dataset: kind.name().to_string(),
            what: format!(
                "no {} {} files in {} (looked for {} or {}_{}.csv)",
                kind.name(),
                if a.is_none() { "train" } else { "test" },
                dir.display(),
                if a.is_none() {
                    "train-images-idx3-ubyte.gz"
                } else {
                    "t10k-images-idx3-ubyte.gz"
                },
                kind.name(),
                if a.is_none() { "train" } else { "test" },
            ),
        }),
    }
}

/// The folder MNIST / Fashion-MNIST is loaded from: `dir` when given (it must exist), else the
/// first existing of `$JOULEBENCH_DATA/<name>` and [`default_fetch_dir`].
pub fn resolve_dir(kind: DatasetKind, dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = dir {
        if d.is_dir() {
            return Ok(d.to_path_buf());
        }
        return Err(DataError::Missing {
            dataset: kind.name().to_string(),
            what: format!("data folder {} does not exist", d.display()),
        });
    }
    let mut looked = Vec::new();
    if let Some(root) = std::env::var_os("JOULEBENCH_DATA").filter(|v| !v.is_empty()) {
        looked.push(PathBuf::from(root).join(kind.name()));
    }
    if let Some(d) = default_fetch_dir(kind) {
        looked.push(d);
    }
    if let Some(d) = looked.iter().find(|d| d.is_dir()) {
        return Ok(d.clone());
    }
    Err(DataError::Missing {
        dataset: kind.name().to_string(),
        what: format!(
            "no {} data found (looked in {})",
            kind.name(),
            if looked.is_empty() {
                "nothing: neither JOULEBENCH_DATA nor HOME is set".to_string()
            } else {
                looked
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{encode_idx_images, encode_idx_labels};

    fn write_idx(dir: &Path, stem: &str, n: usize) {
        let px: Vec<u8> = (0..n * 784).map(|i| (i % 256) as u8).collect();
        let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            dir.join(format!("{stem}-images-idx3-ubyte")),
            encode_idx_images(n, 28, 28, &px),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{stem}-labels-idx1-ubyte")),
            encode_idx_labels(&lab),
        )
        .unwrap();
    }

    /// Holding out N samples: the validation split is exactly the last N training samples, the
    /// training split the rest, nothing lost or shared; N = 0 or N ≥ len refused.
    #[test]
    fn hold_out_takes_the_last_training_samples() {
        let split = |n: usize, off: u8| {
            let px: Vec<u8> = (0..n * 4).map(|i| (i as u8).wrapping_add(off)).collect();
            let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
            Split::new(vec![1, 2, 2], Pixels::U8(px), lab).unwrap()
        };
        let ds = Dataset {
            kind: DatasetKind::Mnist1d,
            train: split(10, 0),
            test: split(3, 100),
            source: "test".into(),
        };
        let full = ds.train.clone();
        let held = ds.clone().hold_out(4).unwrap();
        assert_eq!(held.train.len(), 6);
        assert_eq!(held.test.len(), 4);
        assert_eq!(held.train, full.range(0, 6));
        assert_eq!(held.test, full.range(6, 10));
        assert_eq!(held.test.labels, vec![6, 7, 8, 9]);
        assert!(held.source.contains("last 4 training samples"));
        for bad in [0, 10, 11] {
            let e = ds.clone().hold_out(bad).unwrap_err().to_string();
            assert!(
                e.contains("hold out") && e.contains("10 training samples"),
                "{e}"
            );
        }
    }

    #[test]
    fn spike_scale_keeps_mnist1d_negative_half() {
        let ds = Dataset::load(DatasetKind::Mnist1d, None).unwrap();
        let n = ds
            .data_shape()
            .spike_scale
            .expect("MNIST-1D is standardized");
        let Pixels::F32(v) = &ds.train.pixels else {
            panic!("MNIST-1D is f32")
        };
        // standardized: μ ≈ 0, σ ≈ 1, so the map is ≈ (x + 2) / 4
        assert!(
            (n.mean + 2.0).abs() < 0.1 && (n.std - 4.0).abs() < 0.2,
            "{n:?}"
        );
        let p: Vec<f32> = v.iter().map(|x| (x - n.mean) / n.std).collect();
        let inside = p.iter().filter(|p| (0.0..=1.0).contains(*p)).count() as f64;
        assert!(inside / p.len() as f64 > 0.9, "most values inside [0, 1]");
        // negative values keep distinct probabilities (clamping to [0, 1] made them all 0)
        let below_half = p
            .iter()
            .filter(|p| (0.0..0.5).contains(*p) && **p > 0.0)
            .count();
        assert!(below_half as f64 > 0.4 * p.len() as f64, "{below_half}");
        // a rate-coded preset carries the map in its spec; direct-input presets do not
        let opts = joulebench_models::PresetOptions::default();
        let temporal = joulebench_models::build_preset("snn-temporal", &ds.data_shape(), &opts);
        assert_eq!(temporal.unwrap().preprocess.normalize, Some(n));
        let ann = joulebench_models::build_preset("ann", &ds.data_shape(), &opts).unwrap();
        assert_eq!(ann.preprocess.normalize, None);
        // 8-bit images are already in [0, 1]
        assert_eq!(spike_scale(&Pixels::U8(vec![0, 255, 17])), None);
        assert_eq!(spike_scale(&Pixels::F32(vec![0.0, 0.5, 1.0])), None);
        assert_eq!(spike_scale(&Pixels::F32(vec![3.0, 3.0])), None);
    }

    #[test]
    fn kind_names_round_trip() {
        for k in DatasetKind::ALL {
            assert_eq!(k.name().parse::<DatasetKind>().unwrap(), k);
        }
        assert_eq!(
            "Fashion".parse::<DatasetKind>().unwrap(),
            DatasetKind::FashionMnist
        );
        assert!(matches!(
            "cifar".parse::<DatasetKind>(),
            Err(DataError::UnknownDataset(_))
        ));
        assert_eq!(DatasetKind::FashionMnist.class_names()[9], "Ankle boot");
        assert_eq!(DatasetKind::Mnist.class_names()[3], "3");
    }

    #[test]
    fn loads_synthetic_idx_folder_and_batches() {
        let dir = tempfile::tempdir().unwrap();
        write_idx(dir.path(), "train", 12);
        write_idx(dir.path(), "t10k", 5);
        let d = Dataset::load(DatasetKind::Mnist, Some(dir.path())).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (12, 5));
        assert_eq!(d.sample_shape(), &[1, 28, 28]);
        let b = d.train.batch(&[3, 0]);
        assert_eq!(b.shape, vec![2, 1, 28, 28]);
        assert_eq!(b.data[0], ((3 * 784) % 256) as f32 / 255.0);
        assert_eq!(b.data[784 + 255], 1.0);
        assert_eq!(d.train.labels_at(&[3, 0]), vec![3, 0]);
        assert_eq!(d.train.class_counts(10), vec![2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(d.test.to_tensor().shape, vec![5, 1, 28, 28]);
        let shape = d.data_shape();
        assert_eq!(shape.normalize.unwrap().mean, 0.1307);
        let small = d.truncate(4, 2);
        assert_eq!((small.train.len(), small.test.len()), (4, 2));
    }

    #[test]
    fn missing_folder_says_how_to_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Dataset::load(DatasetKind::FashionMnist, Some(&dir.path().join("nope"))).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Missing { .. }));
        assert!(
            msg.contains("joulebench data fetch fashion-mnist") && msg.contains("--data-dir"),
            "{msg}"
        );
        let err = Dataset::load(DatasetKind::Mnist, Some(dir.path())).unwrap_err();
        assert!(
            err.to_string().contains("train-images-idx3-ubyte.gz"),
            "{err}"
        );
    }

    #[test]
    fn count_disagreement_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write_idx(dir.path(), "train", 4);
        write_idx(dir.path(), "t10k", 3);
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte"),
            encode_idx_labels(&[1, 2]),
        )
        .unwrap();
        let err = Dataset::load(DatasetKind::Mnist, Some(dir.path())).unwrap_err();
        assert!(matches!(err, DataError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("3 images but 2 labels"));
    }

    #[test]
    fn csv_folder_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let row = |l: u8| format!("{l},{}\n", vec!["17"; 784].join(","));
        std::fs::write(
            dir.path().join("mnist_train.csv"),
            format!("{}{}", row(1), row(2)),
        )
        .unwrap();
        std::fs::write(dir.path().join("mnist_test.csv"), row(7)).unwrap();
        let d = Dataset::load(DatasetKind::Mnist, Some(dir.path())).unwrap();
        assert_eq!(d.train.labels, vec![1, 2]);
        assert_eq!(d.test.labels, vec![7]);
        assert_eq!(d.test.batch(&[0]).data[100], 17.0 / 255.0);
    }

    #[test]
    fn split_new_checks_sizes() {
        assert!(Split::new(vec![1, 4], Pixels::U8(vec![0; 7]), vec![0, 1]).is_err());
        let s = Split::new(vec![1, 4], Pixels::F32(vec![0.5; 8]), vec![0, 1]).unwrap();
        assert_eq!(s.batch_range(1, 99).shape, vec![1, 1, 4]);
    }
}
