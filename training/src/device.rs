//! Which device a model trains or runs on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::error::{Result, TrainError};

/// `--device auto|cpu|cuda[:N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// CUDA device 0 when `tch::Cuda::is_available()`, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// A CUDA device by index; refused with a clear message when there is none.
    Cuda(usize),
}

impl DeviceChoice {
    /// The libtorch device. `Cuda(i)` fails cleanly when no CUDA device `i` exists.
    pub fn resolve(&self) -> Result<Device> {
        match *self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => Ok(if tch::Cuda::is_available() {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }),
            DeviceChoice::Cuda(i) => {
                if !tch::Cuda::is_available() {
                    return Err(TrainError::Device(
                        "CUDA was requested but libtorch sees no CUDA device (no NVIDIA GPU/driver, or a CPU-only \
                         libtorch); use --device cpu or --device auto"
                            .into(),
                    ));
                }
                let n = tch::Cuda::device_count() as usize;
                if i >= n {
                    return Err(TrainError::Device(format!(
                        "CUDA device {i} requested but only {n} present"
                    )));
                }
                Ok(Device::Cuda(i))
            }
        }
    }
}

/// Name of a resolved device: `cpu` or `cuda:N`.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        Device::Cpu => "cpu".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = TrainError;
    /// `auto`, `cpu`, `cuda` (= `cuda:0`) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    TrainError::Config(format!(
                        "unknown device `{s}` (expected auto, cpu, cuda or cuda:N)"
                    ))
                }),
        }
    }
}
