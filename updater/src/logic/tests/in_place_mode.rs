//! `InPlace` mode (alpha), small groups under `--in-place-skip-disruption-budget` and
//! `evictionRequirements` with in-place resizes, through the loop against the fake cluster.

use vpa_common::api::{EvictionChangeRequirement, EvictionRequirement};

use super::*;
use crate::metrics::{self, FailedInPlace};

/// [`config`] with the `InPlace` feature gate on and no rate limit.
fn gated(tolerance: f64) -> UpdaterConfig {
    let mut c = config(tolerance, UNLIMITED);
    c.in_place_gate = true;
    c
}

/// `failed_in_place_update_attempts_total{reason}` of `app-vpa` with `pods` pods.
fn failed_in_place(u: &Updater<FakeCluster>, pods: usize, reason: &str) -> u64 {
    u.metrics
        .failed_in_place_update_attempts
        .get_or_create(&FailedInPlace {
            vpa_size_log2: metrics::size_log2(pods),
            reason: reason.into(),
            vpa_name: "app-vpa".into(),
            vpa_namespace: "ns".into(),
        })
        .get()
}

/// The CPU request of the last resize patch.
fn last_resized_cpu(u: &Updater<FakeCluster>) -> String {
    let s = u.cluster().state();
    let patch = &s.resizes.last().expect("a resize").1;
    patch
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["path"] == "/spec/containers/0/resources/requests/cpu")
        .and_then(|op| op["value"].as_str())
        .unwrap()
        .to_string()
}

fn recommending(cpu: &str) -> VerticalPodAutoscaler {
    vpa(UpdateMode::InPlace)
        .min_replicas(1)
        .recommend("app", (cpu, "200Mi"), ("250m", "150Mi"), ("1", "400Mi"))
        .build()
}

#[tokio::test(start_paused = true)]
async fn in_place_mode_without_its_feature_gate_leaves_the_pods_alone() {
    let mut u = updater(
        cluster(2, vpa(UpdateMode::InPlace).build()),
        config(1.0, UNLIMITED),
    );
    let report = u.run_once().await;
    assert_eq!(report.skipped, None);
    assert!(report.resized.is_empty() && report.evicted.is_empty());
    let s = u.cluster().state();
    assert!(s.resizes.is_empty());
    assert_eq!(s.eviction_attempts, 0);
}

#[tokio::test(start_paused = true)]
async fn in_place_mode_resizes_and_never_falls_back_to_eviction() {
    let mut u = updater(cluster(2, vpa(UpdateMode::InPlace).build()), gated(1.0));
    u.cluster().state().resize_error = true;
    let report = u.run_once().await;
    assert_eq!(report.failed_resizes.len(), 2, "{report:?}");
    assert!(report.evicted.is_empty());
    assert_eq!(u.cluster().state().eviction_attempts, 0);
    assert_eq!(failed_in_place(&u, 2, "InPlaceUpdateError"), 2);

    u.cluster().state().resize_error = false;
    let report = u.run_once().await;
    assert_eq!(report.resized.len(), 2, "{report:?}");
    assert!(report.evicted.is_empty());
    let s = u.cluster().state();
    assert_eq!(s.eviction_attempts, 0);
    assert_eq!(s.pods.len(), 2);
    let reasons: Vec<&str> = s.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["InPlaceResizedByVPA", "InPlaceResizedByVPA"]);
}

#[tokio::test(start_paused = true)]
async fn an_infeasible_resize_is_retried_once_then_only_for_a_lower_target() {
    let mut u = updater(cluster(1, recommending("500m")), gated(0.5));
    u.cluster().state().kubelet = Kubelet::Infeasible;
    let first = u.run_once().await;
    assert_eq!(first.resized.len(), 1, "{first:?}");
    // The kubelet reported it Infeasible: retried with the same targets, now remembered.
    let retry = u.run_once().await;
    assert_eq!(retry.resized.len(), 1, "{retry:?}");
    assert_eq!(u.infeasible.len(), 1);
    let waits = u.run_once().await;
    assert!(waits.resized.is_empty(), "{waits:?}");
    assert_eq!(waits.pod_skips.get("InfeasibleAttempt"), Some(&1));

    u.cluster().state().vpas = vec![Arc::new(recommending("300m"))];
    let lower = u.run_once().await;
    assert_eq!(lower.resized.len(), 1, "{lower:?}");
    assert_eq!(last_resized_cpu(&u), "300m");

    u.cluster().state().vpas = vec![Arc::new(recommending("400m"))];
    let higher = u.run_once().await;
    assert!(higher.resized.is_empty(), "{higher:?}");
    let s = u.cluster().state();
    assert_eq!(s.resizes.len(), 3);
    assert_eq!(s.eviction_attempts, 0, "InPlace mode never evicts");
}

#[tokio::test(start_paused = true)]
async fn eviction_requirements_keep_in_place_resizes_but_stop_the_fallback_to_eviction() {
    // Both pods want more CPU (100m → 500m); the VPA only allows evicting for less.
    let only_down = vpa(UpdateMode::InPlaceOrRecreate)
        .eviction_requirements(vec![EvictionRequirement {
            resources: vec!["cpu".into()],
            change_requirement: EvictionChangeRequirement::TargetLowerThanRequests,
        }])
        .build();
    let mut u = updater(cluster(2, only_down), config(1.0, UNLIMITED));
    u.cluster().state().resize_error = true;
    let refused = u.run_once().await;
    assert_eq!(refused.failed_resizes.len(), 2, "{refused:?}");
    assert!(refused.evicted.is_empty());
    assert_eq!(u.cluster().state().eviction_attempts, 0);

    u.cluster().state().resize_error = false;
    let resized = u.run_once().await;
    assert_eq!(resized.resized.len(), 2, "{resized:?}");
}

#[tokio::test(start_paused = true)]
async fn a_single_replica_is_resized_in_place_when_the_budget_is_skipped_but_never_evicted() {
    // One replica, below the default --min-replicas of 2.
    let single = || cluster(1, vpa(UpdateMode::InPlaceOrRecreate).build());
    let mut strict = updater(single(), config(0.5, UNLIMITED));
    assert!(strict.run_once().await.resized.is_empty());

    let mut skip = config(0.5, UNLIMITED);
    skip.restriction.in_place_skip_disruption_budget = true;
    let mut u = updater(single(), skip);
    u.cluster().state().kubelet = Kubelet::Infeasible;
    let first = u.run_once().await;
    assert_eq!(first.resized.len(), 1, "{first:?}");
    // Infeasible: InPlaceOrRecreate would evict, but the group is below minReplicas.
    let second = u.run_once().await;
    assert!(second.evicted.is_empty(), "{second:?}");
    assert_eq!(u.cluster().state().eviction_attempts, 0);
    assert_eq!(second.pod_skips.get("TooFewReplicas"), Some(&1));
}
