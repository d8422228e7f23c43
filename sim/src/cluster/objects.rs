//! Small readers and builders over Kubernetes objects as JSON (pure): owner references, pod
//! readiness and phase, template hashes, pods stamped from templates.

use serde_json::{Value, json};

/// `metadata.<field>` as a string, or "".
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The uid of the object's controlling owner, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
}

/// Objects of `all` whose controller is `owner`.
pub fn owned_by<'a>(owner: &Value, all: &'a [Value]) -> Vec<&'a Value> {
    let uid = meta(owner, "uid");
    all.iter()
        .filter(|o| {
            controller_uid(o) == Some(uid) && meta(o, "namespace") == meta(owner, "namespace")
        })
        .collect()
}

/// A controller ownerReference pointing at `owner`.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta(owner, "name"),
        "uid": meta(owner, "uid"), "controller": true, "blockOwnerDeletion": true,
    })
}

/// `status.phase`, or "Pending".
pub fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending")
}

/// Whether the pod has finished (Succeeded or Failed).
pub fn is_terminal(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the pod is being deleted.
pub fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Whether the pod counts towards its controller: neither finished nor being deleted.
pub fn is_active(pod: &Value) -> bool {
    !is_terminal(pod) && !is_terminating(pod)
}

/// Whether the condition `kind` is True.
pub fn condition_true(obj: &Value, kind: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .is_some_and(|c| c["status"] == "True")
}

/// Whether the pod is Ready.
pub fn is_ready(pod: &Value) -> bool {
    is_active(pod) && condition_true(pod, "Ready")
}

/// An integer field, or `default`.
pub fn int_at(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A short, stable hash of a pod template in kube-controller-manager's alphabet (no vowels), used
/// as the `pod-template-hash` label and the ReplicaSet name suffix.
pub fn template_hash(template: &Value) -> String {
    // FNV-1a over the canonical JSON (serde_json sorts object keys).
    let text = serde_json::to_string(template).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let mut out = String::new();
    while out.len() < 10 {
        out.push(SAFE[(h % SAFE.len() as u32) as usize] as char);
        h /= SAFE.len() as u32;
        if h == 0 {
            break;
        }
    }
    out
}

/// A random 5-character suffix, as `generateName` produces.
pub fn random_suffix() -> String {
    (0..5)
        .map(|_| SAFE[fastrand::usize(..SAFE.len())] as char)
        .collect()
}

/// A pod stamped from `template`, owned by `owner`, with extra labels merged in.
pub fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &Value,
) -> Value {
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    meta["name"] = json!(name);
    meta["namespace"] = json!(self::meta(owner, "namespace"));
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    if let Some(extra) = extra_labels.as_object() {
        for (k, v) in extra {
            meta["labels"][k] = v.clone();
        }
    }
    meta["ownerReferences"] = json!([controller_ref(owner)]);
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_is_stable_and_changes_with_the_template() {
        let a = json!({"spec": {"containers": [{"name": "c", "image": "x:1"}]}});
        let b = json!({"spec": {"containers": [{"name": "c", "image": "x:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(template_hash(&a).bytes().all(|c| SAFE.contains(&c)));
    }

    #[test]
    fn pods_from_templates_carry_labels_and_a_controller_reference() {
        let owner = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "ns", "uid": "u1"}});
        let template = json!({"metadata": {"labels": {"app": "a"}, "annotations": {"x": "y"}}, "spec": {"containers": []}});
        let pod = pod_from_template(
            &owner,
            &template,
            "rs-abcde",
            &json!({"pod-template-hash": "h"}),
        );
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "a", "pod-template-hash": "h"})
        );
        assert_eq!(pod["metadata"]["annotations"]["x"], "y");
        assert_eq!(controller_uid(&pod), Some("u1"));
        assert_eq!(meta(&pod, "namespace"), "ns");
    }
}
