//! The updater's kube code against the in-memory API server (`vpa-sim`): watch caches, the
//! policy/v1 Eviction API with PodDisruptionBudgets, the resize subresource, events and the
//! admission-controller Lease, driven one loop at a time.

use std::sync::Arc;
use std::time::Duration;

mod support;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{Api, ListParams};
use serde_json::json;
use support::{NS, create, drifted_app, pod_names, renew_lease, sim};
use vpa_common::admin::Health;
use vpa_updater::cluster_api::ActionError;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::{LoopSkip, Updater};
use vpa_updater::metrics::Metrics;
use vpa_updater::ratelimit::Rate;

async fn updater(client: Client) -> Updater<KubeApi> {
    updater_with(client, Duration::from_secs(60)).await
}

async fn updater_with(client: Client, lease_timeout: Duration) -> Updater<KubeApi> {
    let cluster = KubeApi::start(client, None);
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

#[tokio::test]
async fn evicts_a_drifted_pod_through_the_eviction_api_and_records_events() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
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
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
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
    let client = drifted_app(&sim, 2, "Recreate", 600).await;
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
    let client = drifted_app(&sim, 2, "InPlaceOrRecreate", 0).await;
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
