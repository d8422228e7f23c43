//! Scaling boosted pods back through the loop (a child of the loop tests, on their fake
//! cluster): upstream 1.7.1's `updater_test.go` unboost cases.

use vpa_common::startup_boost::annotation_key;
use vpa_common::testutil::factor_boost;

use super::*;
use crate::metrics::FailedInPlace;
use crate::test_support::at;

/// The recorded resources of a boosted `app` container: what it asked for before the boost.
const ORIGINAL: &str =
    r#"{"requests":{"cpu":"100m","memory":"50Mi"},"limits":{"cpu":"200m","memory":"100Mi"}}"#;

/// A pod of Deployment `app` boosted to 400m (limit 800m), Ready since the epoch.
fn boosted_pod(i: usize) -> Arc<Pod> {
    Arc::new(
        PodBuilder::new("ns", &format!("app-{i}"))
            .owner("ReplicaSet", "app-rs")
            .label("app", "app")
            .container("app", "400m", "50Mi")
            .limits("800m", "100Mi")
            .annotation(&annotation_key("app"), ORIGINAL)
            .ready_since(at(0))
            .build(),
    )
}

/// `pods` boosted pods under `vpa` with a boost lasting `seconds` after Ready.
fn boosted_cluster(pods: usize, vpa: VpaBuilder, seconds: i32) -> FakeCluster {
    let fake = cluster(
        0,
        vpa.with(|b| b.startup_boost(factor_boost(4, seconds)))
            .build(),
    );
    {
        let mut s = fake.state();
        s.pods = (0..pods).map(boosted_pod).collect();
        s.replicas = pods as i64;
    }
    fake
}

fn gate_on() -> UpdaterConfig {
    let mut c = config(0.5, UNLIMITED);
    c.cpu_startup_boost = true;
    c
}

#[tokio::test(start_paused = true)]
async fn mode_off_scales_an_expired_boost_back_to_the_original_resources() {
    let vpa = VpaBuilder::new("ns", "app-vpa").mode(UpdateMode::Off);
    let mut u = updater(boosted_cluster(2, vpa, 10), gate_on());
    let report = u.run_once().await;
    // Two replicas with tolerance 0.5: one pod per loop, as for any in-place change.
    assert_eq!(report.unboosted, [PodKey::of(&boosted_pod(0))]);
    let s = u.cluster().state();
    let (pod, patch) = &s.resizes[0];
    assert_eq!(pod.name, "app-0");
    let values: Vec<(&str, &str)> = patch
        .as_array()
        .unwrap()
        .iter()
        .map(|op| (op["path"].as_str().unwrap(), op["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        values,
        [
            ("/spec/containers/0/resources/requests/cpu", "100m"),
            ("/spec/containers/0/resources/requests/memory", "50Mi"),
            ("/spec/containers/0/resources/limits/cpu", "200m"),
            ("/spec/containers/0/resources/limits/memory", "100Mi"),
        ]
    );
    assert_eq!(
        s.pod_patches[0].1,
        serde_json::json!([
            {"op": "add", "path": "/metadata/annotations/vpaInPlaceUpdated", "value": "true"},
            {"op": "remove", "path": "/metadata/annotations/vpaCpuStartupBoost~1app"},
        ])
    );
    assert_eq!(s.events[0].reason, "InPlaceResizedByVPA");
    assert!(s.evictions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_boosted_pod_is_left_alone_until_its_boost_expires() {
    // Drifted far below the 500m recommendation, but boosted for longer than it has existed.
    let mut u = updater(
        boosted_cluster(2, vpa(UpdateMode::Recreate), i32::MAX),
        gate_on(),
    );
    let report = u.run_once().await;
    assert!(report.unboosted.is_empty() && report.evicted.is_empty());
    assert_eq!(report.pod_skips.get("Boosted"), Some(&2));
    // Without the feature gate the boost is unknown to the updater: the pods are evicted.
    let mut off = updater(
        boosted_cluster(2, vpa(UpdateMode::Recreate), i32::MAX),
        config(0.5, UNLIMITED),
    );
    assert_eq!(off.run_once().await.evicted.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_expired_boost_goes_to_the_recommendation_and_is_not_evicted_in_the_same_loop() {
    let mut u = updater(boosted_cluster(4, vpa(UpdateMode::Recreate), 10), gate_on());
    let report = u.run_once().await;
    assert_eq!(report.unboosted.len(), 2, "tolerance 0.5 of 4 replicas");
    assert!(report.evicted.is_empty());
    let s = u.cluster().state();
    let cpu = s.resizes[0].1.as_array().unwrap()[0].clone();
    assert_eq!(cpu["path"], "/spec/containers/0/resources/requests/cpu");
    assert_eq!(cpu["value"], "500m");
}

#[tokio::test(start_paused = true)]
async fn a_single_boosted_replica_is_scaled_back_despite_min_replicas() {
    let vpa = VpaBuilder::new("ns", "app-vpa").mode(UpdateMode::Initial);
    let mut u = updater(boosted_cluster(1, vpa, 0), gate_on());
    assert_eq!(u.run_once().await.unboosted.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_resize_counts_as_an_unboost_error() {
    let vpa = VpaBuilder::new("ns", "app-vpa").mode(UpdateMode::Off);
    let mut u = updater(boosted_cluster(2, vpa, 10), gate_on());
    u.cluster().state().resize_error = true;
    let report = u.run_once().await;
    assert!(report.unboosted.is_empty());
    // A failed attempt spends no disruption budget, so the second pod is tried too.
    assert_eq!(
        report.failed_unboosts.len(),
        2,
        "{:?}",
        report.failed_unboosts
    );
    let failed = u
        .metrics
        .failed_in_place_update_attempts
        .get_or_create(&FailedInPlace {
            vpa_size_log2: 1,
            reason: "UnboostError".into(),
            vpa_name: "app-vpa".into(),
            vpa_namespace: "ns".into(),
        })
        .get();
    assert_eq!(failed, 2);
    assert!(u.cluster().state().pod_patches.is_empty());
}
