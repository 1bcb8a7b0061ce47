//! One module per command, plus helpers two commands share (`agreement`, `epoch_meter`).

pub mod agreement;
pub mod bench;
pub mod bench_backends;
pub mod bench_common;
pub mod bench_fixed;
pub mod bench_macs;
pub mod bench_table;
#[cfg(feature = "training")]
pub mod bench_training;
pub mod data;
#[cfg(feature = "training")]
pub mod epoch_meter;
pub mod eval;
pub mod export;
pub mod memory_check;
pub mod meters;
pub mod models;
pub mod profile;
pub mod report;
#[cfg(feature = "training")]
pub mod run;
#[cfg(feature = "training")]
pub mod sweep;
#[cfg(feature = "training")]
pub mod train;

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
