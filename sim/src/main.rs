//! `vpa-sim` launcher.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    vpa_common::logging::init();
    vpa_sim::cli::run(vpa_sim::cli::Args::parse()).await
}
