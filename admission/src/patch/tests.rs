//! Pod patch computation: the admission e2e cases of spec §7.1 as pure tests.

use serde_json::{Value, json};
use vpa_common::api::{ContainerControlledValues, ContainerScalingMode};
use vpa_common::limitrange::LimitBounds;
use vpa_common::resources::Amounts;
use vpa_common::testutil::{PodBuilder, VpaBuilder};

use super::*;

fn ops(patch: &PodPatch) -> Vec<Value> {
    patch
        .operations
        .iter()
        .map(|op| serde_json::to_value(op).unwrap())
        .collect()
}

fn apply(pod: &Pod, patch: &PodPatch) -> Value {
    let mut doc = serde_json::to_value(pod).unwrap();
    json_patch::patch(&mut doc, &patch.operations).expect("patch applies to the pod");
    doc
}

fn hamster_vpa() -> VpaBuilder {
    VpaBuilder::new("ns", "hamster-vpa")
        .container("hamster")
        .target("250m", "200Mi")
}

/// The patch without namespace limits or a boost.
fn plain_patch(pod: &Pod, vpa: &VerticalPodAutoscaler) -> PodPatch {
    pod_patch(
        pod,
        vpa,
        &NamespaceLimits::default(),
        PatchOptions::default(),
    )
    .unwrap()
}

#[test]
fn new_pod_gets_recommended_requests_and_annotations() {
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .build();
    let patch = plain_patch(&pod, &hamster_vpa().build());
    assert!(patch.resources_changed);
    assert_eq!(
        ops(&patch),
        vec![
            json!({"op": "add", "path": "/metadata/annotations", "value": {}}),
            json!({"op": "add", "path": "/spec/containers/0/resources/requests/cpu", "value": "250m"}),
            json!({"op": "add", "path": "/spec/containers/0/resources/requests/memory", "value": "200Mi"}),
            json!({"op": "add", "path": "/metadata/annotations/vpaUpdates",
                   "value": "Pod resources updated by hamster-vpa: container 0: cpu request, memory request"}),
            json!({"op": "add", "path": "/metadata/annotations/vpaObservedContainers", "value": "hamster"}),
        ]
    );
}

#[test]
fn pod_without_resources_gets_resources_and_requests_objects() {
    let pod = PodBuilder::new("ns", "p")
        .annotation("a", "b")
        .container("hamster")
        .build();
    let patch = plain_patch(&pod, &hamster_vpa().build());
    let doc = apply(&pod, &patch);
    assert_eq!(
        doc["spec"]["containers"][0]["resources"],
        json!({"requests": {"cpu": "250m", "memory": "200Mi"}})
    );
    assert_eq!(doc["metadata"]["annotations"]["a"], "b");
    assert_eq!(
        ops(&patch)[0],
        json!({"op": "add", "path": "/spec/containers/0/resources", "value": {}})
    );
}

#[test]
fn limits_keep_their_ratio() {
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .limits("150m", "200Mi")
        .build();
    let doc = apply(&pod, &plain_patch(&pod, &hamster_vpa().build()));
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["limits"],
        json!({"cpu": "375m", "memory": "400Mi"})
    );
    let updates = doc["metadata"]["annotations"]["vpaUpdates"]
        .as_str()
        .unwrap();
    assert_eq!(
        updates,
        "Pod resources updated by hamster-vpa: container 0: cpu request, memory request, cpu limit, memory limit"
    );
}

#[test]
fn guaranteed_pod_keeps_limit_equal_to_request() {
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .limits("100m", "100Mi")
        .build();
    let doc = apply(&pod, &plain_patch(&pod, &hamster_vpa().build()));
    let res = &doc["spec"]["containers"][0]["resources"];
    assert_eq!(res["limits"], res["requests"]);
}

#[test]
fn requests_only_leaves_limits() {
    let vpa = hamster_vpa()
        .controlled_values(ContainerControlledValues::RequestsOnly)
        .build();
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .limits("500m", "500Mi")
        .build();
    let doc = apply(&pod, &plain_patch(&pod, &vpa));
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["limits"],
        json!({"cpu": "500m", "memory": "500Mi"})
    );
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "250m", "memory": "200Mi"})
    );
}

#[test]
fn container_without_recommendation_keeps_request_and_empty_stays_empty() {
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .container("other")
        .requests("50m", "")
        .container("empty")
        .build();
    let patch = plain_patch(&pod, &hamster_vpa().build());
    let doc = apply(&pod, &patch);
    assert_eq!(
        doc["spec"]["containers"][1]["resources"],
        json!({"requests": {"cpu": "50m"}})
    );
    assert!(doc["spec"]["containers"][2].get("resources").is_none());
    assert_eq!(
        doc["metadata"]["annotations"]["vpaObservedContainers"],
        "hamster, other, empty"
    );
}

