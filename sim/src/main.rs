//! `vpa-sim` launcher.

use clap::Parser;

/// In-memory Kubernetes API server and cluster simulator for tests and the playground.
#[derive(Parser, Debug)]
#[command(name = "vpa-sim", version, about)]
struct Args {
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    kubeconfig: String,
}

fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args = Args::parse();
    anyhow::bail!(
        "vpa-sim is not implemented yet (kubeconfig {:?}); see the open issues",
        args.kubeconfig
    )
}
