//! Tests of the admission webhook decisions (`webhooks`).

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::webhooks::*;
use crate::auth::UserInfo;
use crate::hooks::AdmissionRequest;

fn request(op: &'static str, resource: &str, sub: &str, labels: Value) -> AdmissionRequest {
    AdmissionRequest {
        operation: op,
        group: String::new(),
        version: "v1".into(),
        resource: resource.into(),
        kind: "Pod".into(),
        subresource: sub.into(),
        namespace: "default".into(),
        object: json!({"metadata": {"name": "p", "labels": labels}, "spec": {}}),
        old_object: None,
        user: UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
        },
        dry_run: false,
    }
}

fn hook(rules: Value, extra: Value) -> Value {
    let mut h = json!({"name": "pods.example.com", "rules": rules, "clientConfig": {"url": "https://127.0.0.1:9443/mutate"}});
    for (k, v) in extra.as_object().unwrap() {
        h[k] = v.clone();
    }
    h
}

#[test]
fn rules_match_operation_group_version_resource_subresource_and_scope() {
    let pods_create = json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]);
    let h = hook(pods_create, json!({}));
    assert!(webhook_matches(
        &h,
        &request("CREATE", "pods", "", json!({})),
        true,
        None
    ));
    assert!(!webhook_matches(
        &h,
        &request("UPDATE", "pods", "", json!({})),
        true,
        None
    ));
    assert!(!webhook_matches(
        &h,
        &request("CREATE", "pods", "status", json!({})),
        true,
        None
    ));
    assert!(!webhook_matches(
        &h,
        &request("CREATE", "services", "", json!({})),
        true,
        None
    ));
    let subs = hook(
        json!([{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["pods/*"]}]),
        json!({}),
    );
    assert!(webhook_matches(
        &subs,
        &request("UPDATE", "pods", "resize", json!({})),
        true,
        None
    ));
    assert!(!webhook_matches(
        &subs,
        &request("UPDATE", "pods", "", json!({})),
        true,
        None
    ));
    let cluster_only = hook(
        json!([{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Cluster"}]),
        json!({}),
    );
    assert!(!webhook_matches(
        &cluster_only,
        &request("CREATE", "pods", "", json!({})),
        true,
        None
    ));
}

#[test]
fn namespace_and_object_selectors_filter_requests() {
    let all = json!([{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}]);
    let h = hook(
        all.clone(),
        json!({"namespaceSelector": {"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}}),
    );
    assert!(webhook_matches(
        &h,
        &request("CREATE", "pods", "", json!({})),
        true,
        Some(&json!({"team": "a"}))
    ));
    assert!(!webhook_matches(
        &h,
        &request("CREATE", "pods", "", json!({})),
        true,
        Some(&json!({"skip": "yes"}))
    ));
    let h = hook(
        all,
        json!({"objectSelector": {"matchLabels": {"app": "web"}}}),
    );
    assert!(webhook_matches(
        &h,
        &request("CREATE", "pods", "", json!({"app": "web"})),
        true,
        None
    ));
    assert!(!webhook_matches(
        &h,
        &request("CREATE", "pods", "", json!({"app": "db"})),
        true,
        None
    ));
}

#[test]
fn services_resolve_through_the_resolver_and_policies_default_like_kubernetes() {
    let services = |ns: &str, name: &str, port: u16| match (ns, name, port) {
        ("kube-system", "vpa-webhook", 443) => Ok("127.0.0.1:8000".parse().unwrap()),
        _ => Err(format!("no endpoints available for service \"{name}\"")),
    };
    let h = json!({"clientConfig": {"service": {"namespace": "kube-system", "name": "vpa-webhook", "path": "/mutate"}, "caBundle": "Y2E="}});
    let e = endpoint(&h, services).unwrap();
    assert_eq!(e.url, "https://vpa-webhook.kube-system.svc:443/mutate");
    assert_eq!(
        e.resolve,
        Some((
            "vpa-webhook.kube-system.svc".into(),
            "127.0.0.1:8000".parse().unwrap()
        ))
    );
    assert_eq!(e.ca_pem, b"ca");
    assert_eq!((e.timeout, e.fail_closed), (Duration::from_secs(10), true));
    let other = json!({"clientConfig": {"service": {"namespace": "x", "name": "y"}}});
    assert_eq!(
        endpoint(&other, services),
        Err(EndpointError::Unresolved(
            "no endpoints available for service \"y\"".into()
        ))
    );
}

#[test]
fn reviews_carry_what_kube_apiserver_sends() {
    let mut req = request("UPDATE", "pods", "resize", json!({}));
    req.old_object = Some(json!({"metadata": {"name": "p"}}));
    let r = review(&req, "u-1");
    assert_eq!(r["apiVersion"], "admission.k8s.io/v1");
    let q = &r["request"];
    assert_eq!(q["uid"], "u-1");
    assert_eq!(
        q["kind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(
        q["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(
        (
            q["subResource"].clone(),
            q["name"].clone(),
            q["namespace"].clone()
        ),
        (json!("resize"), json!("p"), json!("default"))
    );
    assert_eq!(q["userInfo"]["username"], "alice");
    assert_eq!(q["options"]["kind"], "UpdateOptions");
    assert_eq!(q["oldObject"]["metadata"]["name"], "p");
    assert_eq!(q["dryRun"], false);
}

#[test]
fn verdicts_apply_base64_or_byte_array_patches_and_report_denials() {
    let patch = br#"[{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]"#;
    let b64 = base64::engine::general_purpose::STANDARD.encode(patch);
    let answer = |patch: Value| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": patch, "warnings": ["careful"]}})
    };
    let obj = json!({"metadata": {"name": "p"}});
    for p in [json!(b64), json!(patch.to_vec())] {
        let Verdict::Allowed(out, warnings) = verdict("h", "u", obj.clone(), &answer(p), true)
        else {
            panic!()
        };
        assert_eq!(out["metadata"]["labels"]["x"], "y");
        assert_eq!(warnings, ["careful"]);
    }
    assert!(matches!(
        verdict("h", "other", obj.clone(), &answer(json!(b64)), true),
        Verdict::Invalid(_)
    ));
    assert!(matches!(
        verdict("h", "u", obj.clone(), &answer(json!(b64)), false),
        Verdict::Invalid(_)
    ));
    let denied = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": "u", "allowed": false, "status": {"code": 403, "message": "no"}}});
    assert_eq!(
        verdict("h", "u", obj, &denied, true),
        Verdict::Denied(403, "admission webhook \"h\" denied the request: no".into())
    );
}

#[test]
fn equivalent_match_policy_calls_a_webhook_for_another_version_of_the_resource() {
    let mut req = request("CREATE", "deployments", "", json!({}));
    req.group = "apps".into();
    req.kind = "Deployment".into();
    req.object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    let rules = json!([{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1beta1"], "resources": ["deployments"]}]);
    let equivalent = hook(rules.clone(), json!({}));
    assert_eq!(
        webhook_invocation(&equivalent, &req, true, None).as_deref(),
        Some("v1beta1"),
        "Equivalent is the default"
    );
    let exact = hook(rules, json!({"matchPolicy": "Exact"}));
    assert_eq!(webhook_invocation(&exact, &req, true, None), None);
    let other_group = hook(
        json!([{"operations": ["CREATE"], "apiGroups": ["extensions"], "apiVersions": ["v1beta1"], "resources": ["deployments"]}]),
        json!({}),
    );
    assert!(!webhook_matches(&other_group, &req, true, None));
    let both = hook(
        json!([{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1beta1", "v1"], "resources": ["deployments"]}]),
        json!({}),
    );
    assert_eq!(
        webhook_invocation(&both, &req, true, None).as_deref(),
        Some("v1"),
        "an exact match wins"
    );

    let r = review_as(&req, "u-2", "v1beta1");
    assert_eq!(
        r["request"]["kind"],
        json!({"group": "apps", "version": "v1beta1", "kind": "Deployment"})
    );
    assert_eq!(
        r["request"]["requestKind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(r["request"]["resource"]["version"], "v1beta1");
    assert_eq!(r["request"]["requestResource"]["version"], "v1");
    assert_eq!(r["request"]["object"]["apiVersion"], "apps/v1beta1");
}
