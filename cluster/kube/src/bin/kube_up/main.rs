//! `kube-up`: starts the real control plane on loopback (see the crate docs), writes an admin
//! kubeconfig, optionally runs our three components and the hamster walkthrough on it, and stops
//! everything on Ctrl-C.

mod run;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = run::Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(match std::env::var("RUST_LOG") {
            Ok(filter) if !filter.is_empty() => tracing_subscriber::EnvFilter::new(filter),
            // kube logs every failed request of the readiness wait as an error.
            _ => tracing_subscriber::EnvFilter::new("info,kube_client::client::builder=off"),
        })
        .init();
    run::run(args).await
}
