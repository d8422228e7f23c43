//! `InPlaceOrRecreate` against the simulated cluster (`vpa-sim` with its controllers, scheduler
//! and kubelets): a feasible resize changes the running pod's requests without a restart, and
//! a resize the node cannot fit is reported `Infeasible` by the kubelet, after which the
//! updater evicts the pod instead, as upstream does.

use std::time::Duration;

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{
    NS, create, create_lease, eventually, eviction_requests, object, sim, start_updater,
};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::Sim;
use vpa_sim::cluster::nodes::NodeSpec;
use vpa_sim::cluster::{Cluster as SimCluster, ClusterOptions};
use vpa_updater::cluster::Cluster;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::kube_cluster::KubeCluster;
use vpa_updater::logic::Updater;
use vpa_updater::pod::{ResizeStatus, resize_status};
use vpa_updater::ratelimit::Rate;

/// One node `node` of `cpu_millis`, a one-replica Deployment `app` requesting 100m / 50Mi once
/// its pod runs, and a VPA in `InPlaceOrRecreate` (minReplicas 1) recommending
/// `recommendation` (target, lower bound, upper bound as `{cpu, memory}` objects).
async fn workload(sim: &Sim, cpu_millis: i64, recommendation: Value) -> (Client, SimCluster) {
    let cluster = SimCluster::start(
        sim,
        ClusterOptions {
            nodes: vec![NodeSpec {
                name: "node".into(),
                cpu_millis,
                memory_bytes: 4 << 30,
            }],
            interval: Duration::from_millis(50),
            webhooks: false,
            ..ClusterOptions::default()
        },
    )
    .await
    .unwrap();
    let client = support::client(sim).await;
    support::install_crds(&client).await;
    let _: Deployment = create(
        &client,
        NS,
        json!({"metadata": {"name": "app"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "app", "image": "i",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}}}]}}}}),
    )
    .await;
    eventually(20, "the pod runs", || async {
        running(&client).await.len() == 1
    })
    .await;
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    let vpa: VerticalPodAutoscaler = object(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "app-vpa"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
            "updatePolicy": {"updateMode": "InPlaceOrRecreate", "minReplicas": 1}}}));
    vpas.create(&PostParams::default(), &vpa).await.unwrap();
    let status = json!({"status": {"recommendation": {"containerRecommendations": [
        {"containerName": "app", "target": recommendation["target"],
         "lowerBound": recommendation["lowerBound"], "upperBound": recommendation["upperBound"]}]}}});
    vpas.patch_status("app-vpa", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    create_lease(&client, 0).await;
    (client, cluster)
}

/// Pods of `app` whose containers the kubelet started.
async fn running(client: &Client) -> Vec<Pod> {
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

async fn updater(client: &Client) -> Updater<KubeCluster> {
    let config = UpdaterConfig {
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    };
    start_updater(client.clone(), config).await
}

/// Waits until the updater's pod cache shows `name` in `status`.
async fn cache_sees(u: &Updater<KubeCluster>, name: &str, status: ResizeStatus) {
    eventually(10, "the pod cache sees the resize status", || async {
        u.cluster()
            .list_pods()
            .await
            .unwrap()
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(name) && resize_status(p) == status)
    })
    .await;
}

