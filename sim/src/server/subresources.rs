//! Subresources (status, scale, resize, eviction with PodDisruptionBudgets, binding, log,
//! ServiceAccount tokens) and the review kinds (access reviews, self-subject reviews, token
//! reviews) that are answered, not stored. Edge.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, Target, json_response, object_bytes, patch, value_response};
use crate::api::{Shared, ns_of};
use crate::auth::{self, Attributes, UserInfo};
use crate::error::{ApiError, ApiResult, Cause};
use crate::resource::{GroupResource, ResourceInfo, scale_of};
use crate::selector::LabelSelector;
use crate::store::{DeleteOptions, StoredObject};

fn get_obj(s: &Shared, info: &ResourceInfo, t: &Target) -> ApiResult<Arc<StoredObject>> {
    s.store
        .get(&info.gr(), ns_of(info, &t.namespace), &t.name)
        .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, &t.name))
}

fn success(code: u16) -> Response {
    value_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}),
    )
}

/// Handles `<resource>/<name>/<subresource>`.
pub(super) async fn handle(
    s: &Arc<Shared>,
    req: &Req,
    info: &ResourceInfo,
    t: &Target,
) -> ApiResult<Response> {
    let opts = req.write_options();
    match (t.sub.as_str(), &req.method) {
        ("status" | "resize", &Method::GET) => Ok(json_response(
            StatusCode::OK,
            object_bytes(info, &*get_obj(s, info, t)?),
        )),
        ("scale", &Method::GET) => Ok(value_response(
            StatusCode::OK,
            &scale_of(info, &get_obj(s, info, t)?.value),
        )),
        ("status" | "resize", &Method::PUT) => {
            let body = req.decode()?;
            let (o, _) = s
                .update(&req.user, info, &t.namespace, &t.name, &t.sub, body, &opts)
                .await?;
            Ok(json_response(StatusCode::OK, object_bytes(info, &o)))
        }
        ("scale", &Method::PUT) => {
            let body = req.decode()?;
            let patch_body = serde_json::to_vec(&json!({"spec": {"replicas": body.pointer("/spec/replicas")}, "metadata": {"resourceVersion": body.pointer("/metadata/resourceVersion")}})).unwrap_or_default();
            let (o, _, _) = s
                .patch(
                    &req.user,
                    info,
                    &t.namespace,
                    &t.name,
                    "scale",
                    crate::patch::PatchType::Merge,
                    &patch_body,
                    &opts,
                )
                .await?;
            Ok(value_response(StatusCode::OK, &scale_of(info, &o.value)))
        }
        ("status" | "resize" | "scale", &Method::PATCH) => patch(s, req, info, t, opts).await,
        ("eviction", &Method::POST) => evict(s, info, t, &req.decode()?),
        ("binding", &Method::POST) => bind(s, info, t, &req.decode()?),
        ("log", &Method::GET) => {
            let pod = get_obj(s, info, t)?;
            let first = pod
                .value
                .pointer("/spec/containers/0/name")
                .and_then(Value::as_str);
            let container = req.q("container").or(first).unwrap_or_default();
            let source = s.logs.read().unwrap_or_else(|e| e.into_inner()).clone();
            let text = source
                .and_then(|f| f(&t.namespace, &t.name, container))
                .unwrap_or_default();
            Ok(Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(axum::body::Body::from(text))
                .expect("valid response"))
        }
        ("token", &Method::POST) => {
            get_obj(s, info, t)?;
            let token = s.tokens.for_service_account(&t.namespace, &t.name);
            let exp = (s.store.now_time() + chrono::Duration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let body: Value = req.decode().unwrap_or(json!({}));
            Ok(value_response(
                StatusCode::CREATED,
                &json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": {"name": t.name, "namespace": t.namespace},
                    "spec": body.get("spec").cloned().unwrap_or(json!({})), "status": {"token": token, "expirationTimestamp": exp}}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn pod_ready(p: &Value) -> bool {
    match p
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
    {
        Some(c) => c["status"] == "True",
        None => p.pointer("/status/phase") == Some(&json!("Running")),
    }
}

/// An int-or-percent of `total`, rounding up like the disruption controller.
fn scaled(v: &Value, total: i64) -> i64 {
    match v {
        Value::String(s) if s.ends_with('%') => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            (pct * total + 99) / 100
        }
        Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_i64().unwrap_or(0),
    }
}

fn evict(s: &Shared, info: &ResourceInfo, t: &Target, body: &Value) -> ApiResult<Response> {
    let pod = get_obj(s, info, t)?;
    let pods_gr = info.gr();
    let pdbs = s
        .store
        .list(
            &GroupResource::new("policy", "poddisruptionbudgets"),
            Some(&t.namespace),
            None,
            0,
            |_| true,
        )
        .items;
    let labels = pod.value.pointer("/metadata/labels");
    let terminal = matches!(
        pod.value.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    for pdb in pdbs
        .iter()
        .filter(|p| LabelSelector::from_object(&p.value["spec"]["selector"]).matches(labels))
    {
        if terminal || !pod_ready(&pod.value) {
            break;
        }
        let selector = LabelSelector::from_object(&pdb.value["spec"]["selector"]);
        let covered = s
            .store
            .list(&pods_gr, Some(&t.namespace), None, 0, |p| {
                selector.matches_object(&p.value)
            })
            .items;
        let expected = covered.len() as i64;
        let healthy = covered.iter().filter(|p| pod_ready(&p.value)).count() as i64;
        let desired = match (
            pdb.value["spec"].get("minAvailable"),
            pdb.value["spec"].get("maxUnavailable"),
        ) {
            (Some(min), _) => scaled(min, expected),
            (None, Some(max)) => expected - scaled(max, expected),
            _ => expected,
        };
        if healthy - desired <= 0 {
            let mut e = ApiError::too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                0,
            );
            e.retry_after = None;
            e.causes = vec![Cause::new(
                "DisruptionBudget",
                "",
                format!(
                    "The disruption budget {} needs {desired} healthy pods and has {healthy} currently",
                    pdb.name()
                ),
            )];
            return Err(e);
        }
    }
    let mut opts = DeleteOptions::default();
    if let Some(uid) = body
        .pointer("/deleteOptions/preconditions/uid")
        .and_then(Value::as_str)
    {
        opts.uid = Some(uid.to_string());
    }
    opts.dry_run = body
        .pointer("/deleteOptions/dryRun")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|x| x == "All"));
    s.store.delete(&pods_gr, &t.namespace, &t.name, &opts)?;
    Ok(success(201))
}

fn bind(s: &Shared, info: &ResourceInfo, t: &Target, body: &Value) -> ApiResult<Response> {
    let pod = get_obj(s, info, t)?;
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(cur) = pod
        .value
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        return Err(ApiError::conflict(
            "",
            "pods",
            &t.name,
            &format!("pod {} is already assigned to node \"{cur}\"", t.name),
        ));
    }
    let mut v = pod.value.clone();
    v["spec"]["nodeName"] = json!(node);
    let cond =
        json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": s.store.now()});
    match v
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        Some(cs) => {
            cs.retain(|c| c["type"] != "PodScheduled");
            cs.push(cond);
        }
        None => v["status"]["conditions"] = json!([cond]),
    }
    s.store
        .update(&info.gr(), &t.namespace, &t.name, v, Some(pod.rv), false)?;
    Ok(success(201))
}

