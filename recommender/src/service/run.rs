//! Top-level wiring of the service (edge): logging, client, admin server, leader election, watch
//! caches, checkpoint restore or history load, the loop, and graceful shutdown on SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use kube::Client;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};
use vpa_common::leader_election::{LeaderElectionConfig, LeaderElector};

use super::admin::{self, Health};
use super::args::ServiceArgs;
use super::config::{ServiceConfig, Storage};
use super::metrics::Metrics;
use crate::input::prometheus_history::{HistoryConfig, PrometheusHistory};
use crate::input::watches::{OOM_BUFFER, Watches};
use crate::replay::EngineArgs;
use crate::routines::history;
use crate::routines::recommender::Recommender;

/// Leadership was lost: the process must exit so it restarts as a candidate.
#[derive(Debug, thiserror::Error)]
#[error("lost leadership of lease {0}")]
pub struct LostLeadership(pub String);

/// Starts structured logging (shared setup: stderr, `RUST_LOG` or else the klog flags).
pub fn init_tracing(klog: &vpa_common::logging::KlogFlags) {
    vpa_common::logging::init_with(klog);
}

/// The service's entry point for the launcher: runs [`run`] on a new runtime; exit status 1
/// when startup fails or leadership is lost (so the Deployment restarts the replica).
pub fn main(kubeconfig: &str, args: &ServiceArgs, engine: &EngineArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(kubeconfig, args, engine)) {
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
pub async fn run(kubeconfig: &str, args: &ServiceArgs, engine: &EngineArgs) -> anyhow::Result<()> {
    init_tracing(&args.common.klog);
    let config = args.config(engine)?;
    info!(?config, "Starting vpa-recommender");
    if !args.common.feature_gates.is_empty() {
        warn!(gates = %args.common.feature_gates, "Feature gates are accepted but none changes the recommender");
    }
    let stop_rx = vpa_common::shutdown::on_termination();

    let client = vpa_common::client::connect(kubeconfig, args.common.throttle.rate()).await?;
    let metrics = Arc::new(Metrics::default());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let health = Health::new(config.interval);
    let address = admin::listen_address(&args.address)
        .with_context(|| format!("parsing --address {}", args.address))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let router = admin::router(Arc::new(registry), health.clone(), "recommender");
    let admin_stop = stopped(stop_rx.clone());
    let admin_task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(admin_stop)
            .await
    });
    info!(%address, "Serving /healthz and /metrics");

    let history = match &config.storage {
        Storage::Prometheus(h) => Some(PrometheusHistory::new(
            args.prometheus.source.http_client()?,
            (**h).clone(),
        )?),
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
/// configured), watch caches, restore, then the loop. Returns [`LostLeadership`] as an error
/// when another replica takes over. In-process tests call this directly.
pub async fn serve(
    client: Client,
    config: ServiceConfig,
    history: Option<PrometheusHistory>,
    metrics: Arc<Metrics>,
    health: Health,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let elector = config.leader_election.as_ref().map(|settings| {
        let lec = LeaderElectionConfig::from_settings(settings);
        Arc::new(LeaderElector::new(client.clone(), lec))
    });
    let lease = config
        .leader_election
        .as_ref()
        .map(|le| le.lease_name.clone())
        .unwrap_or_default();
    if let Some(elector) = elector.clone() {
        let acquire: BoxFuture<()> = Box::pin(async move { elector.acquire().await });
        tokio::select! {
            _ = acquire => {}
            _ = stopped(stop.clone()) => return Ok(()),
        }
    }
    let leading: BoxFuture<anyhow::Result<()>> =
        Box::pin(lead(client, config, history, metrics, health, stop.clone()));
    let result = tokio::select! {
        r = leading => r,
        _ = keep_leading(elector.clone()) => Err(LostLeadership(lease).into()),
    };
    if let Some(elector) = elector
        && result.is_ok()
    {
        let release: BoxFuture<()> = Box::pin(async move { elector.release().await });
        release.await;
    }
    result
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// Resolves when leadership is lost; never without leader election.
fn keep_leading(elector: Option<Arc<LeaderElector>>) -> BoxFuture<()> {
    match elector {
        Some(e) => Box::pin(async move { e.keep_leading().await }),
        None => Box::pin(std::future::pending()),
    }
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
    let watches = Watches::start(&client, config.namespaces.only.as_deref(), oom_tx);
    tokio::select! {
        ready = watches.wait_ready(config.controllers_sync_timeout) => ready.context("starting the watch caches")?,
        _ = stopped(stop.clone()) => return Ok(()),
    }
    info!("Watch caches synced");
    let storage = config.storage.clone();
    let interval = config.interval;
    let mut recommender = Recommender::new(client, config, watches, oom_rx, metrics, health);
    match (storage, history) {
        (Storage::Prometheus(h), Some(source)) => {
            let end = k8s_openapi::jiff::Timestamp::now().as_second();
            let load = history::spawn_load(
                source,
                recommender.snapshot().await,
                recommender.aggregations().clone(),
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
