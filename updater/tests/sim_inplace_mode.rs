//! `InPlace` mode (alpha, feature gate `InPlace`) against the simulated cluster: a resize the
//! node cannot fit is reported `Infeasible` by the sim's kubelet; the updater retries it once,
//! remembers the targets, never evicts, and resizes again once the recommendation drops below
//! them, which the kubelet then actuates on the same pod.

mod support;

use kube::Client;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;
use support::in_place::{
    cache_sees, cpu_request, first_status, recommend, running, wait_actuated, workload,
};
use support::{NS, eviction_requests, renew_lease, sim, start_updater};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_test_support::eventually_within;
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::{LoopReport, Updater};
use vpa_updater::pod::ResizeStatus;
use vpa_updater::ratelimit::Rate;

async fn updater(client: &Client) -> Updater<KubeApi> {
    let config = UpdaterConfig {
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        in_place_gate: true,
        ..UpdaterConfig::default()
    };
    start_updater(client.clone(), config).await
}

/// One loop, with the admission controller's Lease freshly renewed.
async fn run_once(client: &Client, u: &mut Updater<KubeApi>) -> LoopReport {
    renew_lease(client).await;
    u.run_once().await
}

#[tokio::test]
async fn an_infeasible_resize_waits_for_a_lower_recommendation_and_is_never_evicted() {
    let sim = sim().await;
    // The node has 600m: the pod fits at 100m but not at the recommended full core.
    let too_big = json!({"target": {"cpu": "1", "memory": "200Mi"},
        "lowerBound": {"cpu": "800m", "memory": "150Mi"}, "upperBound": {"cpu": "2", "memory": "400Mi"}});
    let (client, cluster) = workload(&sim, 600, "InPlace", too_big).await;
    let audit = sim.record_requests();
    let before = running(&client).await.remove(0);
    let name = before.metadata.name.clone().unwrap();
    let mut u = updater(&client).await;

    let first = run_once(&client, &mut u).await;
    assert_eq!(first.resized.len(), 1, "{first:?}");
    cache_sees(&u, &name, ResizeStatus::Infeasible).await;

    // Retried once with the same targets (now remembered), then left alone: no eviction.
    let retry = run_once(&client, &mut u).await;
    assert_eq!(retry.resized.len(), 1, "{retry:?}");
    assert!(retry.evicted.is_empty(), "{retry:?}");
    let waits = run_once(&client, &mut u).await;
    assert!(
        waits.resized.is_empty() && waits.evicted.is_empty(),
        "{waits:?}"
    );
    assert_eq!(
        waits.pod_skips.get("InfeasibleAttempt"),
        Some(&1),
        "{waits:?}"
    );

    // The recommendation drops to what the node can fit.
    let fits = json!({"target": {"cpu": "400m", "memory": "200Mi"},
        "lowerBound": {"cpu": "300m", "memory": "150Mi"}, "upperBound": {"cpu": "1", "memory": "400Mi"}});
    recommend(&client, &fits).await;
    eventually_within(
        "the VPA cache sees the lower target",
        Duration::from_secs(10),
        || async {
            u.cluster().list_vpas().await.unwrap().iter().any(|v| {
                let target = &v
                    .status
                    .as_ref()
                    .unwrap()
                    .recommendation
                    .as_ref()
                    .unwrap()
                    .container_recommendations
                    .as_ref()
                    .unwrap()[0]
                    .target;
                target["cpu"].0 == "400m"
            })
        },
    )
    .await;
    let lower = run_once(&client, &mut u).await;
    assert_eq!(lower.resized.len(), 1, "{lower:?}");

    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), NS);
    wait_actuated(
        &client,
        &name,
        "400m",
        "the kubelet actuates the lower resize",
    )
    .await;
    let after = pods.get(&name).await.unwrap();
    assert_eq!(after.metadata.uid, before.metadata.uid, "same pod");
    assert_eq!(cpu_request(&after), "400m");
    assert_eq!(
        first_status(&after).restart_count,
        first_status(&before).restart_count,
        "no restart"
    );
    assert!(eviction_requests(&audit).is_empty(), "InPlace never evicts");
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), NS);
    assert!(vpas.get_opt("app-vpa").await.unwrap().is_some());
    drop(u);
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn without_the_feature_gate_in_place_mode_is_left_alone() {
    let sim = sim().await;
    let fits = json!({"target": {"cpu": "400m", "memory": "200Mi"},
        "lowerBound": {"cpu": "300m", "memory": "150Mi"}, "upperBound": {"cpu": "1", "memory": "400Mi"}});
    let (client, cluster) = workload(&sim, 4000, "InPlace", fits).await;
    let audit = sim.record_requests();
    let config = UpdaterConfig {
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    };
    let mut u = start_updater(client.clone(), config).await;
    let report = run_once(&client, &mut u).await;
    assert!(
        report.resized.is_empty() && report.evicted.is_empty(),
        "{report:?}"
    );
    assert!(
        !audit
            .records()
            .iter()
            .any(|r| r.subresource == "resize" || r.subresource == "eviction"),
        "nothing was resized or evicted"
    );
    drop(u);
    cluster.stop().await;
    sim.shutdown().await;
}
