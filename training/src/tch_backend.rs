//! The `tch` inference backend: the trained libtorch module itself, the reference every other
//! engine is compared against.

use joulebench_inference::{Backend, BackendKind, BackendOptions, InferenceError, ModelSource};
use joulebench_models::{RunDir, Tensor as JTensor};
use tch::Device;

use crate::device::DeviceChoice;
use crate::error::{Result, TrainError};
use crate::net::Net;
use crate::weights_io::{from_jtensor, to_jtensor};

/// A run folder's model on libtorch (CPU or CUDA), run without gradients.
///
/// Input: `[batch, sample…]` (non-spiking) or the encoded `[T, batch, sample…]` (spiking);
/// output: logits `[batch, classes]`, copied back to the host.
pub struct TchBackend {
    net: Net,
    threads: usize,
}

impl TchBackend {
    /// Loads `RUN/spec.json` and `RUN/weights.safetensors` onto `device`; sets libtorch's
    /// intra-op thread count to `threads` (a process-wide libtorch setting; re-applied before
    /// every `run`).
    pub fn load(run: &RunDir, device: DeviceChoice, threads: usize) -> Result<TchBackend> {
        if threads == 0 {
            return Err(TrainError::Config("threads must be at least 1".into()));
        }
        let device = device.resolve()?;
        tch::set_num_threads(threads as i32);
        let net = crate::trainer::load_net(run, device)?;
        Ok(TchBackend { net, threads })
    }

    /// The network (spec and parameters).
    pub fn net(&self) -> &Net {
        &self.net
    }

    pub fn device(&self) -> Device {
        self.net.device()
    }

    fn run_inner(&mut self, input: &JTensor) -> Result<JTensor> {
        if tch::get_num_threads() != self.threads as i32 {
            tch::set_num_threads(self.threads as i32);
        }
        let x = from_jtensor(input, self.net.device());
        let logits = tch::no_grad(|| self.net.forward(&x))?;
        to_jtensor(&logits)
    }
}

impl Backend for TchBackend {
    fn name(&self) -> &str {
        "tch"
    }

    fn run(&mut self, input: &JTensor) -> Result<JTensor, InferenceError> {
        let expected = self.net.spec.batch_input_shape(0);
        let lead = if self.net.spec.is_spiking() { 2 } else { 1 };
        let ok = input.shape.len() == expected.len()
            && input.shape[lead..] == expected[lead..]
            && (lead == 1 || input.shape[0] == expected[0]);
        if !ok {
            let want = if lead == 2 {
                format!(
                    "[{}, batch, {:?}]",
                    self.net.spec.steps, self.net.spec.input_shape
                )
            } else {
                format!("[batch, {:?}]", self.net.spec.input_shape)
            };
            return Err(InferenceError::InputShape {
                got: input.shape.clone(),
                expected: want,
            });
        }
        self.run_inner(input)
            .map_err(|e| InferenceError::Other(format!("tch: {e}")))
    }

    fn threads(&self) -> usize {
        self.threads
    }

    /// On CUDA, waits for the device's queued kernels (`run` already copies the logits to the
    /// host, which waits for the stream that produced them, but not for other streams' work).
    fn synchronize(&mut self) -> Result<(), InferenceError> {
        if let Device::Cuda(index) = self.net.device() {
            tch::Cuda::synchronize(index as i64);
        }
        Ok(())
    }
}

/// Registers the engines of this crate with the inference crate's engine registry: `tch` (the
/// trained libtorch module, on a run folder; CUDA when `BackendOptions::cuda`). Call once at
/// start, before any engine is opened by name.
pub fn register_engines() {
    joulebench_inference::register(BackendKind::Tch, |source, opts| {
        match source {
        ModelSource::Run(run) => open_tch_backend(run, opts, opts.cuda),
        ModelSource::Onnx { path, .. } => Err(InferenceError::Unavailable(format!(
            "the tch backend needs a run folder (it loads the trained weights), not an ONNX file ({})",
            path.display()
        ))),
    }
    });
}

/// Opens the tch backend on a run folder for the CLI: CPU unless `cuda`, in which case GPU
/// `opts.gpu` (a clear error when there is none); `opts.threads` intra-op threads.
pub fn open_tch_backend(
    run: &RunDir,
    opts: &BackendOptions,
    cuda: bool,
) -> Result<Box<dyn Backend>, InferenceError> {
    let device = if cuda {
        DeviceChoice::Cuda(opts.gpu)
    } else {
        DeviceChoice::Cpu
    };
    TchBackend::load(run, device, opts.threads)
        .map(|b| Box::new(b) as Box<dyn Backend>)
        .map_err(|e| match e {
            TrainError::Device(m) => InferenceError::Unavailable(format!("tch: {m}")),
            other => {
                InferenceError::Other(format!("tch backend on {}: {other}", run.path.display()))
            }
        })
}
