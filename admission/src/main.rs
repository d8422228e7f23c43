//! `vpa-admission-controller` launcher.

use vpa_admission_controller::config::Args;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args: Args = vpa_common::go_flags::parse();
    vpa_admission_controller::run::run_from_flags(args).await
}
