//! `profile`: latency per batch size, operation counts, spiking activity and energy of one model
//! on one backend, with the machine it ran on. The `joulebench profile` and `run` commands call it.

use std::time::{SystemTime, UNIX_EPOCH};

use joulebench_inference::Backend;
use joulebench_models::{EnergyFigure, Tensor};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::counts::{ActivityAccumulator, ProfileCounts, ProfiledActivity};
use crate::energy::{measure_energy, EnergyConfig, EnergyMeasurement, WindowWork};
use crate::error::ProfileError;
use crate::estimate::{estimate, EnergyEstimate, EnergyTable, Precision, Work};
use crate::inputs::{InputGenerator, InputsInfo};
use crate::latency::{measure, measure_offline, LatencyConfig, LatencyResult, OfflineResult};
use crate::meter::EnergyMeter;
use crate::modelled::{modelled_energy, PowerBasis};
use crate::onnx_counts::OnnxCounts;
use crate::system::SystemInfo;

/// Version of the result layout (docs/profile-schema.md).
pub const SCHEMA_VERSION: u32 = 2;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileConfig {
    /// Batch sizes for the latency measurement (SingleStream per batch size).
    pub batches: Vec<usize>,
    pub latency: LatencyConfig,
    /// Offline throughput batch size (None: skipped).
    pub offline_batch: Option<usize>,
    pub energy: EnergyConfig,
    /// Distinct input batches prepared per batch size (cycled through while timing).
    pub input_pool: usize,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            batches: vec![1],
            latency: LatencyConfig::default(),
            offline_batch: None,
            energy: EnergyConfig::default(),
            input_pool: 4,
        }
    }
}

/// The model being profiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Display name (preset, or ONNX file stem).
    pub name: String,
    /// Run folder or ONNX file it was loaded from.
    pub source: String,
    pub preset: Option<String>,
    pub spiking: bool,
    pub steps: usize,
    /// One sample's shape (no batch, no time).
    pub sample_shape: Vec<usize>,
}

/// The backend, as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub name: String,
    pub threads: usize,
    /// Whether it runs on a GPU.
    pub gpu: bool,
}

/// Energy: measured (hardware counter), modelled (CPU time × power model), estimated (operation
/// counts), each labelled; `energy_sources` lists them as figures, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyResult {
    /// How the meter was chosen, or why there is none.
    pub meter_note: String,
    /// Hardware measurement at `batch` (None without a meter).
    pub measured: Option<EnergyMeasurement>,
    /// Measured CPU time × the CPU power model (None without a power basis, or on a GPU engine).
    #[serde(default)]
    pub modelled: Option<EnergyFigure>,
    /// Operation-count estimate (None without counts). Never a measurement.
    pub estimate: Option<EnergyEstimate>,
    /// Every figure above, measured first, then modelled, then estimate.
    #[serde(default)]
    pub energy_sources: Vec<EnergyFigure>,
    /// Modelled ÷ measured (both above idle, same windows) when both exist.
    #[serde(default)]
    pub modelled_over_measured: Option<f64>,
}

/// Everything one profile produced. Layout documented in docs/profile-schema.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileResult {
    pub schema_version: u32,
    pub tool: String,
    /// Seconds since the Unix epoch when the profile finished.
    pub created_unix_s: u64,
    pub model: ModelInfo,
    pub backend: BackendInfo,
    pub inputs: InputsInfo,
    /// Analytic counts from the ModelSpec.
    pub counts: Option<ProfileCounts>,
    /// Counts from the ONNX graph with inferred shapes.
    pub onnx_counts: Option<OnnxCounts>,
    /// Spiking activity (engines that count it), averaged per sample over one untimed run of
    /// every prepared input batch of every batch size.
    pub activity: Option<ProfiledActivity>,
    pub latency: Vec<LatencyResult>,
    pub offline: Option<OfflineResult>,
    pub energy: EnergyResult,
    pub system: SystemInfo,
    pub config: ProfileConfig,
}

