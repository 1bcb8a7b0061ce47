//! The inputs a profile runs on: seeded random samples, or real samples of a dataset's test
//! split; preprocessed as the model expects and, for spiking models, spike-encoded with the data
//! crate's seeded encoders. Inputs are prepared before timing starts, never inside a timed interval.

use joulebench_data::{apply_preprocess, encode, normalize_in_place, Split};
use joulebench_models::{ModelSpec, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::ProfileError;

/// Where sample values come from.
pub enum SampleSource {
    /// Uniform `[0, 1)` values (ChaCha8, seeded) at the model's input shape, then the spec's
    /// normalization (the spatial transform is skipped: the values are already at its output size).
    Random,
    /// Raw samples of a dataset split (cycled in order), then the spec's full preprocessing.
    Dataset { name: String, split: Split },
}

/// What the inputs were, for the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputsInfo {
    /// `random` or `dataset`.
    pub kind: String,
    pub seed: u64,
    /// A sentence: distribution or dataset, preprocessing, encoding.
    pub description: String,
}

/// Produces batches in the layout the backends take (`ModelSpec::batch_input_shape`).
pub struct InputGenerator {
    spec: Option<ModelSpec>,
    /// Per-sample shape when there is no spec (a bare ONNX file).
    sample_shape: Vec<usize>,
    source: SampleSource,
    seed: u64,
    rng: ChaCha8Rng,
    cursor: usize,
    batches_made: u64,
}

impl InputGenerator {
    /// Inputs for a model with a spec.
    pub fn for_spec(spec: &ModelSpec, source: SampleSource, seed: u64) -> Self {
        InputGenerator {
            sample_shape: spec.input_shape.clone(),
            spec: Some(spec.clone()),
            source,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            cursor: 0,
            batches_made: 0,
        }
    }

    /// Random inputs of per-sample shape `sample_shape` for a bare ONNX file: `[batch, sample…]`.
    pub fn for_shape(sample_shape: &[usize], seed: u64) -> Self {
        InputGenerator {
            spec: None,
            sample_shape: sample_shape.to_vec(),
            source: SampleSource::Random,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            cursor: 0,
            batches_made: 0,
        }
    }

    pub fn info(&self) -> InputsInfo {
        let (kind, what) = match &self.source {
            SampleSource::Random => ("random", "uniform [0, 1) values (ChaCha8)".to_string()),
            SampleSource::Dataset { name, split } => (
                "dataset",
                format!("{name} test split ({} samples, cycled)", split.len()),
            ),
        };
        let mut d = format!("{what}, seed {}", self.seed);
        if let Some(spec) = &self.spec {
            match (&self.source, spec.preprocess.normalize) {
                (SampleSource::Dataset { .. }, _) => d.push_str(&format!(
                    ", preprocessed ({})",
                    spec.preprocess.transform.name()
                )),
                (SampleSource::Random, Some(n)) => {
                    d.push_str(&format!(", normalized (mean {}, std {})", n.mean, n.std))
                }
                _ => {}
            }
            if spec.is_spiking() {
                d.push_str(&format!(
                    ", encoded {:?} over T = {} steps (seed + batch index)",
                    spec.encoding, spec.steps
                ));
            }
        }
        InputsInfo {
            kind: kind.into(),
            seed: self.seed,
            description: d,
        }
    }

    /// The next batch of `batch` samples.
    pub fn next_batch(&mut self, batch: usize) -> Result<Tensor, ProfileError> {
        if batch == 0 {
            return Err(ProfileError::Config("batch size must be at least 1".into()));
        }
        let per: usize = self.sample_shape.iter().product();
        let analog = match &self.source {
            SampleSource::Random => {
                let mut shape = vec![batch];
                shape.extend_from_slice(&self.sample_shape);
                let mut data: Vec<f32> =
                    (0..batch * per).map(|_| self.rng.random::<f32>()).collect();
                if let Some(n) = self.spec.as_ref().and_then(|s| s.preprocess.normalize) {
                    normalize_in_place(&mut data, n);
                }
                Tensor::new(shape, data)?
            }
            SampleSource::Dataset { split, .. } => {
                if split.is_empty() {
                    return Err(ProfileError::Config(
                        "the dataset split has no samples".into(),
                    ));
                }
                let idx: Vec<usize> = (0..batch)
                    .map(|i| (self.cursor + i) % split.len())
                    .collect();
                self.cursor = (self.cursor + batch) % split.len();
                let raw = split.batch(&idx);
                match &self.spec {
                    Some(spec) => apply_preprocess(&spec.preprocess, &raw)?,
                    None => raw,
                }
            }
        };
        let out = match &self.spec {
            Some(spec) if spec.is_spiking() => encode(
                spec.encoding,
                &analog,
                spec.steps,
                self.seed + self.batches_made,
            )?,
            _ => analog,
        };
        self.batches_made += 1;
        Ok(out)
    }
}
