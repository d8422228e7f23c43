//! The webhook handler through `router().oneshot(..)`, with AdmissionReviews written by hand in
//! kube-apiserver's exact shape (tests/reviews/).

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use futures::StreamExt;
use http_body_util::BodyExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use serde_json::{Value, json};
use tower::ServiceExt;
use vpa_admission_controller::handler::{
    AppState, DEFAULT_BODY_TIMEOUT, MAX_BODY_BYTES, admin_router, router,
};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_common::api::{UpdateMode, VerticalPodAutoscaler};
use vpa_test_support::hamster::{hamster_controllers, hamster_vpa};

const POD_CREATE: &str = include_str!("reviews/pod-create.json");
const VPA_CREATE: &str = include_str!("reviews/vpa-create.json");

fn state(vpas: Vec<VerticalPodAutoscaler>, synced: bool) -> (AppState, Arc<Metrics>) {
    let mut view = StaticView::new(vpas, hamster_controllers());
    view.synced = synced;
    let metrics = Arc::new(Metrics::new());
    let state = AppState {
        view: Arc::new(view),
        metrics: metrics.clone(),
        gates: FeatureGates::default(),
        max_allowed_cpu_boost: None,
        body_timeout: DEFAULT_BODY_TIMEOUT,
    };
    (state, metrics)
}

async fn post(state: AppState, body: impl Into<Body>) -> (StatusCode, Value) {
    let req = Request::post("/")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let resp = router(state).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).expect("every answer is JSON"),
    )
}

