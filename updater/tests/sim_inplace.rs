//! `InPlaceOrRecreate` against the simulated cluster (`vpa-sim` with its controllers, scheduler
//! and kubelets): a feasible resize changes the running pod's requests without a restart, and
//! a resize the node cannot fit is reported `Infeasible` by the kubelet, after which the
//! updater evicts the pod instead, as upstream does.

mod support;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;
use support::in_place::{cache_sees, cpu_request, first_status, running, wait_actuated, workload};
use support::{NS, eviction_requests, sim, start_updater};
use vpa_test_support::eventually_within;
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::Updater;
use vpa_updater::pod::{ResizeStatus, resize_status};
use vpa_updater::ratelimit::Rate;

async fn updater(client: &Client) -> Updater<KubeApi> {
    let config = UpdaterConfig {
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    };
    start_updater(client.clone(), config).await
}

#[tokio::test]
async fn a_feasible_resize_changes_requests_without_restarting_the_pod() {
    let sim = sim().await;
    let recommendation = json!({"target": {"cpu": "500m", "memory": "200Mi"},
        "lowerBound": {"cpu": "400m", "memory": "150Mi"}, "upperBound": {"cpu": "1", "memory": "400Mi"}});
    let (client, cluster) = workload(&sim, 4000, "InPlaceOrRecreate", recommendation).await;
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
    wait_actuated(&client, &name, "500m", "the kubelet finishes the resize").await;
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
    eventually_within(
        "the pod cache sees the new requests",
        Duration::from_secs(10),
        || async {
            u.cluster().list_pods().await.unwrap().iter().any(|p| {
                p.metadata.name.as_deref() == Some(name.as_str())
                    && cpu_request(p) == "500m"
                    && resize_status(p) == ResizeStatus::None
            })
        },
    )
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
    let (client, cluster) = workload(&sim, 600, "InPlaceOrRecreate", recommendation).await;
    let audit = sim.record_requests();
    let before = running(&client).await.remove(0);
    let name = before.metadata.name.clone().unwrap();
    let mut u = updater(&client).await;

    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 1, "{report:?}");
    assert!(eviction_requests(&audit).is_empty());

    // The kubelet refuses: PodResizePending with reason Infeasible.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    eventually_within(
        "the kubelet marks the resize Infeasible",
        Duration::from_secs(10),
        || async { resize_status(&pods.get(&name).await.unwrap()) == ResizeStatus::Infeasible },
    )
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
    eventually_within(
        "the evicted pod is gone",
        Duration::from_secs(10),
        || async { pods.get_opt(&name).await.unwrap().is_none() },
    )
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
    let client = support::drifted_app(&sim, 2, "InPlaceOrRecreate", 0).await;
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
