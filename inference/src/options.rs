//! Options every backend takes when it is opened.

use serde::{Deserialize, Serialize};

/// How a backend should run. Thread counts are always explicit so that comparisons between
/// engines are like for like (ONNX Runtime would otherwise use every core, tract one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendOptions {
    /// Worker threads for one `run` call (intra-op threads for ONNX Runtime, rayon workers over
    /// the batch for the native engines). At least 1; default 1 (latency work).
    pub threads: usize,
    /// GPU index for GPU backends (`ort-cuda`, `tch` on CUDA). Ignored by CPU backends.
    pub gpu: usize,
    /// Engines that choose their device at open time (tch): run on CUDA device `gpu` instead of
    /// the CPU. Engines with a device in their name (`ort-cuda`) ignore it.
    #[serde(default)]
    pub cuda: bool,
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            threads: 1,
            gpu: 0,
            cuda: false,
        }
    }
}

impl BackendOptions {
    pub fn with_threads(threads: usize) -> Self {
        BackendOptions {
            threads,
            ..Default::default()
        }
    }
}
