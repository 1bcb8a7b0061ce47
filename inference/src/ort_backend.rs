//! ONNX Runtime through `ort` with `load-dynamic`: the library is the one named by
//! `ORT_DYLIB_PATH` (set by `scripts/jb-env` to the PyPI wheel's `libonnxruntime.so`), else the
//! one the binary was built with ([`BUILT_WITH_ORT_DYLIB`]).
//! CPU execution provider by default; CUDA when asked for and possible. Threads are explicit:
//! `threads` intra-op threads, one inter-op thread, sequential execution, all graph optimizations.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use joulebench_models::Tensor;
use ort::environment::Environment;
use ort::ep::ExecutionProvider;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::backend::Backend;
use crate::error::InferenceError;
use crate::onnx_check::{self, OnnxGraphInfo};
use crate::options::BackendOptions;

/// Which execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrtDevice {
    Cpu,
    /// CUDA execution provider on this GPU index.
    Cuda(usize),
}

static ENV: OnceLock<Result<(Environment, PathBuf), String>> = OnceLock::new();

/// `ORT_DYLIB_PATH` as it was when this binary was built (`scripts/jb-env` and `make` set it to
/// the project's onnxruntime wheel), so the built binary finds ONNX Runtime on its own.
pub const BUILT_WITH_ORT_DYLIB: Option<&str> = option_env!("ORT_DYLIB_PATH");

/// The ONNX Runtime library to load: `$ORT_DYLIB_PATH` when set, else the one this binary was
/// built with when it still exists. The error says what to set.
pub fn ort_library_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        if !path.is_file() {
            return Err(format!(
                "ORT_DYLIB_PATH points at {}, which does not exist",
                path.display()
            ));
        }
        return Ok(path);
    }
    match BUILT_WITH_ORT_DYLIB.map(PathBuf::from) {
        Some(p) if p.is_file() => Ok(p),
        Some(p) => Err(format!(
            "ONNX Runtime library not found: ORT_DYLIB_PATH is not set and the library this binary \
             was built with ({}) is gone. Set ORT_DYLIB_PATH to a libonnxruntime.so (e.g. from \
             `pip install onnxruntime`: onnxruntime/capi/libonnxruntime.so.*), or run through \
             `scripts/jb-env`",
            p.display()
        )),
        None => Err(
            "ONNX Runtime library not configured: ORT_DYLIB_PATH is not set (and this binary was \
             not built through `scripts/jb-env`, which records the project's copy). Set \
             ORT_DYLIB_PATH to a libonnxruntime.so (e.g. from `pip install onnxruntime`: \
             onnxruntime/capi/libonnxruntime.so.*), or run through `scripts/jb-env`"
                .to_string(),
        ),
    }
}

/// The process-wide ONNX Runtime environment, loading the library on first use.
/// Errors (never panics) when no library is found ([`ort_library_path`]) or it cannot be loaded.
pub fn ort_environment() -> Result<&'static (Environment, PathBuf), InferenceError> {
    ENV.get_or_init(|| {
        let path = ort_library_path()?;
        let builder = ort::init_from(&path)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?;
        let env = builder.with_name("joulebench").build().map_err(|e| {
            format!(
                "cannot create the ONNX Runtime environment ({}): {e}",
                path.display()
            )
        })?;
        Ok((env, path))
    })
    .as_ref()
    .map_err(|e| InferenceError::Unavailable(e.clone()))
}

/// True when an ONNX Runtime library can be loaded ([`ort_library_path`]).
pub fn ort_available() -> bool {
    ort_environment().is_ok()
}

/// An ONNX model on ONNX Runtime.
pub struct OrtBackend {
    name: &'static str,
    path: PathBuf,
    info: OnnxGraphInfo,
    session: Session,
    threads: usize,
}

