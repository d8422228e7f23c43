//! Shared setup of the tests against `vpa-sim`: a Deployment → ReplicaSet → drifted pods, a
//! VPA with a recommendation, and the admission controller's status Lease.

#![allow(dead_code)]

pub mod in_place;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use vpa_common::admin::Health;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::{AuditLog, Sim, SimOptions};
use vpa_test_support::{eventually_within, install_vpa_crds, object};
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::Updater;
use vpa_updater::metrics::Metrics;

pub const NS: &str = "default";

/// Creates the object `v` in `namespace`; panics on failure.
pub async fn create<T>(client: &Client, namespace: &str, v: Value) -> T
where
    T: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    vpa_test_support::create(&Api::namespaced(client.clone(), namespace), v).await
}

/// Deployment `app` → ReplicaSet `app-rs` → `replicas` running pods requesting 100m / 50Mi
/// (limits 200m / 100Mi), a VPA in `mode` recommending 500m / 200Mi, and the admission
/// controller's Lease renewed `lease_age_secs` ago.
pub async fn drifted_app(sim: &Sim, replicas: usize, mode: &str, lease_age_secs: i64) -> Client {
    let client = client(sim).await;
    install_vpa_crds(&client).await.unwrap();
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
    create_lease(&client, lease_age_secs).await;
    client
}

/// The updater's client (no 429/503 retry layer) for the sim's admin kubeconfig.
pub async fn client(sim: &Sim) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(sim.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    vpa_common::client::build(config, None).unwrap()
}

/// Creates the admission controller's status Lease, renewed `lease_age_secs` ago.
pub async fn create_lease(client: &Client, lease_age_secs: i64) {
    let renewed = vpa_updater::time::now().as_second() - lease_age_secs;
    let renewed = k8s_openapi::jiff::Timestamp::from_second(renewed)
        .unwrap()
        .to_string();
    let _: Lease = create(
        client,
        "kube-system",
        json!({"metadata": {"name": "vpa-admission-controller"},
            "spec": {"holderIdentity": "ac", "renewTime": renewed.replace('Z', ".000000Z")}}),
    )
    .await;
}

/// Renews the admission controller's Lease now, as a running admission controller would.
pub async fn renew_lease(client: &Client) {
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

pub async fn sim() -> Sim {
    vpa_common::install_crypto_provider();
    vpa_updater::run::init_tracing();
    Sim::start(SimOptions::default()).await.unwrap()
}

pub async fn pod_names(client: &Client) -> Vec<String> {
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

/// An updater over fresh watch caches of `client` (synced before it returns) with `config`.
pub async fn start_updater(client: Client, config: UpdaterConfig) -> Updater<KubeApi> {
    let cluster = KubeApi::start(client, None);
    tokio::time::timeout(
        Duration::from_secs(20),
        cluster.wait_ready(Duration::from_secs(2)),
    )
    .await
    .expect("caches sync")
    .unwrap();
    let health = Health::new(config.interval);
    Updater::new(cluster, config, Arc::new(Metrics::default()), health)
}

/// Names of the pods whose `eviction` subresource the API server was asked to create, in order.
pub fn eviction_requests(log: &AuditLog) -> Vec<String> {
    log.records()
        .into_iter()
        .filter(|r| r.resource == "pods" && r.subresource == "eviction" && r.verb == "create")
        .map(|r| r.name)
        .collect()
}

/// Patches the VPA `app-vpa`'s `updatePolicy.minReplicas` (None removes it) and waits until the
/// updater's VPA cache has the change.
pub async fn set_min_replicas(client: &Client, updater: &Updater<KubeApi>, min: Option<i32>) {
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    let patch = json!({"spec": {"updatePolicy": {"minReplicas": min}}});
    vpas.patch("app-vpa", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    eventually_within(
        "the VPA cache sees minReplicas",
        Duration::from_secs(10),
        || async {
            updater
                .cluster()
                .list_vpas()
                .await
                .unwrap()
                .iter()
                .any(|v| v.spec.update_policy.as_ref().and_then(|p| p.min_replicas) == min)
        },
    )
    .await;
}
