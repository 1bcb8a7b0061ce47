//! **Modelled** energy: measured CPU time × the dynamic power (above idle) that this many busy
//! CPUs draw on this machine. Where that power comes from, in this order:
//!
//! 1. a calibration made on this machine against a real counter (`joulebench meters calibrate`,
//!    saved in the user's config directory keyed by CPU model);
//! 2. `--cpu-watts W`: W watts per busy logical CPU, given by the user;
//! 3. the spec-sheet power model ([`crate::power_model`]) with TDP, cores and threads from the
//!    shipped table ([`crate::cpu_spec`]) or `--tdp`;
//! 4. else a generic range per busy CPU, stated as such.
//!
//! Energy over a window = P(busy) × wall time, with busy = CPU time / wall time; so an engine
//! that keeps two threads busy is charged for both, and an engine twice as slow on one thread
//! costs twice the energy.

use std::path::PathBuf;

use joulebench_models::{EnergyFigure, EnergyKind};
use serde::{Deserialize, Serialize};

use crate::calibration::{calibration_dir, load_calibration, Calibration};
use crate::cpu_spec::{resolve_spec, CpuInfo, SpecOverrides};
use crate::error::ProfileError;
use crate::power_model::{spec_model, CpuSpec, PowerAt};

/// Generic power per busy logical CPU when nothing is known about the CPU, watts: from a laptop
/// core (low) to the first busy thread of a server package (high; 18 W measured on the EPYC
/// 8024P profile, 8 W per thread on the Xeon E5-2620 v3 one).
pub const GENERIC_WATTS_PER_CPU: (f64, f64, f64) = (4.0, 9.0, 20.0);

/// What the modelled energy may use (command-line flags).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerOptions {
    /// `--cpu-watts`: dynamic watts per busy logical CPU.
    pub cpu_watts: Option<f64>,
    /// `--tdp`, `--sockets`, `--cores`, `--logical-cpus`.
    pub spec: SpecOverrides,
    /// Where calibrations are looked up (default: the user's config directory).
    pub calibration_dir: Option<PathBuf>,
    /// Ignore a saved calibration (`--no-calibration`).
    pub ignore_calibration: bool,
}

/// The power source chosen for this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum PowerBasis {
    Calibration(Calibration),
    UserWatts { watts_per_cpu: f64 },
    Spec(CpuSpec),
    Generic { cpu_model: String },
}

impl PowerBasis {
    /// Short name, for tables and the `source` of a figure.
    pub fn name(&self) -> &'static str {
        match self {
            PowerBasis::Calibration(_) => "calibrated power model",
            PowerBasis::UserWatts { .. } => "power model: --cpu-watts",
            PowerBasis::Spec(_) => "spec-sheet power model",
            PowerBasis::Generic { .. } => "generic power range",
        }
    }

    /// Dynamic power at `busy` busy logical CPUs, with its band and method.
    pub fn power_at(&self, busy: f64) -> PowerAt {
        let busy = busy.max(0.0);
        match self {
            PowerBasis::Calibration(c) => {
                let w = c.watts_at(busy);
                let e = c.fit_median_error.max(0.0);
                PowerAt {
                    busy,
                    watts: w,
                    low: w * (1.0 - e).max(0.0),
                    high: w * (1.0 + e),
                    method: format!("{}; band ± the calibration fit's median error", c.method()),
                }
            }
            PowerBasis::UserWatts { watts_per_cpu } => PowerAt {
                busy,
                watts: watts_per_cpu * busy,
                low: watts_per_cpu * busy,
                high: watts_per_cpu * busy,
                method: format!("{watts_per_cpu} W per busy logical CPU (--cpu-watts, given)"),
            },
            PowerBasis::Spec(s) => spec_model(s, busy),
            PowerBasis::Generic { cpu_model } => {
                let (lo, mid, hi) = GENERIC_WATTS_PER_CPU;
                PowerAt {
                    busy,
                    watts: mid * busy,
                    low: lo * busy,
                    high: hi * busy,
                    method: format!(
                        "generic range, not this CPU's: {lo}–{hi} W (central {mid} W) per busy \
                         logical CPU; `{cpu_model}` is not in the spec table — pass --tdp W \
                         (and --cores/--logical-cpus of the whole package) or --cpu-watts W, or \
                         run `joulebench meters calibrate` on a machine with RAPL"
                    ),
                }
            }
        }
    }
}

/// Chooses the power source for `cpu` (see the module doc for the order). Notes say what was
/// passed over and why. A garbled saved calibration is an error naming the file.
pub fn resolve_power(opts: &PowerOptions, cpu: &CpuInfo) -> Result<PowerBasis, ProfileError> {
    if !opts.ignore_calibration {
        if let Some(dir) = opts.calibration_dir.clone().or_else(calibration_dir) {
            if let Some(c) = load_calibration(&dir, &cpu.model)? {
                return Ok(PowerBasis::Calibration(c));
            }
        }
    }
    if let Some(w) = opts.cpu_watts {
        if !(w.is_finite() && w > 0.0) {
            return Err(ProfileError::Config(format!(
                "--cpu-watts must be a positive number of watts, got {w}"
            )));
        }
        return Ok(PowerBasis::UserWatts { watts_per_cpu: w });
    }
    if let Some(t) = opts.spec.tdp_w_per_socket {
        if !(t.is_finite() && t > 0.0) {
            return Err(ProfileError::Config(format!(
                "--tdp must be a positive number of watts, got {t}"
            )));
        }
    }
    Ok(match resolve_spec(cpu, &opts.spec) {
        Some(s) => PowerBasis::Spec(s),
        None => PowerBasis::Generic {
            cpu_model: cpu.model.clone(),
        },
    })
}

