//! The webhook's HTTP surface: AdmissionReview in, AdmissionReview out (edge, no I/O beyond the
//! request; cluster state comes from a [`ClusterView`]).
//!
//! The handler never blocks a pod: a decoding failure of the pod, a broken ownership chain, a
//! cache that is not synced or even a panic in the patch computation all admit the pod unchanged,
//! are logged with the pod's name and counted; a panic while checking a VPA admits it unchanged
//! too. Only a body that is not an AdmissionReview (or is over 3 MiB) gets HTTP 400, and one that
//! does not arrive within the body timeout HTTP 408, each with a JSON reason (kube-apiserver then
//! applies the webhook's failurePolicy, Ignore by default).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use serde_json::value::RawValue;
use tracing::{debug, warn};
use vpa_common::admin::{Health, Readiness};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::{target_key, vpa_for_pod};
use vpa_common::policy;
use vpa_common::startup_boost::BoostConfig;

use crate::metrics::{Metrics, Status, step};
use crate::patch::{PatchError, PatchOptions, pod_patch_parsed};
use crate::pod::decode_pod;
use crate::review::{self, AdmissionRequest, AdmissionResponse};
use crate::validation::{self, FeatureGates};
use crate::view::ClusterView;

/// Largest AdmissionReview body accepted, bytes (3 MiB, as kube-apiserver's request limit).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Default longest time a request body may take to arrive: 30 s, the longest webhook timeout
/// kube-apiserver allows (after which it has given up on the call).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared state of the webhook handler.
#[derive(Clone)]
pub struct AppState {
    /// Cached cluster state.
    pub view: Arc<dyn ClusterView>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Enabled alpha features.
    pub gates: FeatureGates,
    /// `--max-allowed-cpu-boost` in millicores; `None` is no cap.
    pub max_allowed_cpu_boost: Option<i64>,
    /// Longest time a request body may take to arrive (a slow or stuck client must not hold a
    /// request forever); see [`DEFAULT_BODY_TIMEOUT`].
    pub body_timeout: Duration,
}

/// The webhook router: every path accepts AdmissionReviews by POST (upstream serves `/`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", post(admit))
        .fallback(post(admit))
        .with_state(state)
}

/// The admin router for the plain port (`vpa_common::admin`'s): `/healthz`, `/readyz` (when
/// `ready` says so) and `/metrics`, streamed.
pub fn admin_router(metrics: Arc<Metrics>, ready: Arc<dyn Fn() -> bool + Send + Sync>) -> Router {
    vpa_common::admin::router_with_readiness(
        metrics.registry(),
        Health::without_loop(),
        "admission-controller",
        Readiness::new(
            move || ready(),
            "caches not synced or certificate not loaded",
        ),
    )
}

fn bad_request(metrics: &Metrics, reason: &'static str, message: String) -> Response {
    refuse(metrics, StatusCode::BAD_REQUEST, reason, message)
}

/// An answer without AdmissionReview (there is no request to answer): `status` with a JSON
/// reason, counted as an error.
fn refuse(
    metrics: &Metrics,
    status: StatusCode,
    reason: &'static str,
    message: String,
) -> Response {
    metrics.error(reason);
    metrics.observe("unknown", Status::Error, 0.0);
    (
        status,
        axum::Json(json!({ "error": message, "reason": reason })),
    )
        .into_response()
}

