//! Moving parameters between a libtorch `VarStore` and `joulebench_models::Weights`
//! (safetensors, read by every engine).

use joulebench_models::{ModelSpec, Tensor as JTensor, Weights};
use tch::{Kind, Tensor};

use crate::error::{Result, TrainError};
use crate::net::Net;

/// A libtorch tensor copied to a plain f32 tensor (on the CPU, row-major).
pub fn to_jtensor(t: &Tensor) -> Result<JTensor> {
    let t = t
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let data = Vec::<f32>::try_from(&t.flatten(0, -1))?;
    Ok(JTensor::new(shape, data)?)
}

/// A plain tensor as a libtorch tensor on `device`.
pub fn from_jtensor(t: &JTensor, device: tch::Device) -> Tensor {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data)
        .reshape(shape.as_slice())
        .to_device(device)
}

impl Net {
    /// The parameters as [`Weights`], named as in `ModelSpec::parameters()`.
    pub fn weights(&self) -> Result<Weights> {
        let vars = self.vs.variables();
        let mut w = Weights::default();
        for p in self.spec.parameters() {
            let t = vars.get(&p.name).ok_or_else(|| {
                TrainError::Config(format!(
                    "internal: parameter `{}` missing from the VarStore",
                    p.name
                ))
            })?;
            w.insert(p.name.clone(), to_jtensor(t)?);
        }
        w.check_against(&self.spec)?;
        Ok(w)
    }

    /// Copies `w` into the parameters (shapes and finiteness checked first).
    pub fn load_weights(&mut self, w: &Weights) -> Result<()> {
        w.check_against(&self.spec)?;
        let vars = self.vs.variables();
        let device = self.device();
        tch::no_grad(|| -> Result<()> {
            for p in self.spec.parameters() {
                let mut dst = vars
                    .get(&p.name)
                    .expect("VarStore has every spec parameter")
                    .shallow_clone();
                let src = from_jtensor(w.get(&p.name)?, device);
                dst.f_copy_(&src)?;
            }
            Ok(())
        })
    }

    /// Builds a network from a spec and weights.
    pub fn with_weights(spec: &ModelSpec, w: &Weights, device: tch::Device) -> Result<Net> {
        let mut net = Net::new(spec, device)?;
        net.load_weights(w)?;
        Ok(net)
    }
}
