//! Admission webhook decisions as kube-apiserver makes them (pure): which webhooks of a
//! Mutating/ValidatingWebhookConfiguration match a request (rules, scope, namespaceSelector,
//! objectSelector), where to call them (URL or a mapped Service), the AdmissionReview v1 request
//! body, and what the response means (allow, deny, JSONPatch, warnings).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::hooks::AdmissionRequest;
use crate::selector::LabelSelector;

/// Whether `pattern` (a rule entry) covers `value`.
fn covers(list: &Value, value: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == value))
}

/// Whether a `resources` entry covers `resource` with `sub` ("" for the main resource).
fn covers_resource(list: &Value, resource: &str, sub: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|p| {
            let (r, s) = p.split_once('/').unwrap_or((p, ""));
            (r == "*" || r == resource)
                && (s == sub || (s == "*" && !sub.is_empty()) || (r == "*" && s == "*"))
        })
}

/// Whether one rule of a webhook matches.
pub fn rule_matches(rule: &Value, req: &AdmissionRequest, namespaced: bool) -> bool {
    let scope = rule["scope"].as_str().unwrap_or("*");
    let scope_ok = match scope {
        "Cluster" => !namespaced,
        "Namespaced" => namespaced,
        _ => true,
    };
    scope_ok
        && covers(&rule["operations"], req.operation)
        && covers(&rule["apiGroups"], &req.group)
        && covers(&rule["apiVersions"], &req.version)
        && covers_resource(&rule["resources"], &req.resource, &req.subresource)
}

/// Under `matchPolicy: Equivalent`, the version a rule names for the request's group and
/// resource when it does not name the request's own: the same resource in another version of its
/// group (the sim serves one version per resource, so that is the whole equivalence).
pub fn equivalent_version(
    rule: &Value,
    req: &AdmissionRequest,
    namespaced: bool,
) -> Option<String> {
    let mut other = req.clone();
    rule["apiVersions"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter(|v| *v != "*" && *v != req.version)
        .find(|v| {
            other.version = v.to_string();
            rule_matches(rule, &other, namespaced)
        })
        .map(String::from)
}

/// The version `webhook` is called with for `req` (the request's own, or under
/// `matchPolicy: Equivalent`, the default, an equivalent one its rules name), or `None` when it
/// does not apply; `namespace_labels` are the labels of the request's namespace (or of the
/// Namespace object itself when that is what is admitted).
pub fn webhook_invocation(
    webhook: &Value,
    req: &AdmissionRequest,
    namespaced: bool,
    namespace_labels: Option<&Value>,
) -> Option<String> {
    let rules: Vec<&Value> = webhook["rules"].as_array().into_iter().flatten().collect();
    let version = if rules.iter().any(|r| rule_matches(r, req, namespaced)) {
        req.version.clone()
    } else if webhook["matchPolicy"] != "Exact" {
        rules
            .iter()
            .find_map(|r| equivalent_version(r, req, namespaced))?
    } else {
        return None;
    };
    selectors_match(webhook, req, namespaced, namespace_labels).then_some(version)
}

/// Whether `webhook` applies to `req` (see [`webhook_invocation`]); the tests' shorthand.
#[cfg(test)]
pub fn webhook_matches(
    webhook: &Value,
    req: &AdmissionRequest,
    namespaced: bool,
    namespace_labels: Option<&Value>,
) -> bool {
    webhook_invocation(webhook, req, namespaced, namespace_labels).is_some()
}

fn selectors_match(
    webhook: &Value,
    req: &AdmissionRequest,
    namespaced: bool,
    namespace_labels: Option<&Value>,
) -> bool {
    let ns_selector = LabelSelector::from_object(&webhook["namespaceSelector"]);
    let is_namespace = req.group.is_empty() && req.resource == "namespaces";
    if (namespaced || is_namespace) && !ns_selector.is_empty() {
        let labels = if is_namespace {
            req.object.pointer("/metadata/labels")
        } else {
            namespace_labels
        };
        if !ns_selector.matches(labels) {
            return false;
        }
    }
    let obj_selector = LabelSelector::from_object(&webhook["objectSelector"]);
    obj_selector.is_empty()
        || obj_selector.matches(req.object.pointer("/metadata/labels"))
        || req
            .old_object
            .as_ref()
            .is_some_and(|o| obj_selector.matches(o.pointer("/metadata/labels")))
}

/// Where and how to call one webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// The URL as the webhook expects it (`https://<svc>.<ns>.svc:<port>/<path>` for Services).
    pub url: String,
    /// For Services: the host name in `url` and the local address it is mapped to.
    pub resolve: Option<(String, SocketAddr)>,
    /// Trusted CA certificates (PEM), from `caBundle`.
    pub ca_pem: Vec<u8>,
    /// `timeoutSeconds` (default 10).
    pub timeout: Duration,
    /// `failurePolicy: Fail` (the default) rejects the request when the call fails.
    pub fail_closed: bool,
}

