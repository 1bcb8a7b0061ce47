//! The CPU power-model flags shared by `profile`, `run` and `measure`: what the modelled energy
//! (measured CPU time × power) may use when no calibration of this machine exists.

use std::path::PathBuf;

use clap::Args;
use joulebench_profiler::cpu_spec::SpecOverrides;
use joulebench_profiler::PowerOptions;

#[derive(Args, Debug, Clone, Default)]
pub struct PowerArgs {
    /// Modelled energy: dynamic watts per busy logical CPU (overrides the spec-sheet model; a saved calibration still wins unless --no-calibration).
    #[arg(long, value_name = "W")]
    cpu_watts: Option<f64>,
    /// Modelled energy: the CPU's TDP per socket in watts, for a CPU missing from the spec table (e.g. a VM's anonymised "AMD EPYC").
    #[arg(long, value_name = "W")]
    tdp: Option<f64>,
    /// Modelled energy: physical cores of the whole machine (with --tdp; default: the table, else /proc/cpuinfo).
    #[arg(long, value_name = "N")]
    cores: Option<u32>,
    /// Modelled energy: logical CPUs of the whole package(s), not the VM's share (with --tdp).
    #[arg(long, value_name = "N")]
    logical_cpus: Option<u32>,
    /// Modelled energy: sockets (default: /proc/cpuinfo).
    #[arg(long, value_name = "N")]
    sockets: Option<u32>,
    /// Do not use a saved `joulebench meters calibrate` result.
    #[arg(long)]
    no_calibration: bool,
    /// Folder of saved calibrations (default: $JOULEBENCH_CONFIG_DIR/calibration, else ~/.config/joulebench/calibration).
    #[arg(long, value_name = "DIR")]
    calibration_dir: Option<PathBuf>,
}

impl From<PowerArgs> for PowerOptions {
    fn from(a: PowerArgs) -> Self {
        PowerOptions {
            cpu_watts: a.cpu_watts,
            spec: SpecOverrides {
                tdp_w_per_socket: a.tdp,
                sockets: a.sockets,
                cores: a.cores,
                logical_cpus: a.logical_cpus,
            },
            calibration_dir: a.calibration_dir,
            ignore_calibration: a.no_calibration,
        }
    }
}
