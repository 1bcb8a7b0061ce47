//! Dataset splits prepared for a model and moved to the training device once; mini-batches and
//! the per-step network input (spike encoding) built from them.
//!
//! Spike encoding:
//! * **training** batches: on the CPU by `joulebench_data::encode` (seeded per batch from the
//!   run seed, epoch and batch index); on a GPU on the device with libtorch's generator (seeded
//!   by `tch::manual_seed(seed)`): rate coding spikes with probability `p = clamp(x, 0, 1)`,
//!   Poisson with `p = 1 − exp(−clamp(x, 0, 1))` (the data crate's default 1000 Hz × 1 ms), drawn
//!   by `bernoulli_`. Same distributions as `joulebench_data::encode`, different random streams —
//!   fast on every device.
//! * **test** batches are encoded with `joulebench_data::encode(encoding, batch, T, seed + i)`
//!   for batch `i` (batches of the training batch size, in dataset order), so the spike tensors are
//!   the ones every other engine can reproduce.

use joulebench_data::Split;
use joulebench_models::{Encoding, ModelSpec, Tensor as JTensor};
use tch::{Device, Kind, Tensor};

use crate::error::Result;
use crate::weights_io::{from_jtensor, to_jtensor};

/// One split, preprocessed for a model (`ModelSpec::preprocess`) and resident on the device.
pub struct DeviceSplit {
    /// `[N, input_shape…]`, f32.
    pub x: Tensor,
    /// `[N]`, int64 labels.
    pub y: Tensor,
    pub len: usize,
}

impl DeviceSplit {
    /// Preprocesses `split` for `spec` and copies it to `device`.
    pub fn new(split: &Split, spec: &ModelSpec, device: Device) -> Result<DeviceSplit> {
        let raw = split.to_tensor();
        let pre = joulebench_data::apply_preprocess(&spec.preprocess, &raw)?;
        let x = from_jtensor(&pre, device);
        let labels: Vec<i64> = split.labels.iter().map(|&l| l as i64).collect();
        let y = Tensor::from_slice(&labels).to_device(device);
        Ok(DeviceSplit {
            x,
            y,
            len: split.len(),
        })
    }
}

/// The network input for an analog batch `x` (`[B, sample…]`, on the device) during training.
/// On the CPU, rate/Poisson spikes come from `joulebench_data::encode` seeded with `seed`; on
/// other devices from libtorch's `bernoulli_` (seeded by `tch::manual_seed`).
pub fn train_input_seeded(spec: &ModelSpec, x: &Tensor, seed: u64) -> Result<Tensor> {
    if spec.is_spiking() && spec.encoding.is_spiking() && x.device() == Device::Cpu {
        let enc = joulebench_data::encode(spec.encoding, &to_jtensor(x)?, spec.steps, seed)?;
        return Ok(from_jtensor(&enc, Device::Cpu));
    }
    Ok(train_input(spec, x))
}

/// [`train_input_seeded`] with libtorch's generator on every device.
pub fn train_input(spec: &ModelSpec, x: &Tensor) -> Tensor {
    if !spec.is_spiking() {
        return x.shallow_clone();
    }
    let steps = spec.steps as i64;
    let mut shape = vec![steps];
    shape.extend(x.size());
    match spec.encoding {
        Encoding::Direct => x.unsqueeze(0).expand(shape.as_slice(), false).contiguous(),
        Encoding::Rate | Encoding::Poisson => {
            let p = x.clamp(0.0, 1.0);
            let p = if spec.encoding == Encoding::Poisson {
                -((-p).exp() - 1.0)
            } else {
                p
            };
            let mut out = Tensor::empty(shape.as_slice(), (Kind::Float, x.device()));
            let _ = out.bernoulli_(&p);
            out
        }
    }
}

/// The network input for test batch `index` (`x` analog `[B, sample…]` on the device), encoded
/// by the data crate with seed `seed + index` (see the module docs).
pub fn eval_input(spec: &ModelSpec, x: &Tensor, seed: u64, index: usize) -> Result<Tensor> {
    if !spec.is_spiking() {
        return Ok(x.shallow_clone());
    }
    if spec.encoding == Encoding::Direct {
        return Ok(train_input(spec, x));
    }
    let host: JTensor = to_jtensor(x)?;
    let enc = joulebench_data::encode(
        spec.encoding,
        &host,
        spec.steps,
        seed.wrapping_add(index as u64),
    )?;
    Ok(from_jtensor(&enc, x.device()))
}