/// Why a webhook cannot be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The Service has no backend (no ready endpoint and no `--service` mapping).
    #[error("{0}")]
    Unresolved(String),
    /// Neither `url` nor `service`, or a caBundle that is not base64.
    #[error("invalid clientConfig: {0}")]
    InvalidClientConfig(String),
}

/// Resolves `webhook.clientConfig`; `resolve(namespace, name, port)` gives where a Service port is
/// served (or why it is not).
pub fn endpoint(
    webhook: &Value,
    resolve: impl Fn(&str, &str, u16) -> Result<SocketAddr, String>,
) -> Result<Endpoint, EndpointError> {
    let cc = &webhook["clientConfig"];
    let ca_pem = match cc["caBundle"].as_str() {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| EndpointError::InvalidClientConfig(format!("caBundle: {e}")))?,
        None => Vec::new(),
    };
    let timeout = Duration::from_secs(
        webhook["timeoutSeconds"]
            .as_u64()
            .unwrap_or(10)
            .clamp(1, 30),
    );
    let fail_closed = webhook["failurePolicy"].as_str() != Some("Ignore");
    let (url, resolve) = if let Some(url) = cc["url"].as_str() {
        (url.to_string(), None)
    } else if let Some(svc) = cc.get("service").filter(|s| s.is_object()) {
        let (ns, name) = (
            svc["namespace"].as_str().unwrap_or_default(),
            svc["name"].as_str().unwrap_or_default(),
        );
        let port = svc["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(443);
        let addr = resolve(ns, name, port).map_err(EndpointError::Unresolved)?;
        let host = format!("{name}.{ns}.svc");
        let path = svc["path"].as_str().unwrap_or("/");
        (
            format!("https://{host}:{port}{path}"),
            Some((host, SocketAddr::new(addr.ip(), addr.port()))),
        )
    } else {
        return Err(EndpointError::InvalidClientConfig(
            "neither url nor service".into(),
        ));
    };
    Ok(Endpoint {
        url,
        resolve,
        ca_pem,
        timeout,
        fail_closed,
    })
}

/// The AdmissionReview v1 body kube-apiserver sends for `req`, with request `uid`, in the
/// request's own version (the tests' shorthand for [`review_as`]).
#[cfg(test)]
pub fn review(req: &AdmissionRequest, uid: &str) -> Value {
    review_as(req, uid, &req.version)
}

/// `obj` relabelled as `group`/`version` (the sim's versions of a resource share one schema, so
/// converting is setting `apiVersion`); `Null` stays `Null`.
pub fn as_version(obj: &Value, group: &str, version: &str) -> Value {
    let mut obj = obj.clone();
    if let Some(m) = obj.as_object_mut() {
        m.insert(
            "apiVersion".into(),
            json!(crate::resource::api_version(group, version)),
        );
    }
    obj
}

