use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerResizePolicy, Pod};
use serde_json::json;

use super::*;
use crate::restriction::RestrictionConfig;
use crate::test_support::{PodBuilder, VpaBuilder, resources};

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
fn a_healthy_group_approves_a_resize_and_a_failed_resize_turns_into_an_eviction() {
    let infeasible = PodBuilder::new("ns", "stuck")
        .container("app", "1", "")
        .condition("PodResizePending", Some("Infeasible"))
        .build();
    let pods = vec![plain("a"), plain("b"), infeasible];
    let r = group(&pods, 0.5);
    assert_eq!(
        decide(
            &r,
            &pods[0],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            false
        ),
        InPlaceDecision::Approved
    );
    assert_eq!(
        decide(
            &r,
            &pods[2],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            false
        ),
        InPlaceDecision::Evict
    );
    assert_eq!(
        decide(
            &r,
            &pods[0],
            InPlaceMode::OrRecreate,
            false,
            Duration::ZERO,
            false
        ),
        InPlaceDecision::Deferred(Defer::NoRecommendation)
    );
}

#[test]
fn an_exhausted_budget_defers_unless_the_resize_restarts_nothing() {
    let mut pods = vec![plain("a"), plain("b")];
    let mut r = group(&pods, 0.5);
    r.record_in_place(&pods[0]);
    assert_eq!(
        decide(
            &r,
            &pods[1],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            false
        ),
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
    );
    assert_eq!(
        decide(
            &r,
            &pods[1],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            true
        ),
        InPlaceDecision::Approved
    );
    pods[1].spec.as_mut().unwrap().containers[0].resize_policy =
        Some(vec![ContainerResizePolicy {
            resource_name: "memory".into(),
            restart_policy: "RestartContainer".into(),
        }]);
    assert!(!is_non_disruptive(&pods[1]));
    assert_eq!(
        decide(
            &r,
            &pods[1],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            true
        ),
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
    );
}

fn resizing(name: &str, condition: &str, reason: Option<&str>) -> Pod {
    PodBuilder::new("ns", name)
        .container("app", "1", "")
        .condition(condition, reason)
        .build()
}

#[test]
fn in_place_mode_retries_infeasible_resizes_and_waits_on_the_others_forever() {
    let pods = vec![
        resizing("infeasible", "PodResizePending", Some("Infeasible")),
        resizing("error", "PodResizeInProgress", Some("Error")),
        resizing("deferred", "PodResizePending", Some("Deferred")),
        resizing("progress", "PodResizeInProgress", None),
        resizing("unknown", "PodResizePending", Some("Other")),
        plain("a"),
    ];
    let r = group(&pods, 0.5);
    let day = Duration::from_secs(24 * 3600);
    let only = |pod: &Pod| decide(&r, pod, InPlaceMode::Only, true, day, false);
    assert_eq!(only(&pods[0]), InPlaceDecision::Infeasible);
    assert_eq!(only(&pods[1]), InPlaceDecision::Infeasible);
    for pod in &pods[2..5] {
        assert_eq!(
            only(pod),
            InPlaceDecision::Deferred(Defer::ResizeInProgress),
            "{:?}",
            pod.metadata.name
        );
    }
    assert_eq!(only(&pods[5]), InPlaceDecision::Approved);
    // The same pods in InPlaceOrRecreate mode give up and are evicted.
    for pod in &pods[..5] {
        assert_eq!(
            decide(&r, pod, InPlaceMode::OrRecreate, true, day, false),
            InPlaceDecision::Evict
        );
    }
}

#[test]
fn a_group_below_min_replicas_never_turns_a_failed_resize_into_an_eviction() {
    let pods = vec![resizing("stuck", "PodResizePending", Some("Infeasible"))];
    let vpa = VpaBuilder::new("ns", "vpa")
        .mode(vpa_common::api::UpdateMode::InPlaceOrRecreate)
        .build();
    let config = RestrictionConfig {
        in_place_skip_disruption_budget: true,
        ..RestrictionConfig::default()
    };
    let r = Restriction::new(&vpa, &pods, |_| Some(1), &config);
    assert_eq!(
        decide(
            &r,
            &pods[0],
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            true
        ),
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::TooFewReplicas))
    );
    assert_eq!(
        decide(
            &r,
            &plain("fresh"),
            InPlaceMode::OrRecreate,
            true,
            Duration::ZERO,
            true
        ),
        InPlaceDecision::Approved,
        "a pod of the group that is not resizing is resized"
    );
}

#[test]
fn only_an_api_error_calling_the_resize_infeasible_counts_as_infeasible() {
    let api = |message: &str| ActionError::Api {
        code: 422,
        message: message.into(),
    };
    assert!(is_infeasible_error(&api(
        "pod resize is Infeasible: node has 2 CPUs"
    )));
    assert!(!is_infeasible_error(&api("Pod QoS is immutable")));
    assert!(!is_infeasible_error(&ActionError::TooManyRequests(
        "infeasible".into()
    )));
    assert!(!is_infeasible_error(&ActionError::NotFound));
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
