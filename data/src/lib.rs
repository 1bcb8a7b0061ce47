//! joulebench-data: MNIST, Fashion-MNIST and MNIST-1D.
//!
//! * [`Dataset::load`] reads MNIST / Fashion-MNIST (IDX, gzip or not, or CSV) with strict
//!   validation, or generates MNIST-1D ([`mnist1d::generate`]);
//! * [`Split::batch`] gives f32 batches `[n, C, H, W]` / `[n, C, L]` (bytes scaled to `[0, 1]`);
//! * [`apply_preprocess`] applies a model's `Preprocess` (resize / crop, normalize);
//! * [`encode`](mod@encode) turns a batch into the per-step input `[T, n, …]` (direct, rate, Poisson);
//! * [`synthetic`] makes seeded digit-like images and spike trains when no dataset is at hand;
//! * [`npy`] reads and writes NumPy `.npy` float arrays (`joulebench infer`);
//! * [`fetch::fetch`] downloads or copies the original files, verified by SHA-256.

pub mod csv;
pub mod dataset;
pub mod encode;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod info;
pub mod mnist1d;
pub mod npy;
pub mod raw;
pub mod read;
pub mod synthetic;
pub mod transform;

pub use dataset::{resolve_dir, Dataset, DatasetKind, Pixels, Split, FASHION_CLASSES};
pub use encode::{encode, encode_with, rate_encode, PoissonParams};
pub use error::{DataError, Result};
pub use fetch::{default_fetch_dir, fetch, FetchSource};
pub use info::{DatasetInfo, SplitInfo};
pub use mnist1d::Mnist1dArgs;
pub use synthetic::{image_stats, synthetic_digits, uniform_spikes};
pub use transform::{
    apply_preprocess, apply_transform, center_crop, flatten, normalize_in_place, resize_area,
};