/// Modelled energy per inference of a window in which `inferences` samples ran in
/// `wall_seconds` using `cpu_seconds` of CPU time (all threads of the process).
pub fn modelled_energy(
    basis: &PowerBasis,
    cpu_seconds: f64,
    wall_seconds: f64,
    inferences: u64,
) -> EnergyFigure {
    let n = inferences.max(1) as f64;
    let wall = wall_seconds.max(1e-12);
    let busy = (cpu_seconds / wall).max(0.0);
    let p = basis.power_at(busy);
    let per = |w: f64| w * wall / n;
    let mut f = EnergyFigure::new(
        EnergyKind::Modelled,
        basis.name(),
        per(p.watts),
        per(p.low),
        per(p.high),
        format!(
            "measured CPU time (process, all threads) {:.4} s over {:.3} s wall for {} inferences \
             → {:.2} busy CPUs × {:.2} W ({}); not a measurement",
            cpu_seconds, wall_seconds, inferences, busy, p.watts, p.method
        ),
    );
    f.cpu_seconds_per_inference = Some(cpu_seconds / n);
    f.busy_cpus = Some(busy);
    f.watts = Some(p.watts);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power_model::CENTRAL;

    fn spec() -> PowerBasis {
        PowerBasis::Spec(CpuSpec {
            model: "AMD EPYC 8024P 8-Core Processor".into(),
            tdp_w_per_socket: 90.0,
            sockets: 1,
            cores: 8,
            logical_cpus: 16,
            source: "test".into(),
        })
    }

    #[test]
    fn energy_follows_cpu_time_at_equal_load() {
        // the same single-threaded load, one engine 2.5× slower: 2.5× the energy
        let fast = modelled_energy(&spec(), 1.0, 1.0, 1000);
        let slow = modelled_energy(&spec(), 2.5, 2.5, 1000);
        assert!((slow.joules_per_inference / fast.joules_per_inference - 2.5).abs() < 1e-9);
        assert_eq!(fast.kind, EnergyKind::Modelled);
        assert!(fast.low <= fast.joules_per_inference && fast.joules_per_inference <= fast.high);
        let want = CENTRAL.saturation * 90.0 * crate::power_model::curve(1.0 / 16.0, CENTRAL.scale)
            / 1000.0;
        assert!((fast.joules_per_inference - want).abs() < 1e-12);
    }

    #[test]
    fn two_busy_threads_are_charged_for_both() {
        // same wall time, two threads busy: more energy than one, less than twice (concave)
        let one = modelled_energy(&spec(), 1.0, 1.0, 100);
        let two = modelled_energy(&spec(), 2.0, 1.0, 100);
        assert_eq!(two.busy_cpus, Some(2.0));
        let r = two.joules_per_inference / one.joules_per_inference;
        assert!(r > 1.3 && r < 2.0, "{r}");
        // given watts per CPU are linear
        let w = PowerBasis::UserWatts {
            watts_per_cpu: 10.0,
        };
        let e = modelled_energy(&w, 2.0, 1.0, 100);
        assert!((e.joules_per_inference - 0.2).abs() < 1e-12);
    }

    #[test]
    fn resolution_order_and_bad_flags() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = crate::cpu_spec::parse_cpuinfo("processor : 0\nmodel name : AMD EPYC\n");
        let base = PowerOptions {
            calibration_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        assert!(matches!(
            resolve_power(&base, &cpu).unwrap(),
            PowerBasis::Generic { .. }
        ));
        let tdp = PowerOptions {
            spec: SpecOverrides {
                tdp_w_per_socket: Some(120.0),
                ..Default::default()
            },
            ..base.clone()
        };
        assert!(matches!(
            resolve_power(&tdp, &cpu).unwrap(),
            PowerBasis::Spec(_)
        ));
        let watts = PowerOptions {
            cpu_watts: Some(7.0),
            ..tdp.clone()
        };
        assert!(matches!(
            resolve_power(&watts, &cpu).unwrap(),
            PowerBasis::UserWatts { .. }
        ));
        let bad = PowerOptions {
            cpu_watts: Some(f64::NAN),
            ..base.clone()
        };
        assert!(resolve_power(&bad, &cpu)
            .unwrap_err()
            .to_string()
            .contains("--cpu-watts"));
        let g = modelled_energy(&resolve_power(&base, &cpu).unwrap(), 1.0, 1.0, 1);
        assert!(g.method.contains("generic") && g.method.contains("--tdp"));
        assert!((g.low, g.joules_per_inference, g.high) == (4.0, 9.0, 20.0));
    }
}