impl OrtBackend {
    /// Loads and checks `path`; `expected` are the input dims the caller will feed (`None` = any).
    pub fn load(
        path: &Path,
        expected: &[Option<usize>],
        opts: &BackendOptions,
        device: OrtDevice,
    ) -> Result<Self, InferenceError> {
        let proto = onnx_check::read_model(path)?;
        let info = onnx_check::check_model(path, &proto, Some(expected))?;
        let (env, lib) = ort_environment()?;
        let threads = opts.threads.max(1);
        let fail = |what: &str, e: String| {
            InferenceError::Other(format!("{}: ONNX Runtime {what}: {e}", path.display()))
        };
        let mut builder = Session::builder(env)
            .map_err(|e| fail("session builder", e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| fail("optimization level", e.to_string()))?
            .with_intra_threads(threads)
            .map_err(|e| fail("intra-op threads", e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| fail("inter-op threads", e.to_string()))?
            .with_parallel_execution(false)
            .map_err(|e| fail("execution mode", e.to_string()))?;
        if let OrtDevice::Cuda(gpu) = device {
            let cuda = ort::ep::CUDA::default().with_device_id(gpu as i32);
            match ort::ep::CUDA::is_available() {
                Ok(true) => {}
                Ok(false) => {
                    return Err(InferenceError::Unavailable(format!(
                        "ort-cuda: the ONNX Runtime library {} has no CUDA execution provider (it is the CPU build, \
                         PyPI `onnxruntime`). Install `onnxruntime-gpu` on a machine with an NVIDIA GPU and CUDA, and \
                         point ORT_DYLIB_PATH at its libonnxruntime.so",
                        lib.display()
                    )))
                }
                Err(e) => {
                    return Err(InferenceError::Unavailable(format!(
                        "ort-cuda: cannot query execution providers: {e}"
                    )))
                }
            }
            builder = builder.with_execution_providers([cuda.build().error_on_failure()]).map_err(|e| {
                InferenceError::Unavailable(format!(
                    "ort-cuda: the CUDA execution provider could not start on GPU {gpu} (no NVIDIA GPU, driver or CUDA/cuDNN \
                     libraries?): {e}"
                ))
            })?;
        }
        let session = builder.commit_from_file(path).map_err(|e| {
            let mut msg = format!("ONNX Runtime cannot load the model: {e}");
            // Name operators tract does not know either, which usually explains the failure.
            let reg = tract_onnx::onnx();
            let unknown: Vec<String> = onnx_check::all_ops(&proto)
                .into_iter()
                .filter(|(op, _, _)| !reg.op_register.0.contains_key(op))
                .map(|(op, _, node)| format!("`{op}` in node `{node}`"))
                .collect();
            if !unknown.is_empty() {
                msg.push_str(&format!(" (unknown operators: {})", unknown.join(", ")));
            }
            InferenceError::onnx(path, msg)
        })?;
        let name = if device == OrtDevice::Cpu {
            "ort"
        } else {
            "ort-cuda"
        };
        Ok(OrtBackend {
            name,
            path: path.to_path_buf(),
            info,
            session,
            threads,
        })
    }

    /// What the pre-checks learned about the graph.
    pub fn graph_info(&self) -> &OnnxGraphInfo {
        &self.info
    }
}

impl Backend for OrtBackend {
    fn name(&self) -> &str {
        self.name
    }

    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        onnx_check::check_input_shape(&self.info, &input.shape)?;
        let err = |e: ort::Error| {
            InferenceError::onnx(&self.path, format!("ONNX Runtime run failed: {e}"))
        };
        let value = TensorRef::from_array_view((input.shape.as_slice(), input.data.as_slice()))
            .map_err(err)?;
        let outputs = self.session.run(ort::inputs![value]).map_err(err)?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| InferenceError::Other(format!("ONNX Runtime output is not f32: {e}")))?;
        Ok(Tensor {
            shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
            data: data.to_vec(),
        })
    }

    fn threads(&self) -> usize {
        self.threads
    }

    /// Nothing to wait for, also on CUDA: without an I/O binding (whose `synchronize` is the
    /// only sync ONNX Runtime's Rust API offers), `Session::run` returns its outputs as host
    /// tensors, copied from the device after the device work completed.
    fn synchronize(&mut self) -> Result<(), InferenceError> {
        Ok(())
    }
}
