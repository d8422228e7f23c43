//! OpenAPI v3 documents as kubectl reads them: `/openapi/v3` lists one document per
//! group-version; each declares, per operation, `x-kubernetes-group-version-kind` and the
//! `fieldValidation` parameter on `patch` (which switches kubectl to server-side validation),
//! plus the component schemas (built-in ones from k8s-openapi, CRD ones from their CRDs, the
//! latter marked with their GVK so `kubectl explain` finds them). Pure.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};

use crate::resource::{Registry, ResourceInfo, Schema};
use crate::schema::{REF_PREFIX, builtin_defs};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The `/openapi/v3/...` path of a group-version (`api/v1`, `apis/apps/v1`).
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable hash of a document, for `?hash=` in the index.
pub fn hash(doc: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: each group-version path with its document's URL.
pub fn index(entries: &[(String, String)]) -> Value {
    let paths: Map<String, Value> = entries
        .iter()
        .map(|(p, h)| {
            (
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={h}")}),
            )
        })
        .collect();
    json!({"paths": paths})
}

/// The component name of a CRD kind, as kube-apiserver names it (`io.k8s.autoscaling.v1.VerticalPodAutoscaler`).
pub fn crd_component_name(r: &ResourceInfo) -> String {
    let mut parts: Vec<&str> = r.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), r.version, r.kind)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
            {
                out.push(r.to_string());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The built-in definitions reachable from `roots`.
fn closure(roots: Vec<String>) -> Map<String, Value> {
    let defs = builtin_defs();
    let mut seen = BTreeSet::new();
    let mut todo = roots;
    let mut out = Map::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(d) = defs.get(&name) {
            collect_refs(d, &mut todo);
            out.insert(name, d.clone());
        }
    }
    out
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn op(
    r: &ResourceInfo,
    action: &str,
    kind: (&str, &str, &str),
    schema_ref: &str,
    patch: bool,
) -> Value {
    let (group, version, k) = kind;
    let body_schema = json!({"$ref": format!("{REF_PREFIX}{schema_ref}")});
    let mut o = json!({
        "operationId": format!("{action}{}", r.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": k},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": body_schema}}}},
    });
    let mut params = vec![param("dryRun"), param("fieldManager")];
    if matches!(action, "post" | "put" | "patch") {
        params.push(param("fieldValidation"));
        let mut content = Map::new();
        if patch {
            content.insert(
                "application/json-patch+json".into(),
                json!({"schema": {"type": "object"}}),
            );
            content.insert(
                "application/merge-patch+json".into(),
                json!({"schema": {"type": "object"}}),
            );
            if matches!(r.schema, Schema::Builtin(_)) {
                content.insert(
                    "application/strategic-merge-patch+json".into(),
                    json!({"schema": {"type": "object"}}),
                );
            }
            content.insert(
                "application/apply-patch+yaml".into(),
                json!({"schema": {"type": "object"}}),
            );
            params.push(param("force"));
        } else {
            content.insert("application/json".into(), json!({"schema": body_schema}));
        }
        o["requestBody"] = json!({"content": content, "required": true});
    }
    o["parameters"] = Value::Array(params);
    o
}

/// The document of one group-version, if it serves any schema'd kind.
pub fn gv_doc(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    let mut roots = vec![OBJECT_META.to_string()];
    let mut crd_schemas = Map::new();
    let mut builtin_kinds = Vec::new();
    for r in reg.resources(group, version) {
        let schema_ref = match &r.schema {
            Schema::Builtin(name) => {
                roots.push(name.to_string());
                builtin_kinds.push((name.to_string(), r.kind.clone()));
                name.to_string()
            }
            Schema::Crd(s) => {
                let name = crd_component_name(&r);
                let mut s = (**s).clone();
                s["properties"]["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."});
                s["properties"]["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."});
                s["properties"]["metadata"] = json!({"allOf": [{"$ref": format!("{REF_PREFIX}{OBJECT_META}")}], "description": "Standard object's metadata."});
                s["x-kubernetes-group-version-kind"] =
                    json!([{"group": group, "version": version, "kind": r.kind}]);
                crd_schemas.insert(name.clone(), s);
                name
            }
            Schema::None => continue,
        };
        let base = format!("/{}", gv_path(group, version));
        let coll = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let gvk = (group, version, r.kind.as_str());
        paths.insert(coll.clone(), json!({"get": op(&r, "list", gvk, &schema_ref, false), "post": op(&r, "post", gvk, &schema_ref, false)}));
        let item = |action: &str, patch: bool| op(&r, action, gvk, &schema_ref, patch);
        paths.insert(
            format!("{coll}/{{name}}"),
            json!({"get": item("get", false), "put": item("put", false), "patch": item("patch", true), "delete": item("delete", false)}),
        );
        for sub in &r.subresources {
            if sub.name == "status" {
                let s = |action: &str, patch: bool| op(&r, action, gvk, &schema_ref, patch);
                paths.insert(format!("{coll}/{{name}}/status"), json!({"get": s("get", false), "put": s("put", false), "patch": s("patch", true)}));
            }
        }
    }
    if paths.is_empty() {
        return None;
    }
    let mut schemas = closure(roots);
    // Marked with their GVK, as kube-apiserver does, so `kubectl explain` finds built-in kinds.
    for (name, kind) in builtin_kinds {
        if let Some(s) = schemas.get_mut(&name) {
            s["x-kubernetes-group-version-kind"] =
                json!([{"group": group, "version": version, "kind": kind}]);
        }
    }
    schemas.extend(crd_schemas);
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_document_declares_gvk_and_field_validation_on_patch() {
        let doc = gv_doc(&Registry::builtin(), "apps", "v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_some()
        );
        assert!(
            doc["components"]["schemas"]
                .get("io.k8s.api.core.v1.PodSpec")
                .is_some()
        );
        assert_eq!(
            doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
    }
}
