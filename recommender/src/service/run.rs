//! Top-level wiring of the service (edge): logging, client, admin server, leader election, watch
//! caches, checkpoint restore or history load, the loop, and graceful shutdown on SIGTERM.
//! The shared pieces (flags, admin server, leader election) are `vpa_common`'s.

use std::sync::Arc;

use anyhow::Context;
use kube::Client;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};
use vpa_common::leader_election::run_while_leading;

use super::args::ServiceArgs;
use super::config::{ServiceConfig, Storage};
use super::metrics::Metrics;
use crate::config::engine::EngineArgs;
use crate::input::pod::PodReduction;
use crate::input::prometheus_history::{HistoryConfig, PrometheusHistory};
use crate::input::watches::{OOM_BUFFER, Watches};
use crate::routines::recommender::Recommender;
use crate::routines::{history, per_vpa};
use vpa_common::admin::{self, Health};

/// The service's entry point for the launcher: runs [`run`] on a new runtime; exit status 1
/// when startup fails or leadership is lost (so the Deployment restarts the replica).
pub fn main(args: &ServiceArgs, engine: &EngineArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, engine)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "vpa-recommender stopped");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the service from its flags until SIGTERM; fails when startup fails or leadership is
/// lost.
pub async fn run(args: &ServiceArgs, engine: &EngineArgs) -> anyhow::Result<()> {
    args.common.init_logging();
    let config = args.config(engine)?;
    info!(?config, "Starting vpa-recommender");
    if config.gates.in_place || config.gates.cpu_startup_boost {
        info!(gates = %args.common.feature_gates, "The InPlace and CPUStartupBoost gates change nothing in the recommender");
    }
    let stop_rx = vpa_common::shutdown::on_termination();

    let client = args.common.client().await?;
    let metrics = Arc::new(Metrics::default());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let health = Health::new(config.interval);
    let router = admin::router(Arc::new(registry), health.clone(), "recommender");
    let admin_task = vpa_common::admin::serve(
        args.common.admin_address()?,
        router,
        stopped(stop_rx.clone()),
    )
    .await?;

    let history = match &config.storage {
        Storage::Prometheus(h) => Some(
            PrometheusHistory::new(args.prometheus.source.http_client()?, (**h).clone())?
                .with_observer(metrics.clone()),
        ),
        Storage::Checkpoints => None,
    };
    let result = serve(client, config, history, metrics, health, stop_rx).await;
    if result.is_ok() {
        let _ = admin_task.await;
    } else {
        admin_task.abort();
    }
    result
}

pub use vpa_common::shutdown::stopped;

fn describe(history: &HistoryConfig) -> String {
    format!(
        "Loading {}h of usage history at {}s resolution from {}",
        history.history_length.as_secs() / 3600,
        history.resolution.as_secs(),
        history.address
    )
}

/// Runs the recommender with `client` until `stop` turns true: leader election (when
/// configured), watch caches, restore, then the loop. Returns
/// [`LostLeadership`](vpa_common::leader_election::LostLeadership) as an error when another
/// replica takes over. In-process tests call this directly.
pub async fn serve(
    client: Client,
    config: ServiceConfig,
    history: Option<PrometheusHistory>,
    metrics: Arc<Metrics>,
    health: Health,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let election = config.leader_election.clone();
    let work = lead(
        client.clone(),
        config,
        history,
        metrics,
        health,
        stop.clone(),
    );
    run_while_leading(&client, election.as_ref(), stopped(stop), work)
        .await?
        .unwrap_or(Ok(()))
}

async fn lead(
    client: Client,
    config: ServiceConfig,
    history: Option<PrometheusHistory>,
    metrics: Arc<Metrics>,
    health: Health,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (oom_tx, oom_rx) = mpsc::channel(OOM_BUFFER);
    let reduction = PodReduction {
        native_sidecars: config.gates.native_sidecar,
    };
    let watches = Watches::start(
        &client,
        config.namespaces.only.as_deref(),
        oom_tx,
        reduction,
    );
    tokio::select! {
        ready = watches.wait_ready(config.controllers_sync_timeout) => ready.context("starting the watch caches")?,
        _ = stopped(stop.clone()) => return Ok(()),
    }
    info!("Watch caches synced");
    let storage = config.storage.clone();
    let interval = config.interval;
    let per_vpa_config = config.gates.per_vpa_config;
    let mut recommender = Recommender::new(client, config, watches, oom_rx, metrics, health);
    match (storage, history) {
        (Storage::Prometheus(h), Some(source)) => {
            let end = k8s_openapi::jiff::Timestamp::now().as_second();
            let snapshot = recommender.snapshot().await;
            let overrides = if per_vpa_config {
                per_vpa::overrides(&snapshot)
            } else {
                Default::default()
            };
            let load = history::spawn_load(
                source,
                snapshot,
                *recommender.aggregations(),
                overrides,
                end,
            );
            // A small history loads within one interval: wait for it, so even the first loop
            // has it; a big one loads while loops run with the FetchingHistory condition.
            let waited = tokio::time::Instant::now();
            while !load.is_finished() && waited.elapsed() < interval {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            recommender.set_history_load(load, describe(&h));
        }
        _ => loop {
            match recommender.restore_checkpoints().await {
                Ok(_) => break,
                Err(error) => warn!(%error, "Cannot list checkpoints; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopped(stop.clone()) => return Ok(()),
            }
        },
    }
    recommender.run(stopped(stop)).await;
    Ok(())
}
