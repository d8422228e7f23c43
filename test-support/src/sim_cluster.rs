//! vpa-sim started for a test (edge): the API server with the VPA CRDs, and its simulated
//! cluster (controllers, scheduler, kubelets) ticking every [`TICK`] so tests wait little.

use std::time::Duration;

use vpa_sim::cluster::{Cluster, ClusterOptions, NodeSpec};
use vpa_sim::{Sim, SimOptions};

use crate::objects::{create_namespaces, install_vpa_crds};

/// How often a test's simulated cluster acts (the playground's default is 100 ms).
pub const TICK: Duration = Duration::from_millis(50);

/// A started sim (the crypto provider installed) with the VPA CRDs created and `namespaces`
/// present, and an admin client for it.
pub async fn sim_with_vpa_crds(namespaces: &[&str]) -> (Sim, kube::Client) {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let client = sim.client().await.unwrap();
    install_vpa_crds(&client).await.unwrap();
    create_namespaces(&client, namespaces).await;
    (sim, client)
}

/// Starts the simulated cluster of `sim`, ticking every [`TICK`], other options from `base`.
pub async fn start_cluster(sim: &Sim, base: ClusterOptions) -> Cluster {
    let opts = ClusterOptions {
        interval: TICK,
        ..base
    };
    Cluster::start(sim, opts).await.unwrap()
}

/// A sim with a fast-ticking cluster of `nodes` (`name:cores:memory`, as `vpa-sim up --node`)
/// serving its metrics page on a free port, and an admin client.
pub async fn sim_with_cluster(
    nodes: &[&str],
    sim_opts: SimOptions,
) -> (Sim, Cluster, kube::Client) {
    sim_with_cluster_from(nodes, sim_opts, ClusterOptions::default()).await
}

/// [`sim_with_cluster`] with the other cluster options from `base`.
pub async fn sim_with_cluster_from(
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
        metrics_port: Some(0),
        ..base
    };
    let cluster = start_cluster(&sim, opts).await;
    let client = sim.client().await.unwrap();
    (sim, cluster, client)
}
