//! The CPU startup boost through the webhook handler (`router().oneshot(..)`), mirroring
//! upstream 1.7.1's admission-controller e2e cases: boost by factor, by quantity, with the VPA
//! in mode Off, and none for a container in mode Off; plus the feature gate, the
//! `--max-allowed-cpu-boost` cap and an invalid boost.
//!
//! The hamster pod of tests/reviews/pod-create.json asks for 100m CPU and 50Mi, without limits.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT, router};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_common::api::{
    ContainerControlledValues, ContainerScalingMode, UpdateMode, VerticalPodAutoscaler,
};
use vpa_common::testutil::{factor_boost, quantity_boost};
use vpa_test_support::hamster::{hamster_controllers, hamster_vpa};

const POD_CREATE: &str = include_str!("reviews/pod-create.json");
const BOOST_ANNOTATION: &str = "vpaCpuStartupBoost/hamster";
/// The hamster's resources before any boost, as the annotation records them.
const ORIGINAL: &str = r#"{"requests":{"cpu":"100m","memory":"50Mi"},"limits":{}}"#;

fn state(vpa: VerticalPodAutoscaler, gate: bool, max_allowed: Option<i64>) -> AppState {
    let controllers = hamster_controllers();
    AppState {
        view: Arc::new(StaticView::new(vec![vpa], controllers)),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates {
            cpu_startup_boost: gate,
            ..FeatureGates::default()
        },
        max_allowed_cpu_boost: max_allowed,
        body_timeout: DEFAULT_BODY_TIMEOUT,
    }
}

/// The hamster VPA recommending 250m / 200Mi.
/// Admits the hamster pod; the patch operations and the patched pod.
async fn admit(state: AppState) -> (Vec<Value>, Value) {
    admit_changed(state, |_| {}).await
}

/// Admits the hamster pod after `change` edits it.
async fn admit_changed(state: AppState, change: impl FnOnce(&mut Value)) -> (Vec<Value>, Value) {
    let mut review: Value = serde_json::from_str(POD_CREATE).unwrap();
    change(&mut review["request"]["object"]);
    let original = review["request"]["object"].clone();
    let req = Request::post("/")
        .header("content-type", "application/json")
        .body(Body::from(review.to_string()))
        .unwrap();
    let resp = router(state).oneshot(req).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let review: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        review["response"]["allowed"], true,
        "pods are never refused"
    );
    let ops: Vec<Value> = match review["response"]["patch"].as_str() {
        Some(b64) => serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
        None => Vec::new(),
    };
    let mut pod = original;
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops.clone())).unwrap();
    json_patch::patch(&mut pod, &patch).unwrap();
    (ops, pod)
}

fn requests(pod: &Value) -> &Value {
    &pod["spec"]["containers"][0]["resources"]["requests"]
}

fn annotations(pod: &Value) -> &Value {
    &pod["metadata"]["annotations"]
}

#[tokio::test]
async fn boost_by_factor_multiplies_the_recommendation() {
    let vpa = hamster_vpa().startup_boost(factor_boost(2, 10)).build();
    let (ops, pod) = admit(state(vpa, true, None)).await;
    assert_eq!(requests(&pod), &json!({"cpu": "500m", "memory": "200Mi"}));
    assert_eq!(annotations(&pod)[BOOST_ANNOTATION], ORIGINAL);
    // Upstream's order: the annotation map, the boost annotation, then the container's resources.
    let paths: Vec<&str> = ops.iter().map(|op| op["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        vec![
            "/metadata/annotations",
            "/metadata/annotations/vpaCpuStartupBoost~1hamster",
            "/spec/containers/0/resources/requests/cpu",
            "/spec/containers/0/resources/requests/memory",
            "/metadata/annotations/vpaUpdates",
            "/metadata/annotations/vpaObservedContainers",
        ]
    );
    assert_eq!(
        annotations(&pod)["vpaUpdates"],
        "Pod resources updated by hamster-vpa: container 0: cpu request, memory request"
    );
}

#[tokio::test]
async fn boost_by_quantity_adds_to_the_recommendation() {
    let vpa = hamster_vpa()
        .startup_boost(quantity_boost("500m", 10))
        .build();
    let (_, pod) = admit(state(vpa, true, None)).await;
    assert_eq!(requests(&pod), &json!({"cpu": "750m", "memory": "200Mi"}));
    assert_eq!(annotations(&pod)[BOOST_ANNOTATION], ORIGINAL);
}