fn decoded_patch(review: &Value) -> Value {
    let b64 = review["response"]["patch"]
        .as_str()
        .expect("patch is a base64 string");
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn pod_from_replicaset_gets_the_recommendation() {
    let (state, metrics) = state(vec![hamster_vpa().build()], true);
    let (status, review) = post(state, POD_CREATE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    assert_eq!(
        review["response"]["uid"],
        "0df28fbd-5f5f-11e8-bc74-36e6bb280816"
    );
    assert_eq!(review["response"]["allowed"], true);
    assert_eq!(review["response"]["patchType"], "JSONPatch");
    let mut pod: Value =
        serde_json::from_str::<Value>(POD_CREATE).unwrap()["request"]["object"].clone();
    let patch: json_patch::Patch = serde_json::from_value(decoded_patch(&review)).unwrap();
    json_patch::patch(&mut pod, &patch).unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "250m", "memory": "200Mi"})
    );
    assert_eq!(
        pod["metadata"]["annotations"]["vpaObservedContainers"],
        "hamster"
    );
    let text = metrics.encode();
    assert!(
        text.contains("vpa_admission_controller_admission_pods_total{applied=\"true\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn update_mode_off_leaves_the_pod_untouched() {
    let (state, _) = state(vec![hamster_vpa().mode(UpdateMode::Off).build()], true);
    let (_, review) = post(state, POD_CREATE).await;
    assert_eq!(review["response"]["allowed"], true);
    assert!(review["response"].get("patch").is_none());
}

#[tokio::test]
async fn unsynced_cache_admits_unchanged_and_counts_an_error() {
    let (state, metrics) = state(vec![hamster_vpa().build()], false);
    let (status, review) = post(state, POD_CREATE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(review["response"]["allowed"], true);
    assert!(review["response"].get("patch").is_none());
    assert!(
        metrics
            .encode()
            .contains("errors_total{reason=\"cache_not_synced\"} 1")
    );
}

#[tokio::test]
async fn undecodable_pod_is_admitted_unchanged() {
    let mut review: Value = serde_json::from_str(POD_CREATE).unwrap();
    review["request"]["object"]["spec"]["containers"] = json!("not a list");
    let (state, _) = state(vec![hamster_vpa().build()], true);
    let (status, out) = post(state, review.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out["response"]["allowed"], true);
}

#[tokio::test]
async fn broken_owner_chain_is_admitted_unchanged() {
    let mut review: Value = serde_json::from_str(POD_CREATE).unwrap();
    review["request"]["object"]["metadata"]["ownerReferences"][0]["name"] = json!("unknown-rs");
    let (state, metrics) = state(vec![hamster_vpa().build()], true);
    let (_, out) = post(state, review.to_string()).await;
    assert_eq!(out["response"]["allowed"], true);
    assert!(out["response"].get("patch").is_none());
    assert!(metrics.encode().contains("reason=\"controller_missing\""));
}

#[tokio::test]
async fn valid_vpa_gets_defaulting_patch() {
    let (state, _) = state(vec![], true);
    let (status, review) = post(state, VPA_CREATE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(review["response"]["allowed"], true);
    assert_eq!(
        decoded_patch(&review),
        json!([{"op": "add", "path": "/spec/updatePolicy", "value": {"updateMode": "Recreate"}}])
    );
}

#[tokio::test]
async fn invalid_vpa_is_rejected_naming_the_field() {
    let mut review: Value = serde_json::from_str(VPA_CREATE).unwrap();
    review["request"]["object"]["spec"]["resourcePolicy"]["containerPolicies"][0]["minAllowed"]["cpu"] =
        json!("2");
    let (state, _) = state(vec![], true);
    let (_, out) = post(state, review.to_string()).await;
    assert_eq!(out["response"]["allowed"], false);
    assert_eq!(out["response"]["status"]["code"], 422);
    let message = out["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("containerPolicies[0]") && message.contains("lower than min"),
        "{message}"
    );
}

#[tokio::test]
async fn vpa_with_unknown_mode_is_rejected() {
    let mut review: Value = serde_json::from_str(VPA_CREATE).unwrap();
    review["request"]["object"]["spec"]["updatePolicy"] = json!({"updateMode": "Sometimes"});
    let (state, _) = state(vec![], true);
    let (_, out) = post(state, review.to_string()).await;
    assert_eq!(out["response"]["allowed"], false);
    assert!(
        out["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("updateMode")
    );
}

#[tokio::test]
async fn malformed_review_is_a_400_with_json_reason() {
    for body in [
        "",
        "{",
        "[]",
        r#"{"kind":"Pod","apiVersion":"v1"}"#,
        r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#,
    ] {
        let (state, _) = state(vec![], true);
        let (status, out) = post(state, body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(
            out["error"].is_string() && out["reason"].is_string(),
            "{out}"
        );
    }
}

#[tokio::test]
async fn body_over_three_mebibytes_is_a_400() {
    let (state, _) = state(vec![], true);
    let (status, out) = post(state, vec![b' '; MAX_BODY_BYTES + 1]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(out["reason"], "body");
}

#[tokio::test]
async fn other_resources_are_allowed_without_patch() {
    let mut review: Value = serde_json::from_str(POD_CREATE).unwrap();
    review["request"]["operation"] = json!("DELETE");
    let (state, _) = state(vec![hamster_vpa().build()], true);
    let (_, out) = post(state, review.to_string()).await;
    assert_eq!(
        out["response"],
        json!({"uid": "0df28fbd-5f5f-11e8-bc74-36e6bb280816", "allowed": true})
    );
}

#[tokio::test]
async fn admin_port_serves_health_readiness_and_metrics() {
    let metrics = Arc::new(Metrics::new());
    metrics.observe(
        "Pod",
        vpa_admission_controller::metrics::Status::Applied,
        0.001,
    );
    let get = |path: &str, ready: bool| {
        let app = admin_router(metrics.clone(), Arc::new(move || ready));
        let req = Request::get(path).body(Body::empty()).unwrap();
        async move { app.oneshot(req).await.unwrap() }
    };
    assert_eq!(get("/healthz", false).await.status(), StatusCode::OK);
    assert_eq!(
        get("/readyz", false).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get("/readyz", true).await.status(), StatusCode::OK);
    let body = get("/metrics", true)
        .await
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("vpa_admission_controller_admission_latency_seconds_bucket{le=\"0.0025\",status=\"applied\",resource=\"Pod\"} 1"), "{text}");
}

fn hpa(namespace: &str, name: &str, target: &str, resource: &str) -> Arc<HorizontalPodAutoscaler> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"namespace": namespace, "name": name},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": resource,
                    "target": {"type": "Utilization", "averageUtilization": 60}}}]
            }
        }))
        .unwrap(),
    )
}

