//! `joulebench data`: dataset inspection and download.

use clap::Args;

#[derive(Args)]
pub struct DataArgs {}

pub fn run(_args: DataArgs) -> anyhow::Result<()> {
    anyhow::bail!("`joulebench data` is being built")
}