/// What `profile` needs besides the backend.
pub struct ProfileRequest {
    pub model: ModelInfo,
    pub counts: Option<ProfileCounts>,
    pub onnx_counts: Option<OnnxCounts>,
    pub inputs: InputGenerator,
    pub meter: Option<Box<dyn EnergyMeter>>,
    pub meter_note: String,
    pub gpu_backend: bool,
    pub system: SystemInfo,
    /// The CPU power model for the modelled figure (None: no modelled figure).
    pub power: Option<PowerBasis>,
}

fn check_output(out: &Tensor, batch: usize) -> Result<(), ProfileError> {
    if out.shape.first() != Some(&batch) || out.data.iter().any(|v| !v.is_finite()) {
        return Err(ProfileError::Config(format!(
            "backend returned {:?} for a batch of {batch}{}",
            out.shape,
            if out.data.iter().any(|v| !v.is_finite()) {
                " with NaN/inf values"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

/// The work the estimate charges, from counts and (spiking) measured activity, in the engine's
/// number format (`Int8`: the fixed-point engine, int8 arithmetic, 1-byte weights).
pub fn estimate_work(
    counts: &ProfileCounts,
    activity: Option<&ProfiledActivity>,
    batch: usize,
    precision: Precision,
) -> Work {
    let non_lif_other = counts.other_ops.saturating_sub(counts.membrane_updates) as f64;
    match activity {
        Some(a) => Work {
            macs: a.effective_macs_per_sample,
            acs: a.effective_acs_per_sample,
            membrane_updates: a.membrane_updates_per_sample,
            other_ops: non_lif_other,
            params: counts.params as f64,
            activations: counts.activations as f64,
            batch,
            precision,
        },
        None => Work {
            macs: counts.macs as f64,
            acs: 0.0,
            membrane_updates: counts.membrane_updates as f64,
            other_ops: non_lif_other,
            params: counts.params as f64,
            activations: counts.activations as f64,
            batch,
            precision,
        },
    }
}

/// The energy windows' work: the prepared batches run in turn on the backend, which is
/// synchronized (GPU work finished) before a window ends.
struct BackendWork<'a> {
    backend: &'a mut dyn Backend,
    batches: &'a [Tensor],
    i: usize,
}

impl WindowWork for BackendWork<'_> {
    fn run_batch(&mut self) -> Result<(), ProfileError> {
        let out = self
            .backend
            .run(&self.batches[self.i % self.batches.len()])?;
        self.i += 1;
        std::hint::black_box(&out);
        Ok(())
    }
    fn synchronize(&mut self) -> Result<(), ProfileError> {
        Ok(self.backend.synchronize()?)
    }
}

/// Profiles `backend`. `on_stage` receives a short line per stage (progress display).
pub fn profile<C: Clock>(
    clock: &C,
    backend: &mut dyn Backend,
    mut req: ProfileRequest,
    cfg: &ProfileConfig,
    on_stage: &mut dyn FnMut(&str),
) -> Result<ProfileResult, ProfileError> {
    if cfg.batches.is_empty() || cfg.batches.contains(&0) {
        return Err(ProfileError::Config(format!(
            "batch sizes must be ≥ 1, got {:?}",
            cfg.batches
        )));
    }
    let pool = cfg.input_pool.max(1);
    let inputs_info = req.inputs.info();
    let mut latency = vec![];
    let mut acc = ActivityAccumulator::default();
    for &batch in &cfg.batches {
        on_stage(&format!("latency: batch {batch}"));
        let batches: Vec<Tensor> = (0..pool)
            .map(|_| req.inputs.next_batch(batch))
            .collect::<Result<_, _>>()?;
        // correctness and activity pass (untimed): every prepared batch once
        for x in &batches {
            let out = backend.run(x)?;
            check_output(&out, batch)?;
            if let Some(a) = backend.activity() {
                acc.add(a);
            }
        }
        let mut i = 0usize;
        let r = measure(
            clock,
            &cfg.latency,
            batch,
            || -> Result<(), ProfileError> {
                let x = &batches[i % pool];
                i += 1;
                let out = backend.run(x)?;
                // a query ends when the device work is done (no-op on CPU engines)
                backend.synchronize()?;
                std::hint::black_box(&out);
                Ok(())
            },
        )?;
        latency.push(r);
    }
    let offline = match cfg.offline_batch {
        Some(b) => {
            on_stage(&format!("offline: batch {b}"));
            let batches: Vec<Tensor> = (0..pool.min(2))
                .map(|_| req.inputs.next_batch(b))
                .collect::<Result<_, _>>()?;
            let mut i = 0usize;
            Some(measure_offline(
                clock,
                &cfg.latency,
                b,
                || -> Result<(), ProfileError> {
                    let out = backend.run(&batches[i % batches.len()])?;
                    backend.synchronize()?;
                    i += 1;
                    std::hint::black_box(&out);
                    Ok(())
                },
            )?)
        }
        None => None,
    };
    let activity = acc.finish();
    let energy_batch = cfg.batches[0];
    let measured = match req.meter.as_mut() {
        Some(meter) => {
            on_stage(&format!(
                "energy: {} (settle {} s, idle {} s before and after, warm-up + windows at batch \
                 {energy_batch})",
                meter.name(),
                cfg.energy.settle_seconds,
                cfg.energy.idle_seconds
            ));
            let batches: Vec<Tensor> = (0..pool)
                .map(|_| req.inputs.next_batch(energy_batch))
                .collect::<Result<_, _>>()?;
            Some(measure_energy(
                clock,
                meter.as_mut(),
                &cfg.energy,
                energy_batch,
                BackendWork {
                    backend: &mut *backend,
                    batches: &batches,
                    i: 0,
                },
            )?)
        }
        None => None,
    };
    let counts_for_estimate = req
        .counts
        .as_ref()
        .or(req.onnx_counts.as_ref().map(|c| &c.counts));
    let caches = crate::caches::read_caches(std::path::Path::new(crate::caches::CPU_CACHE_ROOT));
    let estimate = counts_for_estimate.map(|c| {
        estimate(
            &estimate_work(c, activity.as_ref(), energy_batch, backend.precision()),
            &EnergyTable::horowitz_45nm(),
            &caches,
        )
    });
    // Modelled: over the energy windows when a meter ran (the same windows as the measurement),
    // else over the timed latency phase at the energy batch size.
    let modelled = req.power.as_ref().map(|basis| {
        let (wall, cpu, n) = match &measured {
            Some(m) => m.window_totals(),
            None => {
                let l = &latency[0];
                (l.wall_seconds, l.cpu_seconds, (l.queries * l.batch) as u64)
            }
        };
        let mut f = modelled_energy(basis, cpu, wall, n);
        if req.gpu_backend {
            f.method
                .push_str("; CPU only: the GPU's own energy is not modelled");
        }
        f
    });
    let mut energy_sources = vec![];
    energy_sources.extend(measured.as_ref().map(|m| m.figure()));
    energy_sources.extend(modelled.clone());
    energy_sources.extend(estimate.as_ref().map(|e| e.figure()));
    let modelled_over_measured = match (&measured, &modelled) {
        (Some(m), Some(f)) => m
            .joules_per_inference_above_idle
            .filter(|a| a.mean > 0.0)
            .map(|a| f.joules_per_inference / a.mean),
        _ => None,
    };
    Ok(ProfileResult {
        schema_version: SCHEMA_VERSION,
        tool: format!("joulebench-profiler {}", env!("CARGO_PKG_VERSION")),
        created_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        model: req.model,
        backend: BackendInfo {
            name: backend.name().to_string(),
            threads: backend.threads(),
            gpu: req.gpu_backend,
        },
        inputs: inputs_info,
        counts: req.counts,
        onnx_counts: req.onnx_counts,
        activity,
        latency,
        offline,
        energy: EnergyResult {
            meter_note: req.meter_note,
            measured,
            modelled,
            estimate,
            energy_sources,
            modelled_over_measured,
        },
        system: req.system,
        config: cfg.clone(),
    })
}
