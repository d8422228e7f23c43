//! `vpa-recommender` launcher.

use clap::Parser;

/// Computes resource recommendations from observed usage and writes them into VPA status.
#[derive(Parser, Debug)]
#[command(name = "vpa-recommender", version, about)]
struct Args {
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    kubeconfig: String,
}

fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args = Args::parse();
    anyhow::bail!(
        "vpa-recommender is not implemented yet (kubeconfig {:?}); see the open issues",
        args.kubeconfig
    )
}
