//! joulebench's benchmark studies, each a plain configuration in and report files out; the
//! `joulebench bench` command only parses flags into these configurations.
//!
//! * [`spike_rate`] — event-driven vs dense time per inference across input spike rates;
//! * [`backends`] — the same models on every engine, like for like (+ inputs for the peers);
//! * [`macs`] — latency against MAC count across mlp-sweep widths × depths;
//! * [`eval`], [`profile_model`] — the work of `joulebench eval` and `joulebench profile`;
//! * [`infer`] — `joulebench infer`: one engine on a `.npy` array, its output to `.npy`;
//! * [`fixed_point`] — the event engine's int8 mode against f32 (accuracy, agreement, spikes);
//! * [`table`] — `backends` merged with the Python peers' results;
//! * [`main_job`] — `joulebench run`: train every preset, export, evaluate and profile every
//!   engine, write results and the report (`training` feature);
//! * [`training`] — one training epoch of ours vs PyTorch eager and snnTorch (`training`
//!   feature).
//!
//! Every study times with one harness ([`harness`]: the profiler's SingleStream loop, wall clock
//! around each backend call only), describes the machine with the profiler's
//! [`joulebench_profiler::Machine`] and stamps rows with [`record`]. The studies are end-to-end
//! programs whose errors only ever reach a person, so they return `anyhow` errors with context
//! (the library crates below them use typed errors).

pub mod agreement;
pub mod backends;
#[cfg(feature = "training")]
pub mod epoch_meter;
pub mod eval;
pub mod fixed_point;
pub mod harness;
pub mod infer;
pub mod inputs;
pub mod macs;
#[cfg(feature = "training")]
pub mod main_job;
pub mod profile_model;
pub mod record;
pub mod spike_rate;
pub mod table;
#[cfg(feature = "training")]
pub mod training;