/// Answers the review kinds (created, never stored).
pub(super) fn review(s: &Shared, req: &Req, info: &ResourceInfo) -> ApiResult<Response> {
    let mut body = req.decode()?;
    let spec = body["spec"].clone();
    let status = match info.plural.as_str() {
        "selfsubjectaccessreviews" | "subjectaccessreviews" => {
            let user = if info.plural == "subjectaccessreviews" {
                let groups: Vec<String> = spec["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect();
                UserInfo::from_name(spec["user"].as_str().unwrap_or_default(), &groups)
            } else {
                req.user.clone()
            };
            let attrs = if let Some(r) = spec.get("resourceAttributes") {
                let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                Attributes {
                    verb: f("verb"),
                    group: f("group"),
                    resource: f("resource"),
                    subresource: f("subresource"),
                    namespace: f("namespace"),
                    name: f("name"),
                    path: String::new(),
                }
            } else {
                let n = &spec["nonResourceAttributes"];
                Attributes {
                    verb: n["verb"].as_str().unwrap_or_default().into(),
                    path: n["path"].as_str().unwrap_or_default().into(),
                    ..Default::default()
                }
            };
            let allowed = auth::authorize(&s.store, &user, &attrs);
            json!({"allowed": allowed, "reason": if allowed { "allowed by RBAC" } else { "" }})
        }
        "selfsubjectrulesreviews" => {
            let ns = spec["namespace"].as_str().unwrap_or_default();
            let rules = auth::rules_for(&s.store, &req.user, ns);
            let (res, nonres): (Vec<Value>, Vec<Value>) = rules
                .into_iter()
                .partition(|r| r.get("nonResourceURLs").is_none());
            json!({"resourceRules": res, "nonResourceRules": nonres, "incomplete": false})
        }
        "selfsubjectreviews" => {
            json!({"userInfo": {"username": req.user.name, "groups": req.user.groups}})
        }
        "tokenreviews" => match s.tokens.lookup(spec["token"].as_str().unwrap_or_default()) {
            Some(u) => {
                json!({"authenticated": true, "user": {"username": u.name, "groups": u.groups}})
            }
            None => json!({"authenticated": false}),
        },
        _ => return Err(ApiError::method_not_allowed()),
    };
    body["status"] = status;
    body["apiVersion"] = json!(info.api_version());
    body["kind"] = json!(info.kind);
    Ok(value_response(StatusCode::CREATED, &body))
}
