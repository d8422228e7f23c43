//! The recommender service end to end against the in-memory API server (`vpa-sim`), in
//! process: a hamster Deployment with two pods burning half a core, PodMetrics refreshed every
//! second, and the service running with a one-second loop.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vpa_common::api::{
    VerticalPodAutoscaler, VerticalPodAutoscalerCheckpoint,
    VerticalPodAutoscalerRecommenderSelector,
};
use vpa_common::resources::{CPU, MEMORY};
use vpa_common::testutil::VpaBuilder;
use vpa_recommender::service::admin::Health;
use vpa_recommender::service::config::{LeaderElection, ServiceConfig};
use vpa_recommender::service::metrics::Metrics;
use vpa_sim::{FaultConfig, FaultKind, FaultRule, Sim, SimOptions};

const NS: &str = "default";
const INTERVAL: Duration = Duration::from_secs(1);
const MIB: i64 = 1 << 20;

/// A sim holding the CRDs, Deployment `hamster` with ReplicaSet `hamster-rs` and two running
/// pods, and VPA `hamster-vpa`.
struct Cluster {
    sim: Sim,
    client: Client,
    metrics_task: JoinHandle<()>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.metrics_task.abort();
    }
}

fn owner(kind: &str, name: &str, uid: Option<String>) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

async fn cluster() -> Cluster {
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
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let pp = PostParams::default();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "hamster"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hamster"}},
            "template": {"metadata": {"labels": {"app": "hamster"}},
                "spec": {"containers": [{"name": "hamster", "image": "hamster"}]}}}
    }))
    .unwrap();
    let deployment = Api::<Deployment>::namespaced(client.clone(), NS)
        .create(&pp, &deployment)
        .await
        .unwrap();
    let mut rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "hamster-rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hamster"}},
            "template": {"metadata": {"labels": {"app": "hamster"}},
                "spec": {"containers": [{"name": "hamster", "image": "hamster"}]}}}
    }))
    .unwrap();
    rs.metadata.owner_references = Some(vec![owner(
        "Deployment",
        "hamster",
        deployment.metadata.uid,
    )]);
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), NS)
        .create(&pp, &rs)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for name in ["hamster-rs-a", "hamster-rs-b"] {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "hamster"}},
            "spec": {"containers": [{"name": "hamster", "image": "hamster",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]}
        }))
        .unwrap();
        pod.metadata.owner_references = Some(vec![owner(
            "ReplicaSet",
            "hamster-rs",
            rs.metadata.uid.clone(),
        )]);
        pods.create(&pp, &pod).await.unwrap();
        set_pod_status(&pods, name, 0, false).await;
    }
    create_vpa(&client, VpaBuilder::new(NS, "hamster-vpa").build()).await;
    let metrics_task = refresh_metrics(&sim);
    Cluster {
        sim,
        client,
        metrics_task,
    }
}