fn cpu_request(pod: &Pod) -> String {
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

fn first_status(pod: &Pod) -> k8s_openapi::api::core::v1::ContainerStatus {
    pod.status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .clone()
}

#[tokio::test]
async fn a_feasible_resize_changes_requests_without_restarting_the_pod() {
    let sim = sim().await;
    let recommendation = json!({"target": {"cpu": "500m", "memory": "200Mi"},
        "lowerBound": {"cpu": "400m", "memory": "150Mi"}, "upperBound": {"cpu": "1", "memory": "400Mi"}});
    let (client, cluster) = workload(&sim, 4000, recommendation).await;
    let audit = sim.record_requests();
    let before = running(&client).await.remove(0);
    let name = before.metadata.name.clone().unwrap();
    let mut u = updater(&client).await;

    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 1, "{report:?}");
    assert_eq!(report.resized[0].name, name);
    assert!(report.evicted.is_empty());

    // The kubelet actuates the resize: allocated and actual resources follow the spec.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    eventually(10, "the kubelet finishes the resize", || async {
        let pod = pods.get(&name).await.unwrap();
        let actual = first_status(&pod).resources.and_then(|r| r.requests);
        actual.is_some_and(|r| r["cpu"].0 == "500m") && resize_status(&pod) == ResizeStatus::None
    })
    .await;
    let after = pods.get(&name).await.unwrap();
    assert_eq!(after.metadata.uid, before.metadata.uid, "same pod");
    assert_eq!(cpu_request(&before), "100m");
    assert_eq!(cpu_request(&after), "500m");
    let (was, is) = (first_status(&before), first_status(&after));
    assert_eq!(is.restart_count, was.restart_count, "no restart");
    assert_eq!(is.container_id, was.container_id, "same container");
    assert_eq!(
        is.state.unwrap().running.unwrap().started_at,
        was.state.unwrap().running.unwrap().started_at
    );
    assert_eq!(
        after.metadata.annotations.unwrap()["vpaInPlaceUpdated"],
        "true"
    );

    // Once the cache has the finished resize the pod matches its recommendation: left alone.
    eventually(10, "the pod cache sees the new requests", || async {
        u.cluster().list_pods().await.unwrap().iter().any(|p| {
            p.metadata.name.as_deref() == Some(name.as_str())
                && cpu_request(p) == "500m"
                && resize_status(p) == ResizeStatus::None
        })
    })
    .await;
    let report = u.run_once().await;
    assert!(
        report.resized.is_empty() && report.evicted.is_empty(),
        "{report:?}"
    );
    assert!(eviction_requests(&audit).is_empty());
    drop(u);
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_infeasible_resize_falls_back_to_eviction() {
    let sim = sim().await;
    // The node has 600m: the pod fits at 100m but not at the recommended full core.
    let recommendation = json!({"target": {"cpu": "1", "memory": "200Mi"},
        "lowerBound": {"cpu": "800m", "memory": "150Mi"}, "upperBound": {"cpu": "2", "memory": "400Mi"}});
    let (client, cluster) = workload(&sim, 600, recommendation).await;
    let audit = sim.record_requests();
    let before = running(&client).await.remove(0);
    let name = before.metadata.name.clone().unwrap();
    let mut u = updater(&client).await;

    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 1, "{report:?}");
    assert!(eviction_requests(&audit).is_empty());

    // The kubelet refuses: PodResizePending with reason Infeasible.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    eventually(10, "the kubelet marks the resize Infeasible", || async {
        resize_status(&pods.get(&name).await.unwrap()) == ResizeStatus::Infeasible
    })
    .await;
    cache_sees(&u, &name, ResizeStatus::Infeasible).await;

    let report = u.run_once().await;
    assert_eq!(
        report
            .evicted
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        [name.as_str()],
        "{report:?}"
    );
    assert!(report.resized.is_empty(), "{report:?}");
    assert_eq!(eviction_requests(&audit), std::slice::from_ref(&name));
    eventually(10, "the evicted pod is gone", || async {
        pods.get_opt(&name).await.unwrap().is_none()
    })
    .await;
    drop(u);
    cluster.stop().await;
    sim.shutdown().await;
}

/// A resize the kubelet reports `Deferred` (the node may fit it later) is waited on, not turned
/// into an eviction, until it has been deferred for upstream's 5 minutes (that timeout itself is
/// covered by the pure `inplace` tests, since it is not configurable). The sim's kubelet never
/// defers, so the condition is written through the status subresource, as a kubelet would.
#[tokio::test]
async fn a_deferred_resize_is_waited_on_not_evicted() {
    let sim = sim().await;
    let client = support::cluster(&sim, 2, "InPlaceOrRecreate", 0).await;
    let audit = sim.record_requests();
    let mut u = updater(&client).await;
    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 1, "{report:?}");
    let name = report.resized[0].name.clone();

    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let deferred = json!({"status": {"conditions": [{"type": "PodResizePending", "status": "True",
        "reason": "Deferred", "message": "Node didn't have enough resource: cpu",
        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(deferred))
        .await
        .unwrap();
    cache_sees(&u, &name, ResizeStatus::Deferred).await;

    for _ in 0..2 {
        support::renew_lease(&client).await;
        let report = u.run_once().await;
        assert!(
            report.evicted.is_empty() && !report.resized.iter().any(|k| k.name == name),
            "{report:?}"
        );
        assert_eq!(
            report.pod_skips.get("ResizeInProgress"),
            Some(&1),
            "{report:?}"
        );
    }
    assert!(eviction_requests(&audit).is_empty());
    assert!(pods.get_opt(&name).await.unwrap().is_some());
    drop(u);
    sim.shutdown().await;
}
