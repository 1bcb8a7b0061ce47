//! Weights by name, stored as safetensors (f32, PyTorch layouts; see `spec.rs` for the names).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::atomic::write_atomic;
use crate::error::ModelError;
use crate::spec::ModelSpec;
use crate::tensor::Tensor;

/// Named tensors of one model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
    /// Free-form string metadata stored in the safetensors header.
    pub metadata: BTreeMap<String, String>,
}

impl Weights {
    /// The tensor called `name`, or an error naming it.
    pub fn get(&self, name: &str) -> Result<&Tensor, ModelError> {
        self.tensors
            .get(name)
            .ok_or_else(|| ModelError::Weights(format!("missing tensor `{name}`")))
    }

    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.tensors.insert(name.into(), t);
    }

    /// Checks every parameter of `spec` is present with the right shape and finite values.
    pub fn check_against(&self, spec: &ModelSpec) -> Result<(), ModelError> {
        for p in spec.parameters() {
            let t = self.get(&p.name)?;
            if t.shape != p.shape {
                return Err(ModelError::Weights(format!(
                    "tensor `{}` has shape {:?}, the model needs {:?}",
                    p.name, t.shape, p.shape
                )));
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::Weights(format!(
                    "tensor `{}` has a non-finite value at index {i}",
                    p.name
                )));
            }
        }
        Ok(())
    }

    /// PyTorch's default initialisation (uniform in ±1/√fan_in for weights and biases of
    /// Linear, Conv and RNN layers), from a seed. For tests and benchmarks of untrained models.
    pub fn random(spec: &ModelSpec, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = Weights::default();
        let mut shape = spec.input_shape.clone();
        for layer in &spec.layers {
            let next = layer.output_shape(&shape).unwrap_or_default();
            let input = std::mem::replace(&mut shape, next);
            if let crate::spec::Op::Lif(lp) = &layer.op {
                // Per-neuron vectors start at the scalar values (uniform layer).
                for p in layer.parameters_for(&input) {
                    let v = match p.name.rsplit('.').next() {
                        Some("beta") => lp.beta,
                        Some("threshold") => lp.threshold,
                        Some("alpha") => lp.synapse.unwrap_or(0.0),
                        _ => match lp.reset {
                            crate::spec::Reset::To { v_reset } => v_reset,
                            _ => 0.0,
                        },
                    };
                    let n = p.numel();
                    w.insert(
                        p.name,
                        Tensor::new(p.shape, vec![v; n]).expect("shape fits"),
                    );
                }
                continue;
            }
            let params = layer.parameters();
            // fan_in of a layer: its first weight's elements per output row.
            let fan_in = params
                .first()
                .map(|p| p.shape[1..].iter().product::<usize>())
                .unwrap_or(1);
            let fan_in = match layer.op {
                crate::spec::Op::Rnn { hidden_size, .. } => hidden_size,
                _ => fan_in,
            };
            let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
            for p in params {
                let data = (0..p.numel())
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                w.insert(
                    p.name.clone(),
                    Tensor {
                        shape: p.shape.clone(),
                        data,
                    },
                );
            }
        }
        w
    }

    /// Reads a safetensors file (f32 tensors only).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| ModelError::Weights(format!("not a safetensors file: {e}")))?;
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| ModelError::Weights(format!("not a safetensors file: {e}")))?;
        let mut w = Weights::default();
        if let Some(m) = header.metadata() {
            w.metadata = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(ModelError::Weights(format!(
                    "tensor `{name}` is {:?}, only F32 is supported",
                    view.dtype()
                )));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            w.insert(
                name,
                Tensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(w)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let raw: Vec<(String, Vec<u8>, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    t.shape.clone(),
                )
            })
            .collect();
        let views = raw
            .iter()
            .map(|(n, b, s)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| ModelError::Weights(format!("tensor `{n}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let meta: Option<HashMap<String, String>> = if self.metadata.is_empty() {
            None
        } else {
            Some(self.metadata.clone().into_iter().collect())
        };
        safetensors::serialize(views, meta).map_err(|e| ModelError::Weights(e.to_string()))
    }

    /// Writes a safetensors file atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomic(path, &self.to_bytes()?)
    }
}