#[tokio::test]
async fn boost_with_mode_off_starts_from_the_pods_own_request() {
    let vpa = hamster_vpa()
        .mode(UpdateMode::Off)
        .startup_boost(factor_boost(2, 10))
        .build();
    let (_, pod) = admit(state(vpa, true, None)).await;
    // The recommendation is not applied: memory stays, CPU is the original 100m doubled.
    assert_eq!(requests(&pod), &json!({"cpu": "200m", "memory": "50Mi"}));
    assert_eq!(annotations(&pod)[BOOST_ANNOTATION], ORIGINAL);
    assert_eq!(
        annotations(&pod)["vpaUpdates"],
        "Pod resources updated by hamster-vpa: container 0: cpu request"
    );
    assert_eq!(annotations(&pod)["vpaObservedContainers"], "hamster");
}

#[tokio::test]
async fn no_boost_for_a_container_in_mode_off() {
    let vpa = hamster_vpa()
        .container_mode(ContainerScalingMode::Off)
        .startup_boost(factor_boost(2, 10))
        .build();
    // A second container without a policy of its own gets the pod-level boost.
    let (_, pod) = admit_changed(state(vpa, true, None), |pod| {
        let sidecar = json!({"name": "sidecar", "image": "s",
            "resources": {"requests": {"cpu": "10m"}}});
        pod["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(sidecar);
    })
    .await;
    assert_eq!(requests(&pod), &json!({"cpu": "100m", "memory": "50Mi"}));
    assert!(annotations(&pod).get(BOOST_ANNOTATION).is_none(), "{pod}");
    let sidecar = &pod["spec"]["containers"][1]["resources"]["requests"];
    assert_eq!(sidecar, &json!({"cpu": "20m"}));
    assert_eq!(
        annotations(&pod)["vpaCpuStartupBoost/sidecar"],
        r#"{"requests":{"cpu":"10m"},"limits":{}}"#
    );
    assert_eq!(
        annotations(&pod)["vpaUpdates"],
        "Pod resources updated by hamster-vpa: container 1: cpu request"
    );
}

#[tokio::test]
async fn container_policy_boost_overrides_the_pod_level_one() {
    let vpa = hamster_vpa()
        .startup_boost(factor_boost(2, 10))
        .container_startup_boost(factor_boost(3, 10))
        .build();
    let (_, pod) = admit(state(vpa, true, None)).await;
    assert_eq!(requests(&pod)["cpu"], "750m");
}

#[tokio::test]
async fn without_the_feature_gate_nothing_is_boosted() {
    let vpa = hamster_vpa().startup_boost(factor_boost(2, 10)).build();
    let (_, pod) = admit(state(vpa, false, None)).await;
    assert_eq!(requests(&pod), &json!({"cpu": "250m", "memory": "200Mi"}));
    assert!(annotations(&pod).get(BOOST_ANNOTATION).is_none(), "{pod}");
    // A VPA in mode Off still matches for its boost, as upstream: only the observed containers.
    let off = hamster_vpa()
        .mode(UpdateMode::Off)
        .startup_boost(factor_boost(2, 10))
        .build();
    let (ops, pod) = admit(state(off, false, None)).await;
    assert_eq!(requests(&pod), &json!({"cpu": "100m", "memory": "50Mi"}));
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(
        annotations(&pod),
        &json!({"vpaObservedContainers": "hamster"})
    );
}

#[tokio::test]
async fn max_allowed_cpu_boost_caps_the_request() {
    let vpa = hamster_vpa().startup_boost(factor_boost(4, 10)).build();
    let (_, pod) = admit(state(vpa, true, Some(300))).await;
    assert_eq!(requests(&pod)["cpu"], "300m");
}

#[tokio::test]
async fn requests_only_and_limits_follow_the_controlled_values() {
    // RequestsOnly on a pod without limits: nothing to stay under.
    let vpa = hamster_vpa()
        .controlled_values(ContainerControlledValues::RequestsOnly)
        .startup_boost(factor_boost(2, 10))
        .build();
    let (_, pod) = admit(state(vpa, true, None)).await;
    assert_eq!(requests(&pod)["cpu"], "500m");
    assert!(pod["spec"]["containers"][0]["resources"]["limits"].is_null());
}

#[tokio::test]
async fn an_invalid_boost_admits_the_pod_unchanged() {
    // Validation refuses a factor below 1, but a VPA stored before the webhook ran may have one.
    let vpa = hamster_vpa().startup_boost(factor_boost(0, 10)).build();
    let state = state(vpa, true, None);
    let metrics = state.metrics.clone();
    let (ops, _) = admit(state).await;
    assert!(ops.is_empty(), "{ops:?}");
    let text = metrics.encode();
    assert!(
        text.contains("errors_total{reason=\"boost_factor_below_one\"} 1"),
        "{text}"
    );
}
