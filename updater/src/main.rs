//! `vpa-updater` launcher.

use vpa_updater::args::Args;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let args: Args = vpa_common::go_flags::parse();
    vpa_updater::run::run(args).await
}
