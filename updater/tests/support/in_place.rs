//! The one-pod in-place workload of the `sim_inplace*` tests: a real Deployment on a node of
//! chosen size (the sim's kubelet actuates or refuses resizes), and a VPA whose recommendation the
//! test sets.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::Sim;
use vpa_sim::cluster::NodeSpec;
use vpa_sim::cluster::{Cluster as SimCluster, ClusterOptions};
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::Updater;
use vpa_updater::pod::{ResizeStatus, resize_status};

use super::{NS, create, create_lease};
use vpa_test_support::sim_cluster::start_cluster;
use vpa_test_support::{eventually_within, install_vpa_crds, object};

/// One node `node` of `cpu_millis`, a one-replica Deployment `app` requesting 100m / 50Mi once
/// its pod runs, and a VPA in `mode` (minReplicas 1) recommending `recommendation` (target,
/// lower bound, upper bound as `{cpu, memory}` objects).
pub async fn workload(
    sim: &Sim,
    cpu_millis: i64,
    mode: &str,
    recommendation: Value,
) -> (Client, SimCluster) {
    let cluster = start_cluster(
        sim,
        ClusterOptions {
            nodes: vec![NodeSpec {
                name: "node".into(),
                cpu_millis,
                memory_bytes: 4 << 30,
            }],
            webhooks: false,
            ..ClusterOptions::default()
        },
    )
    .await;
    let client = super::client(sim).await;
    install_vpa_crds(&client).await.unwrap();
    let _: Deployment = create(
        &client,
        NS,
        json!({"metadata": {"name": "app"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "i",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}}}]}}}}),
    )
    .await;
    eventually_within("the pod runs", Duration::from_secs(20), || async {
        running(&client).await.len() == 1
    })
    .await;
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    let vpa: VerticalPodAutoscaler = object(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "app-vpa"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
            "updatePolicy": {"updateMode": mode, "minReplicas": 1}}}));
    vpas.create(&PostParams::default(), &vpa).await.unwrap();
    recommend(&client, &recommendation).await;
    create_lease(&client, 0).await;
    (client, cluster)
}

/// Pods of `app` whose containers the kubelet started.
pub async fn running(client: &Client) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    pods.list(&ListParams::default().labels("app=app"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.phase.as_deref() == Some("Running") && s.container_statuses.is_some()
            })
        })
        .collect()
}

/// Sets the recommendation of `app-vpa` for container `app` (`{target, lowerBound, upperBound}`).
pub async fn recommend(client: &Client, recommendation: &Value) {
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    let status = json!({"status": {"recommendation": {"containerRecommendations": [
        {"containerName": "app", "target": recommendation["target"],
         "lowerBound": recommendation["lowerBound"], "upperBound": recommendation["upperBound"]}]}}});
    vpas.patch_status("app-vpa", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// Waits (up to 10 s, saying `what` on timeout) until the kubelet has actuated pod `name`'s
/// resize: the status reports `cpu` requested and no resize is pending or in progress.
pub async fn wait_actuated(client: &Client, name: &str, cpu: &str, what: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    eventually_within(what, Duration::from_secs(10), || async {
        let pod = pods.get(name).await.unwrap();
        let actual = first_status(&pod).resources.and_then(|r| r.requests);
        actual.is_some_and(|r| r["cpu"].0 == cpu) && resize_status(&pod) == ResizeStatus::None
    })
    .await;
}

/// Waits until the updater's pod cache shows `name` in `status`.
pub async fn cache_sees(u: &Updater<KubeApi>, name: &str, status: ResizeStatus) {
    eventually_within(
        "the pod cache sees the resize status",
        Duration::from_secs(10),
        || async {
            u.cluster()
                .list_pods()
                .await
                .unwrap()
                .iter()
                .any(|p| p.metadata.name.as_deref() == Some(name) && resize_status(p) == status)
        },
    )
    .await;
}

pub fn cpu_request(pod: &Pod) -> String {
    pod.spec.as_ref().unwrap().containers[0]
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["cpu"]
        .0
        .clone()
}

pub fn first_status(pod: &Pod) -> k8s_openapi::api::core::v1::ContainerStatus {
    pod.status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .clone()
}
