//! One module per command: each parses its flags and calls the libraries.

pub mod bench;
pub mod data;
pub mod eval;
pub mod export;
pub mod import;
pub mod infer;
pub mod measure;
pub mod meters;
pub mod models;
pub mod power;
pub mod power_model;
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
