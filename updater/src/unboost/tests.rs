//! The unboost decision against upstream 1.7.1's cases (`api_test.go`
//! `TestGetExpiredStartupCPUBoostAnnotations`, `inplace/resource_updates_test.go`
//! `TestCalculatePatches_MultiContainerResourceUpdates`, `CanUnboost`).

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use vpa_common::api::{ContainerResourcePolicy, PodResourcePolicy, StartupBoost};
use vpa_common::startup_boost::annotation_key;
use vpa_common::testutil::factor_boost;

use super::*;
use crate::restriction::RestrictionConfig;
use crate::test_support::{PodBuilder, VpaBuilder, at};

/// Ready since t=1000 s; "now" in these tests is t=1120 (two minutes later).
const READY: i64 = 1000;

fn now() -> Timestamp {
    at(READY + 120)
}

/// A Ready pod with containers c1 and c2 at 1m CPU, both boosted from 100m.
fn boosted_pod() -> PodBuilder {
    PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .container("c2", "1m", "")
        .annotation(&annotation_key("c1"), r#"{"requests":{"cpu":"100m"}}"#)
        .annotation(&annotation_key("c2"), r#"{"requests":{"cpu":"100m"}}"#)
        .ready_since(at(READY))
}

/// A VPA in `mode` with per-container boost durations (seconds).
fn vpa(mode: UpdateMode, durations: &[(&str, i32)]) -> VerticalPodAutoscaler {
    let mut vpa = VpaBuilder::new("ns", "v").mode(mode).build();
    vpa.spec.resource_policy = Some(PodResourcePolicy {
        container_policies: Some(
            durations
                .iter()
                .map(|(name, seconds)| ContainerResourcePolicy {
                    container_name: Some(name.to_string()),
                    startup_boost: Some(StartupBoost {
                        cpu: Some(factor_boost(2, *seconds)),
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
    });
    vpa
}

fn with_target(mut vpa: VerticalPodAutoscaler, cpu: &str) -> VerticalPodAutoscaler {
    let recommended = VpaBuilder::new("ns", "v")
        .with(|b| {
            b.container("c1")
                .target(cpu, "")
                .container("c2")
                .target(cpu, "")
        })
        .build();
    vpa.status = recommended.status;
    vpa
}

fn cpu_of(resizes: &[ContainerResize]) -> Vec<(usize, String)> {
    resizes
        .iter()
        .map(|r| (r.index, r.requests["cpu"].0.clone()))
        .collect()
}

#[test]
fn a_boost_expires_once_ready_for_longer_than_its_duration() {
    let pod = boosted_pod().build();
    type Durations<'a> = &'a [(&'a str, i32)];
    let cases: [(Durations, &[&str]); 4] = [
        // 180 s not yet passed for c1; 60 s passed for c2.
        (&[("c1", 180), ("c2", 60)], &["c2"]),
        (&[("c1", 60), ("c2", 60)], &["c1", "c2"]),
        (&[("c1", 300), ("c2", 300)], &[]),
        // A duration of 0 expires as soon as the pod is Ready.
        (&[("c1", 0), ("c2", 1000)], &["c1"]),
    ];
    for (durations, want) in cases {
        let got = expired_boosts(&pod, &vpa(UpdateMode::Recreate, durations), now());
        assert_eq!(got, want, "{durations:?}");
    }
}

#[test]
fn nothing_expires_before_the_pod_is_ready() {
    let not_ready = PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .annotation(&annotation_key("c1"), "{}")
        .build();
    let v = vpa(UpdateMode::Recreate, &[("c1", 0)]);
    assert!(expired_boosts(&not_ready, &v, now()).is_empty());
    // Without a boost annotation there is nothing to expire.
    let plain = PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .ready_since(at(0))
        .build();
    assert!(expired_boosts(&plain, &v, now()).is_empty());
    // A Ready condition without a transition time counts as Ready long ago.
    let mut timeless = boosted_pod().build();
    let status = timeless.status.as_mut().unwrap();
    status.conditions.as_mut().unwrap()[0].last_transition_time = None;
    let long = vpa(UpdateMode::Recreate, &[("c1", 100_000), ("c2", 100_000)]);
    assert_eq!(expired_boosts(&timeless, &long, now()), ["c1", "c2"]);
}

#[test]
fn mode_off_scales_only_expired_containers_back_to_their_original_resources() {
    let pod = boosted_pod().build();
    let v = with_target(vpa(UpdateMode::Off, &[("c1", 10), ("c2", 1000)]), "200m");
    let expired = expired_boosts(&pod, &v, now());
    assert_eq!(expired, ["c1"]);
    let resizes = unboost_resizes(&v, &pod, &NamespaceLimits::default(), &expired).unwrap();
    // The recommendation is ignored in mode Off; limits were not recorded, so none are set.
    assert_eq!(cpu_of(&resizes), [(0, "100m".to_string())]);
    assert!(resizes[0].limits.is_empty());
}

#[test]
fn other_modes_scale_expired_containers_to_the_recommendation() {
    let pod = boosted_pod().build();
    let v = with_target(
        vpa(UpdateMode::InPlaceOrRecreate, &[("c1", 10), ("c2", 1000)]),
        "200m",
    );
    let resizes = unboost_resizes(&v, &pod, &NamespaceLimits::default(), &["c1"]).unwrap();
    // c2 is still boosted and left alone.
    assert_eq!(cpu_of(&resizes), [(0, "200m".to_string())]);
}

#[test]
fn without_a_recommendation_the_original_resources_come_back() {
    let pod = boosted_pod().build();
    let v = vpa(UpdateMode::Recreate, &[("c1", 10), ("c2", 10)]);
    let resizes = unboost_resizes(&v, &pod, &NamespaceLimits::default(), &["c1", "c2"]).unwrap();
    assert_eq!(
        cpu_of(&resizes),
        [(0, "100m".to_string()), (1, "100m".to_string())]
    );
}

#[test]
fn containers_never_boosted_get_the_recommendation_with_the_unboost() {
    let pod = PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .container("c2", "1m", "")
        .annotation(
            &annotation_key("c1"),
            r#"{"requests":{"cpu":"100m"},"limits":{}}"#,
        )
        .ready_since(at(READY))
        .build();
    let v = with_target(vpa(UpdateMode::Recreate, &[("c1", 10)]), "300m");
    let resizes = unboost_resizes(&v, &pod, &NamespaceLimits::default(), &["c1"]).unwrap();
    assert_eq!(
        cpu_of(&resizes),
        [(0, "300m".to_string()), (1, "300m".to_string())]
    );
}

#[test]
fn a_broken_annotation_or_nothing_to_apply_is_an_error() {
    let pod = PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .annotation(&annotation_key("c1"), "invalid-json")
        .ready_since(at(READY))
        .build();
    let v = vpa(UpdateMode::Off, &[("c1", 0)]);
    let err = unboost_resizes(&v, &pod, &NamespaceLimits::default(), &["c1"]).unwrap_err();
    assert!(matches!(err, UnboostError::BadAnnotation { .. }), "{err}");
    // The container had no resources before the boost, and the VPA recommends nothing.
    let bare = PodBuilder::new("ns", "p")
        .container("c1", "1m", "")
        .annotation(&annotation_key("c1"), r#"{"requests":{},"limits":{}}"#)
        .build();
    let err = unboost_resizes(&v, &bare, &NamespaceLimits::default(), &["c1"]).unwrap_err();
    assert_eq!(err, UnboostError::NothingToResize);
}

#[test]
fn plan_lists_only_pods_with_an_expired_boost() {
    let expired = boosted_pod().build();
    let fresh = PodBuilder::new("ns", "q")
        .container("c1", "1m", "")
        .annotation(&annotation_key("c1"), "{}")
        .ready_since(at(READY + 100))
        .build();
    let v = vpa(UpdateMode::Off, &[("c1", 60), ("c2", 60)]);
    let planned = plan(&v, &[&expired, &fresh], &NamespaceLimits::default(), now());
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].pod.metadata.name.as_deref(), Some("p"));
    assert_eq!(planned[0].expired, ["c1", "c2"]);
    assert_eq!(planned[0].resizes.as_ref().map(Vec::len), Ok(2));
}

fn restriction(pods: &[Pod], min_replicas: i32) -> Restriction {
    let config = RestrictionConfig {
        min_replicas,
        ..RestrictionConfig::default()
    };
    let v = VpaBuilder::new("ns", "v").build();
    Restriction::new(&v, pods, |_| Some(pods.len() as i64), &config)
}

#[test]
fn unboosting_needs_a_known_disruptable_group_and_no_resize_under_way() {
    let pods = [
        boosted_pod().build(),
        PodBuilder::new("ns", "q").container("c1", "1m", "").build(),
    ];
    let mut r = restriction(&pods, 2);
    assert_eq!(can_unboost(&r, &pods[0]), Ok(()));
    // After one in-place change the two-pod group (tolerance 1) has no budget left.
    r.record_in_place(&pods[0]);
    assert_eq!(
        can_unboost(&r, &pods[0]),
        Err(UnboostSkip::DisruptionBudget)
    );
    let resizing = boosted_pod().condition("PodResizeInProgress", None).build();
    let r = restriction(std::slice::from_ref(&resizing), 1);
    assert_eq!(
        can_unboost(&r, &resizing),
        Err(UnboostSkip::ResizeInProgress)
    );
    let pending = boosted_pod().phase("Pending").build();
    let r = restriction(std::slice::from_ref(&pending), 1);
    assert_eq!(can_unboost(&r, &pending), Err(UnboostSkip::Pending));
}

#[test]
fn a_boosted_pod_lifts_the_min_replicas_check_of_its_group() {
    // One replica, --min-replicas 2: normally too few, but not while a pod is boosted.
    let boosted = [boosted_pod().build()];
    assert_eq!(can_unboost(&restriction(&boosted, 2), &boosted[0]), Ok(()));
    let plain = [PodBuilder::new("ns", "p").container("c1", "1m", "").build()];
    assert_eq!(
        restriction(&plain, 2).stats(&plain[0]).err(),
        Some(Blocked::TooFewReplicas)
    );
}

#[test]
fn annotation_patch_marks_the_resize_and_drops_the_expired_annotations() {
    let pod = boosted_pod().build();
    assert_eq!(
        annotation_patch(&pod, &["c1".to_string()]),
        json!([
            {"op": "add", "path": "/metadata/annotations/vpaInPlaceUpdated", "value": "true"},
            {"op": "remove", "path": "/metadata/annotations/vpaCpuStartupBoost~1c1"},
        ])
    );
}