async fn admit(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let mut timer = state.metrics.execution_timer();
    if let Some(ct) = headers.get(header::CONTENT_TYPE)
        && !ct.to_str().unwrap_or_default().contains("json")
    {
        return bad_request(
            &state.metrics,
            "content_type",
            "expected Content-Type application/json".into(),
        );
    }
    let bytes = match tokio::time::timeout(state.body_timeout, to_bytes(body, MAX_BODY_BYTES)).await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return bad_request(
                &state.metrics,
                "body",
                format!("cannot read body (limit {MAX_BODY_BYTES} bytes): {e}"),
            );
        }
        Err(_) => {
            warn!(timeout = ?state.body_timeout, "Request body did not arrive in time");
            return refuse(
                &state.metrics,
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "request body not received within {} s",
                    state.body_timeout.as_secs_f64()
                ),
            );
        }
    };
    timer.step(step::READ_REQUEST);
    let decoded = match review::decode(&bytes) {
        Ok(d) => d,
        Err(e) => return bad_request(&state.metrics, e.metric_label(), e.to_string()),
    };
    let req = &decoded.request;
    let (resource, resp, status) = decide(&state, req);
    timer.step(step::ADMIT);
    let out = review::encode(&decoded.api_version, &req.uid, &resp);
    timer.step(step::BUILD_RESPONSE);
    let response = ([(header::CONTENT_TYPE, "application/json")], out).into_response();
    timer.step(step::WRITE_RESPONSE);
    state
        .metrics
        .observe(resource, status, start.elapsed().as_secs_f64());
    response
}

/// The answer to one decoded request, given the cluster as `state.view` sees it: the kind of
/// object reviewed (`Pod`, `VPA` or `unknown`, the metrics label), the response and its status.
/// Pure apart from logs and metrics; [`review::encode`] turns the response into the body.
pub fn decide(
    state: &AppState,
    req: &AdmissionRequest,
) -> (&'static str, AdmissionResponse, Status) {
    let (resource, (resp, status)) =
        match (req.resource.group.as_ref(), req.resource.resource.as_ref()) {
            ("", "pods")
                if req.operation == "CREATE"
                    && req.sub_resource.as_deref().unwrap_or_default().is_empty() =>
            {
                ("Pod", admit_pod_guarded(state, req))
            }
            ("autoscaling.k8s.io", "verticalpodautoscalers")
                if matches!(req.operation.as_ref(), "CREATE" | "UPDATE") =>
            {
                ("VPA", admit_vpa_guarded(state, req))
            }
            _ => ("unknown", (AdmissionResponse::allow(), Status::Skipped)),
        };
    (resource, resp, status)
}

fn pod_name(req: &AdmissionRequest, pod: Option<&Pod>) -> String {
    let meta = pod.map(|p| &p.metadata);
    match (
        meta.and_then(|m| m.name.clone())
            .or_else(|| req.name.as_deref().map(str::to_owned)),
        meta.and_then(|m| m.generate_name.clone()),
    ) {
        (Some(name), _) if !name.is_empty() => name,
        (_, Some(generate)) => format!("{generate}%"),
        _ => String::new(),
    }
}

fn admit_pod_guarded(state: &AppState, req: &AdmissionRequest) -> (AdmissionResponse, Status) {
    match catch_unwind(AssertUnwindSafe(|| admit_pod(state, req))) {
        Ok(result) => result,
        Err(_) => {
            let namespace = req.namespace.as_deref().unwrap_or_default();
            warn!(%namespace, pod = %pod_name(req, None), "Pod admission panicked; admitting unchanged");
            state.metrics.error("panic");
            state.metrics.pod_admitted(false);
            (AdmissionResponse::allow(), Status::Error)
        }
    }
}

fn admit_vpa_guarded(state: &AppState, req: &AdmissionRequest) -> (AdmissionResponse, Status) {
    match catch_unwind(AssertUnwindSafe(|| admit_vpa(state, req))) {
        Ok(result) => result,
        Err(_) => {
            let namespace = req.namespace.as_deref().unwrap_or_default();
            let vpa = req.name.as_deref().unwrap_or_default();
            warn!(%namespace, %vpa, "VPA admission panicked; admitting unchanged");
            state.metrics.error("panic");
            (AdmissionResponse::allow(), Status::Error)
        }
    }
}

