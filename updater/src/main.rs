//! `vpa-updater` launcher.

use clap::Parser;

/// Evicts or resizes in place the pods whose requests drifted from the recommendation.
#[derive(Parser, Debug)]
#[command(name = "vpa-updater", version, about)]
struct Args {
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    kubeconfig: String,
}

fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args = Args::parse();
    anyhow::bail!(
        "vpa-updater is not implemented yet (kubeconfig {:?}); see the open issues",
        args.kubeconfig
    )
}
