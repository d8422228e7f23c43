//! versus-upstream: ours against upstream's VPA 1.7.1 in one run (see `--help` and BENCHMARKS.md,
//! "Versus upstream").

mod admission;
mod args;
mod peers;
mod recommender;
mod recommender_kube;
mod recommender_run;
mod recommender_summary;
mod run;
mod updater;

use clap::Parser;

use args::Args;

/// The sim shares the 2 cores with the binary measured: on jemalloc, as in the service_scale
/// bench, it costs less CPU per request.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    run::run(Args::parse()).await
}
