//! tract-onnx: the ONNX graph with its input fixed to the batch's shape, optimized, f32.
//! One plan is compiled and cached per input shape. tract runs single-threaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use joulebench_models::Tensor;
use prost::Message;
use tract_onnx::prelude::*;

use crate::backend::Backend;
use crate::error::InferenceError;
use crate::onnx_check::{self, OnnxGraphInfo};

type Plan = Arc<TypedRunnableModel>;

/// An ONNX model on tract.
pub struct TractBackend {
    path: PathBuf,
    info: OnnxGraphInfo,
    model: InferenceModel,
    plans: HashMap<Vec<usize>, (Plan, TypedSimpleState)>,
}

impl TractBackend {
    /// Loads and checks `path`; `expected` are the input dims the caller will feed (`None` = any).
    /// Unsupported operators are reported with the op and node name.
    pub fn load(path: &Path, expected: &[Option<usize>]) -> Result<Self, InferenceError> {
        let bytes = std::fs::read(path).map_err(|e| InferenceError::io(path, e))?;
        Self::from_bytes(path, &bytes, Some(expected))
    }

    /// From the file's content `bytes` (`path` is used in messages and to resolve external
    /// data). The checks read the project's ONNX types; tract parses its own decoding of the
    /// same bytes.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        expected: Option<&[Option<usize>]>,
    ) -> Result<Self, InferenceError> {
        let model = onnx_check::decode_model(path, bytes)?;
        let info = onnx_check::check_model(path, &model, expected)?;
        let framework = tract_onnx::onnx();
        for (op, domain, node) in onnx_check::all_ops(&model) {
            let default_domain = domain.is_empty() || domain == "ai.onnx" || domain == "ai.onnx.ml";
            if !default_domain || !framework.op_register.0.contains_key(&op) {
                return Err(InferenceError::UnsupportedOp {
                    path: path.to_path_buf(),
                    op,
                    domain: if domain.is_empty() {
                        "ai.onnx".into()
                    } else {
                        domain
                    },
                    node,
                    engine: "tract".into(),
                });
            }
        }
        let proto = tract_onnx::pb::ModelProto::decode(bytes)
            .map_err(|e| onnx_check::corrupt_protobuf(path, e))?;
        let dir = path.parent().and_then(|p| p.to_str()).map(str::to_string);
        let parsed = onnx_check::guard_engine(|| framework.parse(&proto, dir.as_deref()))
            .map_err(|e| InferenceError::onnx(path, format!("tract cannot read the graph: {e}")))?
            .map_err(|e| {
                InferenceError::onnx(path, format!("tract cannot read the graph: {e:#}"))
            })?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(InferenceError::onnx(
                path,
                format!("unresolved graph inputs: {:?}", parsed.unresolved_inputs),
            ));
        }
        Ok(TractBackend {
            path: path.to_path_buf(),
            info,
            model: parsed.model,
            plans: HashMap::new(),
        })
    }

    /// Compiles (or finds) the plan for one input shape.
    fn plan_for(
        &mut self,
        shape: &[usize],
    ) -> Result<&mut (Plan, TypedSimpleState), InferenceError> {
        if !self.plans.contains_key(shape) {
            let err = |e: TractError| {
                InferenceError::onnx(
                    &self.path,
                    format!("tract cannot prepare the graph for input {shape:?}: {e:#}"),
                )
            };
            let typed = self.model.clone();
            let model = onnx_check::guard_engine(|| {
                typed
                    .with_input_fact(0, f32::fact(shape).into())
                    .and_then(|m| m.into_optimized())
            })
            .map_err(|e| {
                InferenceError::onnx(
                    &self.path,
                    format!("tract cannot prepare the graph for input {shape:?}: {e}"),
                )
            })?
            .map_err(err)?;
            let plan = model.into_runnable().map_err(err)?;
            let state = plan.spawn().map_err(err)?;
            self.plans.insert(shape.to_vec(), (plan, state));
        }
        Ok(self.plans.get_mut(shape).expect("plan just inserted"))
    }

    /// What the pre-checks learned about the graph.
    pub fn graph_info(&self) -> &OnnxGraphInfo {
        &self.info
    }
}

impl Backend for TractBackend {
    fn name(&self) -> &str {
        "tract"
    }

    fn run(&mut self, input: &Tensor) -> Result<Tensor, InferenceError> {
        onnx_check::check_input_shape(&self.info, &input.shape)?;
        let path = self.path.clone();
        let (_, state) = self.plan_for(&input.shape)?;
        let t = tract_onnx::prelude::Tensor::from_shape(&input.shape, &input.data)
            .map_err(|e| InferenceError::Other(format!("tract input: {e}")))?;
        let outputs = state
            .run(tvec!(t.into_tvalue()))
            .map_err(|e| InferenceError::onnx(&path, format!("tract run failed: {e:#}")))?;
        let out = outputs
            .first()
            .ok_or_else(|| InferenceError::onnx(&path, "the graph produced no output"))?;
        let view = out
            .to_plain_array_view::<f32>()
            .map_err(|e| InferenceError::onnx(&path, format!("output is not f32: {e}")))?;
        let shape = view.shape().to_vec();
        let data: Vec<f32> = view.iter().copied().collect();
        Ok(Tensor { shape, data })
    }

    fn threads(&self) -> usize {
        1
    }
}
