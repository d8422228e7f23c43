//! Shared helpers of the `cluster_*` tests: a sim with a running cluster, and polling.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use vpa_sim::cluster::nodes::NodeSpec;
use vpa_sim::cluster::{Cluster, ClusterOptions};
use vpa_sim::{Sim, SimOptions};

/// A sim with a fast-ticking cluster of `nodes`.
pub async fn cluster(nodes: &[&str], sim_opts: SimOptions) -> (Sim, Cluster, kube::Client) {
    cluster_with(nodes, sim_opts, ClusterOptions::default()).await
}

/// A sim with a fast-ticking cluster of `nodes`, other cluster options from `base`.
pub async fn cluster_with(
    nodes: &[&str],
    sim_opts: SimOptions,
    base: ClusterOptions,
) -> (Sim, Cluster, kube::Client) {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(sim_opts).await.unwrap();
    let opts = ClusterOptions {
        nodes: nodes
            .iter()
            .map(|n| n.parse::<NodeSpec>().unwrap())
            .collect(),
        interval: Duration::from_millis(50),
        metrics_port: Some(0),
        ..base
    };
    let cluster = Cluster::start(&sim, opts).await.unwrap();
    let client = sim.client().await.unwrap();
    (sim, cluster, client)
}

/// Polls `f` every 50 ms for up to 15 s until it returns Some.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
