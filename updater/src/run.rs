//! Top-level wiring of the binary (edge): logging, client, admin server, leader election,
//! watch caches, the update loop, and graceful shutdown on SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tracing::{info, warn};

use crate::admin;
use crate::args::Args;
use crate::health::Health;
use crate::kube_cluster::KubeCluster;
use crate::logic::Updater;
use crate::metrics::Metrics;
use vpa_common::leader_election::{LeaderElectionConfig, LeaderElector};

/// Starts structured logging at upstream's default verbosity (shared setup: stderr, `RUST_LOG`,
/// default `info`); [`run`] uses the klog flags instead.
pub fn init_tracing() {
    vpa_common::logging::init();
}

/// Runs the updater until SIGTERM; fails when leadership is lost or startup fails.
pub async fn run(args: Args) -> anyhow::Result<()> {
    vpa_common::logging::init_with(&args.klog);
    let config = args.config();
    info!(?config, "Starting vpa-updater");
    for gate in ["InPlace", "CPUStartupBoost"] {
        if args.feature_gates.contains(&format!("{gate}=true")) {
            warn!(gate, "Feature gate accepted but not implemented");
        }
    }

    let stop_rx = vpa_common::shutdown::on_termination();
    let stopped = move || vpa_common::shutdown::stopped(stop_rx.clone());

    let metrics = Arc::new(Metrics::default());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let health = Health::new(config.interval);
    let address = admin::listen_address(&args.address)
        .with_context(|| format!("parsing --address {}", args.address))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let router = admin::router(Arc::new(registry), health.clone(), "updater");
    let admin_stop = stopped();
    let admin_task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(admin_stop)
            .await
    });
    info!(%address, "Serving /healthz and /metrics");

    let client = vpa_common::client::connect(&args.kubeconfig, args.throttle.rate()).await?;
    let elector = args
        .leader
        .settings(&args.leader_elect_resource_name)
        .map(|settings| {
            LeaderElector::new(
                client.clone(),
                LeaderElectionConfig::from_settings(&settings),
            )
        });
    if let Some(elector) = &elector {
        tokio::select! {
            _ = elector.acquire() => {}
            _ = stopped() => return Ok(()),
        }
    }

    let cluster = KubeCluster::start(client, config.namespaces.only.as_deref());
    tokio::select! {
        ready = cluster.wait_ready(std::time::Duration::from_secs(10)) => ready.context("starting the watch caches")?,
        _ = stopped() => return Ok(()),
    }
    info!("Watch caches synced");
    let updater = Updater::new(cluster, config, metrics, health);
    let result = match &elector {
        Some(elector) => tokio::select! {
            _ = updater.run(stopped()) => Ok(()),
            () = elector.keep_leading() => Err(anyhow::anyhow!(
                "lost leadership of Lease {}/{}",
                elector.config().namespace,
                elector.config().lease_name
            )),
        },
        None => {
            updater.run(stopped()).await;
            Ok(())
        }
    };
    if let Some(elector) = &elector {
        elector.release().await;
    }
    if result.is_ok() {
        let _ = admin_task.await;
    } else {
        admin_task.abort();
    }
    result
}