#[test]
fn capping_notes_come_before_the_changes() {
    let vpa = hamster_vpa().max_allowed("233m", "150Mi").build();
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .build();
    let doc = apply(&pod, &plain_patch(&pod, &vpa));
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "233m", "memory": "150Mi"})
    );
    assert_eq!(
        doc["metadata"]["annotations"]["vpaUpdates"],
        "Pod resources updated by hamster-vpa: container 0: cpu capped to maxAllowed, memory capped to maxAllowed, cpu request, memory request"
    );
}

#[test]
fn limit_range_default_limit_is_scaled_when_pod_has_no_limit() {
    let limits = NamespaceLimits {
        container: Some(LimitBounds {
            default: Amounts::from([("cpu".to_string(), 200), ("memory".to_string(), 200 << 20)]),
            ..Default::default()
        }),
        pod: None,
    };
    let pod = PodBuilder::new("ns", "p")
        .container("hamster")
        .requests("100m", "100Mi")
        .build();
    let doc = apply(
        &pod,
        &pod_patch(
            &pod,
            &hamster_vpa().build(),
            &limits,
            PatchOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["limits"],
        json!({"cpu": "500m", "memory": "400Mi"})
    );
}

fn sidecar_case() -> (Pod, VerticalPodAutoscaler) {
    let vpa = hamster_vpa()
        .container("proxy")
        .target("20m", "32Mi")
        .container("setup")
        .target("1", "1Gi")
        .build();
    let pod = PodBuilder::new("ns", "p")
        .init_container("setup", false)
        .init_container("proxy", true)
        .requests("10m", "16Mi")
        .container("hamster")
        .build();
    (pod, vpa)
}

#[test]
fn with_the_gate_a_native_sidecar_is_patched_and_observed_and_a_plain_init_container_is_not() {
    let (pod, vpa) = sidecar_case();
    let options = PatchOptions {
        native_sidecars: true,
        ..PatchOptions::default()
    };
    let patch = pod_patch(&pod, &vpa, &NamespaceLimits::default(), options).unwrap();
    let doc = apply(&pod, &patch);
    assert!(doc["spec"]["initContainers"][0].get("resources").is_none());
    assert_eq!(
        doc["spec"]["initContainers"][1]["resources"]["requests"],
        json!({"cpu": "20m", "memory": "32Mi"})
    );
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "250m", "memory": "200Mi"})
    );
    let annotations = &doc["metadata"]["annotations"];
    let updates = annotations["vpaUpdates"].as_str().unwrap();
    assert!(
        updates.contains("initContainer 1: cpu request, memory request"),
        "{updates}"
    );
    assert_eq!(annotations["vpaObservedContainers"], "hamster, proxy");
}

#[test]
fn without_the_gate_init_containers_of_every_kind_are_left_alone() {
    let (pod, vpa) = sidecar_case();
    let doc = apply(&pod, &plain_patch(&pod, &vpa));
    assert_eq!(
        doc["spec"]["initContainers"][1]["resources"]["requests"],
        json!({"cpu": "10m", "memory": "16Mi"})
    );
    assert_eq!(
        doc["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "250m", "memory": "200Mi"})
    );
    assert_eq!(
        doc["metadata"]["annotations"]["vpaObservedContainers"],
        "hamster"
    );
}

#[test]
fn vpa_without_recommendation_only_adds_observed_containers() {
    let vpa = VpaBuilder::new("ns", "v")
        .container("hamster")
        .container_mode(ContainerScalingMode::Auto)
        .build();
    let pod = PodBuilder::new("ns", "p")
        .annotation("x", "y")
        .container("hamster")
        .build();
    let patch = plain_patch(&pod, &vpa);
    assert!(!patch.resources_changed);
    assert_eq!(
        ops(&patch),
        vec![
            json!({"op": "add", "path": "/metadata/annotations/vpaObservedContainers", "value": "hamster"})
        ]
    );
}

#[test]
fn path_tokens_are_escaped_as_from_tokens_does() {
    for tokens in [
        &["spec", "containers", "0", "resources", "requests", "cpu"][..],
        &["metadata", "annotations", "example.com/a~b"],
        &["x", "~1/~0", ""],
    ] {
        let PatchOperation::Add(op) = add(tokens, Value::Null) else {
            panic!("an add operation");
        };
        assert_eq!(op.path, PointerBuf::from_tokens(tokens.iter().copied()));
    }
}