fn admit_pod(state: &AppState, req: &AdmissionRequest) -> (AdmissionResponse, Status) {
    let failed = |reason: &'static str, detail: String, pod: &str| {
        let namespace = req.namespace.as_deref().unwrap_or_default();
        warn!(%namespace, %pod, reason, %detail, "Admitting pod unchanged");
        state.metrics.error(reason);
        state.metrics.pod_admitted(false);
        (AdmissionResponse::allow(), Status::Error)
    };
    let decoded = match &req.object {
        Some(object) => decode_pod(object.get()).map_err(|e| e.to_string()),
        None => Err("AdmissionReview carries no object".to_string()),
    };
    let mut pod = match decoded {
        Ok(p) => p,
        Err(e) => return failed("decode_pod", e, &pod_name(req, None)),
    };
    let name = pod_name(req, Some(&pod));
    if pod
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        pod.metadata.namespace = req.namespace.as_deref().map(str::to_owned);
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    if !state.view.is_synced() {
        return failed(
            "cache_not_synced",
            "watch caches have not synced yet".into(),
            &name,
        );
    }
    let vpas = state.view.vpas(&namespace);
    let candidates = vpas
        .iter()
        .map(|v| v.vpa.as_ref())
        .filter(|v| policy::admission_applies(v));
    let (vpa, recommendation) = match vpa_for_pod(&pod, candidates, state.view.as_ref()) {
        Ok(Some(vpa)) => {
            let entry = vpas
                .iter()
                .find(|v| std::ptr::eq(v.vpa.as_ref(), vpa))
                .expect("the matched VPA is one of the candidates");
            (vpa, &entry.recommendation)
        }
        Ok(None) => {
            debug!(%namespace, pod = %name, "No VPA controls this pod");
            state.metrics.pod_admitted(false);
            return (AdmissionResponse::allow(), Status::Skipped);
        }
        Err(e) => return failed(e.metric_label(), e.to_string(), &name),
    };
    let limits = state.view.limits(&namespace);
    let options = PatchOptions {
        native_sidecars: state.gates.native_sidecar,
        boost: BoostConfig {
            enabled: state.gates.cpu_startup_boost,
            max_allowed_millis: state.max_allowed_cpu_boost,
        },
    };
    let patch = match recommendation {
        Ok(recs) => {
            pod_patch_parsed(&pod, vpa, recs.as_deref(), &limits, options).map_err(PatchError::from)
        }
        Err(e) => Err(PatchError::from(e.clone())),
    };
    match patch {
        Ok(patch) => {
            let vpa_name = vpa.metadata.name.as_deref().unwrap_or_default();
            debug!(%namespace, pod = %name, vpa = %vpa_name, changed = patch.resources_changed, "Patching pod");
            state.metrics.pod_admitted(patch.resources_changed);
            let status = if patch.resources_changed {
                Status::Applied
            } else {
                Status::Skipped
            };
            (AdmissionResponse::patched(patch.operations), status)
        }
        Err(e) => failed(e.metric_label(), e.to_string(), &name),
    }
}

fn admit_vpa(state: &AppState, req: &AdmissionRequest) -> (AdmissionResponse, Status) {
    let parse = |v: Option<&RawValue>| {
        v.as_ref()
            .map(|raw| {
                // Through a Value, so that a bad field is reported with its path.
                let value: serde_json::Value =
                    serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
                vpa_common::api::from_json_value::<VerticalPodAutoscaler>(value)
                    .map_err(|e| e.to_string())
            })
            .transpose()
    };
    let vpa = match parse(req.object) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return (
                AdmissionResponse::invalid("AdmissionReview carries no object"),
                Status::Error,
            );
        }
        Err(e) => return (AdmissionResponse::invalid(e), Status::Skipped),
    };
    let old = parse(req.old_object).ok().flatten();
    if let Err(message) = validation::validate(&vpa, state.gates, old.as_ref()) {
        return (AdmissionResponse::invalid(message), Status::Skipped);
    }
    let namespace = vpa
        .metadata
        .namespace
        .clone()
        .or_else(|| req.namespace.as_deref().map(str::to_owned))
        .unwrap_or_default();
    let hpas = state.view.hpas(&namespace);
    let replicas = state.view.replicas(&namespace, &target_key(&vpa));
    let ctx = validation::Context {
        old: old.as_ref(),
        hpas: &hpas,
        target_replicas: replicas,
    };
    let mut resp = AdmissionResponse::patched(validation::defaulting_patch(&vpa));
    resp.warnings = validation::warnings(&vpa, &ctx);
    (resp, Status::Skipped)
}