#[tokio::test]
async fn vpa_sharing_a_resource_with_an_hpa_is_admitted_with_a_warning() {
    let mut view = StaticView::new(vec![], hamster_controllers());
    view.hpas = vec![
        // Same namespace and target, scaling on CPU, which the VPA controls: warned about.
        hpa("default", "hamster-hpa", "hamster", "cpu"),
        // Another target, or the same name in another namespace: not this VPA's business.
        hpa("default", "other-hpa", "other", "memory"),
        hpa("elsewhere", "hamster-hpa-2", "hamster", "memory"),
    ];
    let state = AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates::default(),
        max_allowed_cpu_boost: None,
        body_timeout: DEFAULT_BODY_TIMEOUT,
    };
    let (status, review) = post(state, VPA_CREATE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        review["response"]["allowed"], true,
        "a warning does not deny"
    );
    let warnings: Vec<&str> = review["response"]["warnings"]
        .as_array()
        .expect("warnings in the response")
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("HorizontalPodAutoscaler hamster-hpa")
            && warnings[0].contains("on cpu"),
        "{warnings:?}"
    );
    // The defaulting patch is still there.
    assert_eq!(
        decoded_patch(&review),
        json!([{"op": "add", "path": "/spec/updatePolicy", "value": {"updateMode": "Recreate"}}])
    );
}

#[tokio::test]
async fn body_that_stops_arriving_is_a_408_after_the_body_timeout() {
    let (mut state, metrics) = state(vec![hamster_vpa().build()], true);
    state.body_timeout = std::time::Duration::from_millis(200);
    // Half a review, then nothing: a stuck client.
    let half = POD_CREATE.as_bytes()[..POD_CREATE.len() / 2].to_vec();
    let stuck =
        futures::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(half)) })
            .chain(futures::stream::pending());
    let started = std::time::Instant::now();
    let (status, out) = post(state, Body::from_stream(stuck)).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(out["reason"], "timeout");
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert!(
        metrics
            .encode()
            .contains("errors_total{reason=\"timeout\"} 1"),
        "{}",
        metrics.encode()
    );
}

/// `vpa_admission_controller_execution_latency_seconds_count{step}` in a scrape.
fn step_count(text: &str, step: &str) -> u64 {
    let series =
        format!("vpa_admission_controller_execution_latency_seconds_count{{step=\"{step}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn each_request_times_upstreams_steps_and_refused_ones_only_the_total() {
    let (state, metrics) = state(vec![hamster_vpa().build()], true);
    let steps = [
        "read_request",
        "admit",
        "build_response",
        "write_response",
        "total",
    ];
    assert!(steps.iter().all(|s| step_count(&metrics.encode(), s) == 0));
    post(state.clone(), POD_CREATE).await;
    post(state.clone(), POD_CREATE).await;
    let text = metrics.encode();
    for step in steps {
        assert_eq!(step_count(&text, step), 2, "{step}: {text}");
    }
    let (status, _) = post(state, "{").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = metrics.encode();
    assert_eq!(step_count(&text, "total"), 3, "{text}");
    assert_eq!(step_count(&text, "read_request"), 3, "the body was read");
    assert_eq!(
        step_count(&text, "admit"),
        2,
        "a broken review is never admitted"
    );
}

#[tokio::test]
async fn the_native_sidecar_gate_decides_whether_a_sidecar_is_patched() {
    let vpa = hamster_vpa()
        .container("proxy")
        .target("20m", "32Mi")
        .build();
    let mut review: Value = serde_json::from_str(POD_CREATE).unwrap();
    review["request"]["object"]["spec"]["initContainers"] = json!([
        {"name": "proxy", "image": "proxy", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    ]);
    for gate in [false, true] {
        let (mut state, _) = state(vec![vpa.clone()], true);
        state.gates.native_sidecar = gate;
        let (_, out) = post(state, review.to_string()).await;
        let mut pod = review["request"]["object"].clone();
        let patch: json_patch::Patch = serde_json::from_value(decoded_patch(&out)).unwrap();
        json_patch::patch(&mut pod, &patch).unwrap();
        let want = if gate {
            json!({"cpu": "20m", "memory": "32Mi"})
        } else {
            json!({"cpu": "10m", "memory": "16Mi"})
        };
        assert_eq!(
            pod["spec"]["initContainers"][0]["resources"]["requests"], want,
            "gate {gate}"
        );
    }
}
