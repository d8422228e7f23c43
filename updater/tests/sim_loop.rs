//! The updater's kube code against the in-memory API server (`vpa-sim`): watch caches, the
//! policy/v1 Eviction API with PodDisruptionBudgets, the resize subresource, events and the
//! admission-controller Lease, driven one loop at a time.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::{Sim, SimOptions};
use vpa_updater::cluster::ActionError;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::health::Health;
use vpa_updater::kube_cluster::KubeCluster;
use vpa_updater::logic::{LoopSkip, Updater};
use vpa_updater::metrics::Metrics;
use vpa_updater::ratelimit::Rate;

const NS: &str = "default";

fn object<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

async fn create<T>(client: &Client, namespace: &str, v: Value) -> T
where
    T: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<T> = Api::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &object(v))
        .await
        .unwrap()
}

/// Deployment `app` → ReplicaSet `app-rs` → `replicas` running pods requesting 100m / 50Mi
/// (limits 200m / 100Mi), a VPA in `mode` recommending 500m / 200Mi, and the admission
/// controller's Lease renewed `lease_age_secs` ago.
async fn cluster(sim: &Sim, replicas: usize, mode: &str, lease_age_secs: i64) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(sim.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = vpa_updater::run::updater_client(config).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let deploy: Deployment = create(
        &client,
        NS,
        json!({"metadata": {"name": "app"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "i"}]}}}}),
    )
    .await;
    let rs: ReplicaSet = create(
        &client,
        NS,
        json!({"metadata": {"name": "app-rs", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "app",
                "uid": deploy.metadata.uid, "controller": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "i"}]}}}}),
    )
    .await;
    for i in 0..replicas {
        let _: Pod = create(
            &client,
            NS,
            json!({"metadata": {"name": format!("app-{i}"), "labels": {"app": "app"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-rs", "uid": rs.metadata.uid, "controller": true}]},
                "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "i",
                    "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}}}]},
                "status": {"phase": "Running", "startTime": "2020-01-01T00:00:00Z"}}),
        )
        .await;
    }
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    let vpa: VerticalPodAutoscaler = object(
        json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "app-vpa"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}, "updatePolicy": {"updateMode": mode}}}),
    );
    vpas.create(&PostParams::default(), &vpa).await.unwrap();
    let status = json!({"status": {"recommendation": {"containerRecommendations": [{"containerName": "app",
        "target": {"cpu": "500m", "memory": "200Mi"}, "lowerBound": {"cpu": "400m", "memory": "150Mi"},
        "upperBound": {"cpu": "1", "memory": "400Mi"}}]}}});
    vpas.patch_status("app-vpa", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    let renewed = vpa_updater::time::now().as_second() - lease_age_secs;
    let renewed = k8s_openapi::jiff::Timestamp::from_second(renewed)
        .unwrap()
        .to_string();
    let _: Lease = create(
        &client,
        "kube-system",
        json!({"metadata": {"name": "vpa-admission-controller"},
            "spec": {"holderIdentity": "ac", "renewTime": renewed.replace('Z', ".000000Z")}}),
    )
    .await;
    client
}

/// Renews the admission controller's Lease now, as a running admission controller would.
async fn renew_lease(client: &Client) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let now = vpa_updater::time::now();
    let patch = json!({"spec": {"renewTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(now)}});
    leases
        .patch(
            "vpa-admission-controller",
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .unwrap();
}

async fn updater(client: Client) -> Updater<KubeCluster> {
    updater_with(client, Duration::from_secs(60)).await
}

async fn updater_with(client: Client, lease_timeout: Duration) -> Updater<KubeCluster> {
    let cluster = KubeCluster::start(client, None);
    tokio::time::timeout(
        Duration::from_secs(20),
        cluster.wait_ready(Duration::from_secs(2)),
    )
    .await
    .expect("caches sync")
    .unwrap();
    let config = UpdaterConfig {
        interval: Duration::from_secs(20),
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    };
    let mut config = config;
    config.admission.timeout = lease_timeout;
    let health = Health::new(config.interval);
    Updater::new(cluster, config, Arc::new(Metrics::default()), health)
}

async fn sim() -> Sim {
    vpa_common::install_crypto_provider();
    vpa_updater::run::init_tracing();
    Sim::start(SimOptions::default()).await.unwrap()
}

async fn pod_names(client: &Client) -> Vec<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let mut names: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn evicts_a_drifted_pod_through_the_eviction_api_and_records_events() {
    let sim = sim().await;
    let client = cluster(&sim, 2, "Recreate", 0).await;
    let mut u = updater(client.clone()).await;
    let report = u.run_once().await;
    assert_eq!(report.skipped, None);
    assert_eq!(report.evicted.len(), 1, "{report:?}");
    assert_eq!(pod_names(&client).await.len(), 1);

    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, NS);
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(reasons.contains(&"EvictedByVPA".to_string()), "{reasons:?}");
    assert!(reasons.contains(&"EvictedPod".to_string()), "{reasons:?}");
    drop(u);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_pdb_with_max_unavailable_zero_blocks_eviction_and_nothing_breaks() {
    let sim = sim().await;
    let client = cluster(&sim, 2, "Recreate", 0).await;
    let _: PodDisruptionBudget = create(
        &client,
        NS,
        json!({"metadata": {"name": "app"}, "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "app"}}}}),
    )
    .await;
    let mut u = updater(client.clone()).await;
    for _ in 0..2 {
        renew_lease(&client).await;
        let report = u.run_once().await;
        assert!(report.evicted.is_empty());
        assert_eq!(
            report.failed_evictions.len(),
            1,
            "one attempt per loop: {report:?}"
        );
        assert!(matches!(
            report.failed_evictions[0].1,
            ActionError::TooManyRequests(_)
        ));
    }
    assert_eq!(pod_names(&client).await, ["app-0", "app-1"]);
    drop(u);
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_is_evicted_while_the_admission_controller_lease_is_stale() {
    let sim = sim().await;
    // The Lease was renewed 10 min ago and created now: with a 1 s timeout both are stale
    // after a short wait.
    let client = cluster(&sim, 2, "Recreate", 600).await;
    let mut u = updater_with(client.clone(), Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let report = u.run_once().await;
    assert_eq!(
        report.skipped,
        Some(LoopSkip::AdmissionControllerNotRunning)
    );
    assert_eq!(pod_names(&client).await.len(), 2);
    drop(u);
    sim.shutdown().await;
}

#[tokio::test]
async fn in_place_or_recreate_resizes_through_the_resize_subresource() {
    let sim = sim().await;
    let client = cluster(&sim, 2, "InPlaceOrRecreate", 0).await;
    let mut u = updater(client.clone()).await;
    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 1, "{report:?}");
    assert!(report.evicted.is_empty());
    let pods: Api<Pod> = Api::namespaced(client, NS);
    let resized = pods.get(&report.resized[0].name).await.unwrap();
    let requests = resized.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(requests["cpu"].0, "500m");
    assert_eq!(
        resized.metadata.annotations.unwrap()["vpaInPlaceUpdated"],
        "true"
    );
    drop(u);
    sim.shutdown().await;
}
