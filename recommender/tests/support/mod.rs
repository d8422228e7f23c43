//! Shared setup of the service's end-to-end tests against the in-memory API server (`vpa-sim`),
//! in process: a hamster Deployment with two pods burning half a core, PodMetrics refreshed every
//! second, and the service running with a one-second loop. Each test binary uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vpa_common::admin::Health;
use vpa_common::api::{VerticalPodAutoscaler, VerticalPodAutoscalerCheckpoint};
use vpa_common::resources::{CPU, MEMORY};
use vpa_common::testutil::VpaBuilder;
use vpa_recommender::service::config::ServiceConfig;
use vpa_recommender::service::metrics::Metrics;
use vpa_sim::{Sim, SimOptions};
use vpa_test_support::hamster::create_hamster;
pub use vpa_test_support::hamster::{HAMSTER_PODS, NS, set_pod_status};
use vpa_test_support::install_vpa_crds;

pub const INTERVAL: Duration = Duration::from_secs(1);
pub const MIB: i64 = 1 << 20;

/// A sim holding the CRDs, Deployment `hamster` with ReplicaSet `hamster-rs` and two running
/// pods, and VPA `hamster-vpa`.
pub struct HamsterSim {
    pub sim: Sim,
    pub client: Client,
    pub metrics_task: JoinHandle<()>,
}

impl Drop for HamsterSim {
    fn drop(&mut self) {
        self.metrics_task.abort();
    }
}

pub async fn hamster_sim() -> HamsterSim {
    hamster_sim_with(true).await
}

/// Like [`hamster_sim`]; without `live_metrics` no PodMetrics are ever set.
pub async fn hamster_sim_with(live_metrics: bool) -> HamsterSim {
    vpa_common::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    let sim = Sim::start(SimOptions {
        bookmark_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = sim.client().await.unwrap();
    install_vpa_crds(&client).await.unwrap();
    create_hamster(&client).await;
    create_vpa(&client, VpaBuilder::new(NS, "hamster-vpa").build()).await;
    let metrics_task = if live_metrics {
        refresh_metrics(&sim)
    } else {
        tokio::spawn(async {})
    };
    HamsterSim {
        sim,
        client,
        metrics_task,
    }
}

pub async fn create_vpa(client: &Client, vpa: VerticalPodAutoscaler) {
    Api::<VerticalPodAutoscaler>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &vpa)
        .await
        .unwrap();
}

/// Half a core and 300Mi per pod, with a fresh timestamp every second (as metrics-server would).
pub fn refresh_metrics(sim: &Sim) -> JoinHandle<()> {
    refresh_metrics_of(sim, &HAMSTER_PODS)
}

pub fn refresh_metrics_of(sim: &Sim, pods: &[&str]) -> JoinHandle<()> {
    let shared = sim.shared().clone();
    let store_sim = SimMetrics(shared);
    let pods: Vec<String> = pods.iter().map(|p| p.to_string()).collect();
    tokio::spawn(async move {
        loop {
            for pod in &pods {
                store_sim.set(pod);
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    })
}

/// Sets PodMetrics through the sim's shared store, from a background task.
pub struct SimMetrics(pub Arc<vpa_sim::Shared>);

impl SimMetrics {
    pub fn set(&self, pod: &str) {
        let gr = vpa_sim::GroupResource::new("metrics.k8s.io", "pods");
        let store = &self.0.store;
        let obj = json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": NS}, "timestamp": store.now(), "window": "30s",
            "containers": [{"name": "hamster", "usage": {"cpu": "500m", "memory": "300Mi"}}]});
        let _ = match store.get(&gr, NS, pod) {
            Some(_) => store.update(&gr, NS, pod, obj, None, false).map(|_| ()),
            None => store.create(&gr, true, obj, false).map(|_| ()),
        };
    }
}

/// A running recommender replica.
pub struct Replica {
    pub stop: watch::Sender<bool>,
    pub task: JoinHandle<anyhow::Result<()>>,
    pub metrics: Arc<Metrics>,
}

impl Replica {
    pub fn start(client: Client, config: ServiceConfig) -> Self {
        Self::start_with_history(client, config, None)
    }

    /// A replica that loads history from `history` at start.
    pub fn start_with_history(
        client: Client,
        config: ServiceConfig,
        history: Option<vpa_recommender::input::prometheus_history::PrometheusHistory>,
    ) -> Self {
        let (stop, rx) = watch::channel(false);
        let metrics = Arc::new(Metrics::default());
        let health = Health::new(config.interval);
        let task = tokio::spawn(vpa_recommender::service::serve(
            client,
            config,
            history,
            metrics.clone(),
            health,
            rx,
        ));
        Self {
            stop,
            task,
            metrics,
        }
    }

    pub fn has_looped(&self) -> bool {
        self.metrics.last_loop_timestamp.get() > 0.0
    }

    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("replica stops within 10s")
            .expect("replica task")
    }
}

pub fn config() -> ServiceConfig {
    ServiceConfig {
        // The sim serves no ReplicationControllers: do not wait long for their cache.
        controllers_sync_timeout: Duration::from_secs(2),
        ..ServiceConfig::with_interval(INTERVAL)
    }
}

pub async fn vpa(client: &Client, name: &str) -> VerticalPodAutoscaler {
    let api = Api::<VerticalPodAutoscaler>::namespaced(client.clone(), NS);
    // Retried: the faults test injects errors into the test's own requests too.
    for _ in 0..20 {
        if let Ok(vpa) = api.get(name).await {
            return vpa;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cannot read VPA {name}");
}

/// The target (millicores, bytes) of container `hamster` once `accept` holds, within `within`.
pub async fn wait_for_target(
    client: &Client,
    name: &str,
    within: Duration,
    accept: impl Fn((i64, i64)) -> bool,
) -> (i64, i64) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let current = vpa(client, name).await;
        let recs = vpa_common::capping::recommendations_from_status(&current).unwrap();
        if let Some(r) = recs.iter().find(|r| r.container_name == "hamster") {
            let target = (r.target[CPU], r.target[MEMORY]);
            if accept(target) {
                return target;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no acceptable recommendation for {name} in {within:?}: {:?}",
            current.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn hamster_like((cpu, memory): (i64, i64)) -> bool {
    // 0.5 cores at its histogram bucket's upper edge (a few % above) plus the 15 % margin;
    // 300Mi likewise.
    (575..=620).contains(&cpu) && (345 * MIB..=372 * MIB).contains(&memory)
}

pub async fn checkpoint_samples(client: &Client) -> Option<i64> {
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(client.clone(), NS);
    api.get_opt("hamster-vpa-hamster")
        .await
        .ok()??
        .status?
        .total_samples_count
}

pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts a recommender with `config`, waits for the hamster's first memory target, OOM-kills
/// `hamster-rs-a` once and returns the memory targets (bytes) before and after the bump.
pub async fn memory_target_around_an_oom(c: &HamsterSim, config: ServiceConfig) -> (i64, i64) {
    let replica = Replica::start(c.client.clone(), config);
    let (_, before) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NS);
    set_pod_status(&pods, "hamster-rs-a", 1, true).await;
    let (_, after) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        |(_, m)| m > before,
    )
    .await;
    replica.shutdown().await.unwrap();
    (before, after)
}
