//! `vpa-admission-controller` launcher.

use clap::Parser;

/// TLS mutating webhook that sets pod requests from the recommendation at creation.
#[derive(Parser, Debug)]
#[command(name = "vpa-admission-controller", version, about)]
struct Args {
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    kubeconfig: String,
}

fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args = Args::parse();
    anyhow::bail!(
        "vpa-admission-controller is not implemented yet (kubeconfig {:?}); see the open issues",
        args.kubeconfig
    )
}