/// Sets a running pod's status; `oom_killed` marks its last termination as an OOM kill.
async fn set_pod_status(pods: &Api<Pod>, name: &str, restarts: i32, oom_killed: bool) {
    let last_state = if oom_killed {
        json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "finishedAt": k8s_openapi::jiff::Timestamp::now().to_string()}})
    } else {
        json!({})
    };
    let status = json!({"status": {"phase": "Running", "containerStatuses": [{
        "name": "hamster", "image": "hamster", "imageID": "", "ready": true, "restartCount": restarts,
        "state": {"running": {"startedAt": "2026-11-28T00:00:00Z"}}, "lastState": last_state}]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

async fn create_vpa(client: &Client, vpa: VerticalPodAutoscaler) {
    Api::<VerticalPodAutoscaler>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &vpa)
        .await
        .unwrap();
}

/// Half a core and 300Mi per pod, with a fresh timestamp every second (as metrics-server would).
fn refresh_metrics(sim: &Sim) -> JoinHandle<()> {
    refresh_metrics_of(sim, &["hamster-rs-a", "hamster-rs-b"])
}

fn refresh_metrics_of(sim: &Sim, pods: &[&str]) -> JoinHandle<()> {
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
struct SimMetrics(Arc<vpa_sim::Shared>);

impl SimMetrics {
    fn set(&self, pod: &str) {
        let gr = vpa_sim::resource::GroupResource::new("metrics.k8s.io", "pods");
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
struct Replica {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
    metrics: Arc<Metrics>,
}

impl Replica {
    fn start(client: Client, config: ServiceConfig) -> Self {
        let (stop, rx) = watch::channel(false);
        let metrics = Arc::new(Metrics::default());
        let health = Health::new(config.interval);
        let task = tokio::spawn(vpa_recommender::service::serve(
            client,
            config,
            None,
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

    fn has_looped(&self) -> bool {
        self.metrics.last_loop_timestamp.get() > 0.0
    }

    async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("replica stops within 10s")
            .expect("replica task")
    }
}

fn config() -> ServiceConfig {
    ServiceConfig {
        // The sim serves no ReplicationControllers: do not wait long for their cache.
        controllers_sync_timeout: Duration::from_secs(2),
        ..ServiceConfig::with_interval(INTERVAL)
    }
}

async fn vpa(client: &Client, name: &str) -> VerticalPodAutoscaler {
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
async fn wait_for_target(
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

fn hamster_like((cpu, memory): (i64, i64)) -> bool {
    // 0.5 cores at its histogram bucket's upper edge (a few % above) plus the 15 % margin;
    // 300Mi likewise.
    (575..=620).contains(&cpu) && (345 * MIB..=372 * MIB).contains(&memory)
}

async fn checkpoint_samples(client: &Client) -> Option<i64> {
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(client.clone(), NS);
    api.get_opt("hamster-vpa-hamster")
        .await
        .ok()??
        .status?
        .total_samples_count
}

#[tokio::test]
async fn hamster_gets_half_a_core_plus_margin_and_other_recommenders_vpas_are_ignored() {
    let c = cluster().await;
    let mut other = VpaBuilder::new(NS, "other-vpa")
        .target_ref("Deployment", "hamster")
        .build();
    other.spec.recommenders = Some(vec![VerticalPodAutoscalerRecommenderSelector {
        name: "custom".into(),
    }]);
    create_vpa(&c.client, other).await;
    let replica = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target), "{target:?}");
    let status = vpa(&c.client, "hamster-vpa").await.status.unwrap();
    let provided = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "RecommendationProvided")
        .unwrap();
    assert_eq!(provided.status, "True");
    tokio::time::sleep(2 * INTERVAL).await;
    assert!(
        vpa(&c.client, "other-vpa").await.status.is_none(),
        "another recommender's VPA is left alone"
    );
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn oom_kill_raises_the_memory_recommendation() {
    let c = cluster().await;
    let replica = Replica::start(c.client.clone(), config());
    let (_, before) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NS);
    set_pod_status(&pods, "hamster-rs-a", 1, true).await;
    // Bumped to max(300Mi + 100Mi, 300Mi × 1.2) = 400Mi, plus the margin.
    let (_, after) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        |(_, m)| m > before,
    )
    .await;
    assert!(after >= 400 * MIB * 115 / 100, "memory after OOM {after}");
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn restart_restores_history_from_checkpoints() {
    let c = cluster().await;
    let first = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.unwrap_or(0) < 4 {
        assert!(tokio::time::Instant::now() < deadline, "checkpoint written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    first.shutdown().await.unwrap();
    let saved = checkpoint_samples(&c.client).await.unwrap();

    // Forget the status, then start a new replica: it must restore the saved history.
    Api::<VerticalPodAutoscaler>::namespaced(c.client.clone(), NS)
        .patch_status(
            "hamster-vpa",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": null})),
        )
        .await
        .unwrap();
    let second = Replica::start(c.client.clone(), config());
    let again = wait_for_target(&c.client, "hamster-vpa", Duration::from_secs(15), |_| true).await;
    assert_eq!(again, target, "same recommendation after restart");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.unwrap_or(0) <= saved {
        assert!(
            tokio::time::Instant::now() < deadline,
            "history continues from the checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_leader_election_only_one_replica_writes_and_the_other_takes_over() {
    let c = cluster().await;
    let mut config = config();
    config.leader_election = Some(LeaderElection {
        lease_name: "vpa-recommender-lease".into(),
        namespace: "kube-system".into(),
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
    });
    let audit = c.sim.record_requests();
    let a = Replica::start(
        c.sim
            .client_for(&c.sim.token_for_user("replica-a", &["system:masters"]))
            .await
            .unwrap(),
        config.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = Replica::start(
        c.sim
            .client_for(&c.sim.token_for_user("replica-b", &["system:masters"]))
            .await
            .unwrap(),
        config,
    );
    wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    tokio::time::sleep(2 * INTERVAL).await;
    let writers = |records: &[vpa_sim::AuditRecord]| -> Vec<String> {
        let mut users: Vec<String> = records
            .iter()
            .filter(|r| r.resource == "verticalpodautoscalers" && r.subresource == "status")
            .map(|r| r.user.clone())
            .collect();
        users.sort();
        users.dedup();
        users
    };
    assert_eq!(writers(&audit.records()), ["replica-a"]);
    assert!(a.has_looped() && !b.has_looped());

    // The leader stops gracefully and releases the lease: the standby takes over.
    a.shutdown().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !b.has_looped() {
        assert!(tokio::time::Instant::now() < deadline, "standby took over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn apiserver_errors_dropped_watches_and_410_are_survived() {
    let c = cluster().await;
    c.sim.faults().set(FaultConfig {
        rules: vec![FaultRule {
            verb: None,
            resource: None,
            rate: 0.2,
            kind: FaultKind::Internal,
        }],
        drop_watches_after: Some(Duration::from_secs(1)),
        ..FaultConfig::default()
    });
    let replica = Replica::start(c.client.clone(), config());
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.sim.compact();
    c.sim.restart();
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(30),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target));
    c.sim.faults().set(FaultConfig::default());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "checkpoint written despite faults"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn targets_of_other_kinds_resolve_through_the_scale_subresource() {
    let c = cluster().await;
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "rollouts.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}
    }))
    .unwrap();
    Api::<CustomResourceDefinition>::all(c.client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .unwrap();
    let resource = kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk("example.com", "v1", "Rollout"),
        "rollouts",
    );
    let rollouts: Api<kube::core::DynamicObject> =
        Api::namespaced_with(c.client.clone(), NS, &resource);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let rollout = loop {
        let object = kube::core::DynamicObject::new("canary", &resource)
            .data(json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"app": "canary"}}}}));
        match rollouts.create(&PostParams::default(), &object).await {
            Ok(created) => break created,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "CRD never served: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Kubernetes reads the scale selector at the CRD's labelSelectorPath (.status.selector);
    // the sim reads .spec.selector: the object carries both.
    rollouts
        .patch_status(
            "canary",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1, "selector": "app=canary"}})),
        )
        .await
        .unwrap();
    let mut pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "canary-a", "labels": {"app": "canary"}},
        "spec": {"containers": [{"name": "hamster", "image": "hamster"}]}
    }))
    .unwrap();
    pod.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "example.com/v1".into(),
        ..owner("Rollout", "canary", rollout.metadata.uid)
    }]);
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NS);
    pods.create(&PostParams::default(), &pod).await.unwrap();
    set_pod_status(&pods, "canary-a", 0, false).await;
    let _metrics = AbortOnDrop(refresh_metrics_of(&c.sim, &["canary-a"]));
    let vpa = VpaBuilder::new(NS, "canary-vpa").build();
    let mut vpa = vpa;
    vpa.spec.target_ref.api_version = Some("example.com/v1".into());
    vpa.spec.target_ref.kind = "Rollout".into();
    vpa.spec.target_ref.name = "canary".into();
    create_vpa(&c.client, vpa).await;
    let replica = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "canary-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target));
    replica.shutdown().await.unwrap();
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
