//! `vpa-sim` launcher.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    vpa_sim::cli::run(vpa_sim::cli::Args::parse()).await
}
