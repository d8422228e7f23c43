//! Top-level wiring of the binary (edge): logging, client, admin server, leader election,
//! watch caches, the update loop, and graceful shutdown on SIGTERM or Ctrl-C. The shared pieces
//! (flags, admin server, leader election) are `vpa_common`'s.

use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tracing::info;
use vpa_common::leader_election::run_while_leading;
use vpa_common::shutdown::stopped;

use crate::args::Args;
use crate::config::UpdaterConfig;
use crate::kube_api::KubeApi;
use crate::logic::Updater;
use crate::metrics::Metrics;
use vpa_common::admin::Health;

/// How long to wait at start for each controller kind's cache (a kind the API server does not
/// serve stays empty after that).
const CONTROLLERS_SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts structured logging at upstream's default verbosity (shared setup: stderr, `RUST_LOG`,
/// default `info`); [`run`] uses the klog flags instead.
pub fn init_tracing() {
    vpa_common::logging::init();
}

/// Runs the updater until SIGTERM; fails when leadership is lost or startup fails.
pub async fn run(args: Args) -> anyhow::Result<()> {
    args.common.init_logging();
    let config = args.config();
    info!(?config, "Starting vpa-updater");

    let stop = vpa_common::shutdown::on_termination();

    let metrics = Arc::new(Metrics::default());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let health = Health::new(config.interval);
    let router = vpa_common::admin::router(Arc::new(registry), health.clone(), "updater");
    let admin_task =
        vpa_common::admin::serve(args.common.admin_address()?, router, stopped(stop.clone()))
            .await?;

    let client = args.common.client().await?;
    let election = args.leader.settings(&args.leader_elect_resource_name);
    let work = update(client.clone(), config, metrics, health, stop.clone());
    let result = run_while_leading(&client, election.as_ref(), stopped(stop), work)
        .await?
        .unwrap_or(Ok(()));
    if result.is_ok() {
        let _ = admin_task.await;
    } else {
        admin_task.abort();
    }
    result
}

/// The leader's work: the watch caches, then the loop until `stop` turns true.
async fn update(
    client: kube::Client,
    config: UpdaterConfig,
    metrics: Arc<Metrics>,
    health: Health,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let cluster = KubeApi::start(client, config.namespaces.only.as_deref());
    tokio::select! {
        ready = cluster.wait_ready(CONTROLLERS_SYNC_TIMEOUT) => ready.context("starting the watch caches")?,
        _ = stopped(stop.clone()) => return Ok(()),
    }
    info!("Watch caches synced");
    Updater::new(cluster, config, metrics, health)
        .run(stopped(stop))
        .await;
    Ok(())
}
