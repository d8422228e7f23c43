//! Creating and updating: server-owned metadata (uid, timestamps, generation), generated names,
//! live-namespace checks, preconditions, and the last finalizer finishing a pending delete.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{EventType, Propagation, Store, StoredObject, gc, meta_str, names, new_uid, now_str};
use crate::error::{ApiError, ApiResult};
use crate::resource::GroupResource;

/// Whether `a` and `b` agree on what `generation` tracks: every top-level field except
/// metadata, apiVersion and kind (and status, unless `with_status`). Compares in place: cloning
/// both objects per write cost more than the rest of an update for large objects.
fn same_spec(a: &Value, b: &Value, with_status: bool) -> bool {
    let tracked = |k: &String| {
        !matches!(k.as_str(), "metadata" | "apiVersion" | "kind") && (with_status || k != "status")
    };
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let count =
                |m: &serde_json::Map<String, Value>| m.keys().filter(|k| tracked(k)).count();
            count(a) == count(b)
                && a.iter()
                    .filter(|(k, _)| tracked(k))
                    .all(|(k, v)| b.get(k) == Some(v))
        }
        _ => a == b,
    }
}

impl Store {
    /// Creates an object. Its metadata gets uid, creationTimestamp, generation and resourceVersion;
    /// `generateName` makes a name. `namespaced` objects need an existing, live namespace.
    pub fn create(
        &self,
        gr: &GroupResource,
        namespaced: bool,
        mut obj: Value,
        dry_run: bool,
    ) -> ApiResult<Arc<StoredObject>> {
        let now = self.now();
        let mut inner = self.write();
        let ns = if namespaced {
            meta_str(&obj, "namespace").to_string()
        } else {
            String::new()
        };
        if namespaced {
            let nsgr = GroupResource::new("", "namespaces");
            match inner.get(&nsgr, &(String::new(), ns.clone())) {
                None => return Err(ApiError::not_found("", "namespaces", &ns)),
                Some(n) if n.value.pointer("/metadata/deletionTimestamp").is_some() => {
                    let mut e = ApiError::new(
                        403,
                        "Forbidden",
                        format!(
                            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            gr.resource,
                            meta_str(&obj, "name")
                        ),
                    );
                    e.causes = vec![crate::error::Cause::new(
                        "NamespaceTerminating",
                        "metadata.namespace",
                        &ns,
                    )];
                    return Err(e);
                }
                _ => {}
            }
        }
        let mut name = meta_str(&obj, "name").to_string();
        if name.is_empty() {
            let prefix = meta_str(&obj, "generateName").to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &gr.group,
                    &gr.resource,
                    "",
                    vec![crate::error::Cause::new(
                        "FieldValueRequired",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    )],
                ));
            }
            loop {
                let suffix: String = (0..5)
                    .map(|_| {
                        fastrand::choice(b"bcdfghjklmnpqrstvwxz2456789")
                            .map(|c| *c as char)
                            .unwrap_or('x')
                    })
                    .collect();
                name = format!("{prefix}{suffix}");
                if inner.get(gr, &(ns.clone(), name.clone())).is_none() {
                    break;
                }
            }
        }
        if let Some(message) = names::name_error(&gr.group, &name) {
            let kind = obj["kind"].as_str().unwrap_or(&gr.resource).to_string();
            return Err(ApiError::invalid(
                &gr.group,
                &kind,
                &name,
                vec![crate::error::Cause::new(
                    "FieldValueInvalid",
                    "metadata.name",
                    &message,
                )],
            ));
        }
        if inner.get(gr, &(ns.clone(), name.clone())).is_some() {
            return Err(ApiError::already_exists(&gr.group, &gr.resource, &name));
        }
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        meta.insert("name".into(), json!(name));
        if namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("creationTimestamp".into(), json!(now));
        meta.insert("generation".into(), json!(1));
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        if dry_run {
            return Ok(StoredObject::new(obj, inner.rv));
        }
        Ok(inner.put(gr, obj, EventType::Added))
    }

    /// Replaces an object. Fails with 409 when `expected_rv` is stale; keeps the server-owned
    /// metadata; bumps generation when anything but metadata and status changed; finishes a
    /// pending delete when the last finalizer goes. A no-op update writes nothing.
    pub fn update(
        &self,
        gr: &GroupResource,
        namespace: &str,
        name: &str,
        mut obj: Value,
        expected_rv: Option<u64>,
        dry_run: bool,
    ) -> ApiResult<Arc<StoredObject>> {
        let mut inner = self.write();
        let key = (namespace.to_string(), name.to_string());
        let cur = inner
            .get(gr, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&gr.group, &gr.resource, name))?;
        if expected_rv.is_some_and(|rv| rv != cur.rv) {
            return Err(ApiError::stale(&gr.group, &gr.resource, name));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let no_meta = serde_json::Map::new();
        let old_meta = cur.value["metadata"].as_object().unwrap_or(&no_meta);
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.insert("resourceVersion".into(), json!(cur.rv.to_string()));
        let generation = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let with_status = inner.status_in_generation.contains(gr);
        if !same_spec(&cur.value, &obj, with_status) {
            obj["metadata"]["generation"] = json!(generation + 1);
        }
        if obj == cur.value {
            return Ok(cur);
        }
        let finalizers_empty = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
        if dry_run {
            return Ok(StoredObject::new(obj, cur.rv));
        }
        if old_meta.contains_key("deletionTimestamp") && finalizers_empty {
            inner.put(gr, obj, EventType::Modified);
            let gone = inner.remove(gr, &key).expect("object just written");
            gc::collect(
                &mut inner,
                &now_str(&self.clock),
                gr,
                &gone,
                Propagation::Background,
            );
            return Ok(gone);
        }
        Ok(inner.put(gr, obj, EventType::Modified))
    }

    /// Sets the kinds whose status changes bump generation (those without a status subresource
    /// among CRDs; built-in kinds keep status out).
    pub fn set_status_in_generation(&self, kinds: HashSet<GroupResource>) {
        self.write().status_in_generation = kinds;
    }
}
