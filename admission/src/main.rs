//! `vpa-admission-controller` launcher.

use clap::Parser;
use vpa_admission_controller::config::{Args, CertSource};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args = Args::parse();
    vpa_common::logging::init_with(&args.klog);
    let files = std::path::Path::new(&args.tls_cert_file).exists()
        && std::path::Path::new(&args.tls_private_key).exists();
    let config = args.into_config(files).map_err(anyhow::Error::msg)?;
    if let CertSource::Files { cert, .. } = &config.certs {
        tracing::info!(%cert, "Using mounted certificate files");
    }
    vpa_admission_controller::run::run(config).await
}
