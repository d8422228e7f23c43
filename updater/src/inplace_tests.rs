use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerResizePolicy, Pod};
use serde_json::json;

use super::*;
use crate::restriction::RestrictionConfig;
use crate::test_support::{PodBuilder, VpaBuilder, at, resources};

fn group(pods: &[Pod], tolerance: f64) -> Restriction {
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let config = RestrictionConfig {
        eviction_tolerance: tolerance,
        ..RestrictionConfig::default()
    };
    Restriction::new(&vpa, pods, |_| Some(pods.len() as i64), &config)
}

fn plain(name: &str) -> Pod {
    PodBuilder::new("ns", name)
        .container("app", "1", "100Mi")
        .build()
}

#[test]
fn infeasible_falls_back_at_once_and_deferred_after_five_minutes() {
    let min = |m: u64| Duration::from_secs(m * 60);
    assert!(resize_gave_up(ResizeStatus::Infeasible, Duration::ZERO));
    assert!(resize_gave_up(ResizeStatus::Error, Duration::ZERO));
    assert!(!resize_gave_up(ResizeStatus::Deferred, min(5)));
    assert!(resize_gave_up(
        ResizeStatus::Deferred,
        min(5) + Duration::from_secs(1)
    ));
    assert!(!resize_gave_up(ResizeStatus::InProgress, min(60)));
    assert!(resize_gave_up(ResizeStatus::InProgress, min(61)));
    assert!(!resize_gave_up(ResizeStatus::None, min(1000)));
}

#[test]
fn timers_start_when_a_resize_is_first_seen_and_reset_when_it_ends() {
    let deferred = PodBuilder::new("ns", "p")
        .container("app", "1", "")
        .condition("PodResizePending", Some("Deferred"))
        .build();
    let mut timers = ResizeTimers::default();
    timers.observe([&deferred], at(100));
    timers.observe([&deferred], at(400));
    assert_eq!(
        timers.resizing_for(&deferred, at(400)),
        Duration::from_secs(300)
    );
    timers.observe([&plain("p")], at(500));
    assert!(timers.is_empty());
    timers.observe([&deferred], at(600));
    assert_eq!(
        timers.resizing_for(&deferred, at(660)),
        Duration::from_secs(60)
    );
}

#[test]
fn a_healthy_group_approves_a_resize_and_a_failed_resize_turns_into_an_eviction() {
    let infeasible = PodBuilder::new("ns", "stuck")
        .container("app", "1", "")
        .condition("PodResizePending", Some("Infeasible"))
        .build();
    let pods = vec![plain("a"), plain("b"), infeasible];
    let r = group(&pods, 0.5);
    assert_eq!(
        decide(&r, &pods[0], true, Duration::ZERO, false),
        InPlaceDecision::Approved
    );
    assert_eq!(
        decide(&r, &pods[2], true, Duration::ZERO, false),
        InPlaceDecision::Evict
    );
    assert_eq!(
        decide(&r, &pods[0], false, Duration::ZERO, false),
        InPlaceDecision::Deferred(Defer::NoRecommendation)
    );
}

#[test]
fn an_exhausted_budget_defers_unless_the_resize_restarts_nothing() {
    let mut pods = vec![plain("a"), plain("b")];
    let mut r = group(&pods, 0.5);
    r.record_in_place(&pods[0]);
    assert_eq!(
        decide(&r, &pods[1], true, Duration::ZERO, false),
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
    );
    assert_eq!(
        decide(&r, &pods[1], true, Duration::ZERO, true),
        InPlaceDecision::Approved
    );
    pods[1].spec.as_mut().unwrap().containers[0].resize_policy =
        Some(vec![ContainerResizePolicy {
            resource_name: "memory".into(),
            restart_policy: "RestartContainer".into(),
        }]);
    assert!(!is_non_disruptive(&pods[1]));
    assert_eq!(
        decide(&r, &pods[1], true, Duration::ZERO, true),
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
    );
}

#[test]
fn resize_patch_creates_missing_maps_and_adds_each_value() {
    let mut pod = PodBuilder::new("ns", "p")
        .container("app", "100m", "")
        .build();
    pod.spec
        .as_mut()
        .unwrap()
        .containers
        .push(Default::default());
    pod.spec.as_mut().unwrap().containers[1].name = "bare".into();
    let patch = resize_patch(
        &pod,
        &[
            ContainerResize {
                index: 0,
                requests: resources("250m", "200Mi"),
                limits: resources("500m", ""),
            },
            ContainerResize {
                index: 1,
                requests: resources("50m", ""),
                limits: Default::default(),
            },
        ],
    );
    assert_eq!(
        patch,
        json!([
            {"op": "add", "path": "/spec/containers/0/resources/requests/cpu", "value": "250m"},
            {"op": "add", "path": "/spec/containers/0/resources/requests/memory", "value": "200Mi"},
            {"op": "add", "path": "/spec/containers/0/resources/limits", "value": {}},
            {"op": "add", "path": "/spec/containers/0/resources/limits/cpu", "value": "500m"},
            {"op": "add", "path": "/spec/containers/1/resources", "value": {}},
            {"op": "add", "path": "/spec/containers/1/resources/requests", "value": {}},
            {"op": "add", "path": "/spec/containers/1/resources/requests/cpu", "value": "50m"},
        ])
    );
}

#[test]
fn annotation_patch_creates_the_map_when_missing() {
    let bare = plain("p");
    assert_eq!(
        annotation_patch(&bare),
        json!([
            {"op": "add", "path": "/metadata/annotations", "value": {}},
            {"op": "add", "path": "/metadata/annotations/vpaInPlaceUpdated", "value": "true"},
        ])
    );
    let annotated = PodBuilder::new("ns", "p").annotation("a", "b").build();
    assert_eq!(annotation_patch(&annotated).as_array().unwrap().len(), 1);
}
