//! joulebench-inference: one small [`Backend`] trait and its engines.

pub mod activity;
pub mod backend;
pub mod error;

pub use activity::{Activity, LayerActivity};
pub use backend::Backend;
pub use error::InferenceError;
