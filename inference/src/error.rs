use thiserror::Error;

#[derive(Debug, Error)]
pub enum InferenceError {
    #[error(transparent)]
    Model(#[from] joulebench_models::ModelError),
    #[error("input shape {got:?} does not fit the model (expected {expected})")]
    InputShape { got: Vec<usize>, expected: String },
    #[error("{0}")]
    Other(String),
}