/// The AdmissionReview v1 body for a webhook called with `version` (an equivalent of the
/// request's under `matchPolicy: Equivalent`): `kind`, `resource` and the objects in that
/// version, `requestKind` and `requestResource` as the client sent them.
pub fn review_as(req: &AdmissionRequest, uid: &str, version: &str) -> Value {
    let request_kind = json!({"group": req.group, "version": req.version, "kind": req.kind});
    let request_resource =
        json!({"group": req.group, "version": req.version, "resource": req.resource});
    let kind = json!({"group": req.group, "version": version, "kind": req.kind});
    let resource = json!({"group": req.group, "version": version, "resource": req.resource});
    let options_kind = if req.operation == "CREATE" {
        "CreateOptions"
    } else {
        "UpdateOptions"
    };
    let mut request = json!({
        "uid": uid, "kind": kind, "resource": resource, "requestKind": request_kind, "requestResource": request_resource,
        "namespace": req.namespace, "operation": req.operation,
        "userInfo": {"username": req.user.name, "groups": req.user.groups},
        "object": as_version(&req.object, &req.group, version),
        "oldObject": req.old_object.as_ref().map(|o| as_version(o, &req.group, version)),
        "dryRun": req.dry_run,
        "options": {"kind": options_kind, "apiVersion": "meta.k8s.io/v1"},
    });
    if !req.subresource.is_empty() {
        request["subResource"] = json!(req.subresource);
        request["requestSubResource"] = json!(req.subresource);
    }
    if let Some(name) = req
        .object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        request["name"] = json!(name);
    }
    if req.namespace.is_empty() {
        request.as_object_mut().map(|m| m.remove("namespace"));
    }
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

/// What a webhook's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Admitted, with the object after the patch (if any) and the webhook's warnings.
    Allowed(Value, Vec<String>),
    /// Denied: HTTP code and message (`admission webhook "<name>" denied the request: ...`).
    Denied(u16, String),
    /// The answer is unusable (treated per failurePolicy).
    Invalid(String),
}

/// Interprets an AdmissionReview response to request `uid` for `object`.
pub fn verdict(name: &str, uid: &str, object: Value, answer: &Value, mutating: bool) -> Verdict {
    let r = &answer["response"];
    if answer["apiVersion"] != "admission.k8s.io/v1" || answer["kind"] != "AdmissionReview" {
        return Verdict::Invalid(format!(
            "expected admission.k8s.io/v1 AdmissionReview, got {}/{}",
            answer["apiVersion"], answer["kind"]
        ));
    }
    if r["uid"] != uid {
        return Verdict::Invalid(format!("expected response.uid={uid:?}, got {}", r["uid"]));
    }
    let warnings: Vec<String> = r["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str().map(String::from))
        .collect();
    if r["allowed"] != true {
        let message = r["status"]["message"].as_str().filter(|m| !m.is_empty());
        let code = r["status"]["code"]
            .as_u64()
            .filter(|c| *c >= 400)
            .unwrap_or(400) as u16;
        let text = match message {
            Some(m) => format!("admission webhook \"{name}\" denied the request: {m}"),
            None => format!("admission webhook \"{name}\" denied the request without explanation"),
        };
        return Verdict::Denied(code, text);
    }
    let patch_bytes = match &r["patch"] {
        Value::Null => return Verdict::Allowed(object, warnings),
        Value::String(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(b) => b,
            Err(e) => return Verdict::Invalid(format!("patch is not base64: {e}")),
        },
        Value::Array(bytes) => bytes
            .iter()
            .map(|b| b.as_u64().unwrap_or(0) as u8)
            .collect(),
        other => return Verdict::Invalid(format!("unexpected patch {other}")),
    };
    if !mutating {
        return Verdict::Invalid("validating webhooks may not return a patch".into());
    }
    if r["patchType"] != "JSONPatch" {
        return Verdict::Invalid(format!("unsupported patchType {}", r["patchType"]));
    }
    let patch: json_patch::Patch = match serde_json::from_slice(&patch_bytes) {
        Ok(p) => p,
        Err(e) => return Verdict::Invalid(format!("patch is not a JSON Patch: {e}")),
    };
    let mut object = object;
    match json_patch::patch(&mut object, &patch) {
        Ok(()) => Verdict::Allowed(object, warnings),
        Err(e) => Verdict::Invalid(format!("patch does not apply: {e}")),
    }
}
