//! Patch semantics: JSON patch, JSON merge patch, strategic merge patch (lists of known fields
//! merge by key, `$patch`/`$deleteFromPrimitiveList`/`$setElementOrder`/`$retainKeys` directives)
//! and a server-side-apply subset that tracks each applier's fields in `managedFields`. Pure.

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The patch formats of a PATCH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
    /// Server-side apply.
    Apply,
}

impl PatchType {
    /// The type named by a Content-Type header.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        match ct {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// The merge key of a list field in strategic merge patch, given the field and its parent's name.
/// `Some("")` marks a list of scalars merged as a set; `None` a list that is replaced.
pub fn merge_key(field: &str, parent: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "webhooks"
        | "resourceClaims"
        | "resizePolicy" => "name",
        "ports"
            if parent == "containers"
                || parent == "initContainers"
                || parent == "ephemeralContainers" =>
        {
            "containerPort"
        }
        "ports" => "port",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" | "addresses" => "type",
        "hostAliases" => "ip",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        "finalizers" => "",
        _ => return None,
    })
}

/// Applies an RFC 6902 JSON patch to `base`, which is left as it is.
pub fn json_patch(base: &Value, patch: &[u8]) -> Result<Value, ApiError> {
    let p: json_patch::Patch = serde_json::from_slice(patch)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut out = clone_kept(base, &p);
    json_patch::patch(&mut out, &p).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(out)
}

/// A copy of `base` for `patch` to work on, without copying the top-level fields the patch
/// replaces wholesale and never reads (an `add` or `replace` of `/status`, say, as the
/// recommender writes checkpoints): those hold `null` in the copy, which the operation then
/// overwrites, so the result is the same as patching a full copy. Copying a checkpoint's old
/// histograms only to drop them was most of a checkpoint write's cost in the sim.
fn clone_kept(base: &Value, patch: &json_patch::Patch) -> Value {
    use json_patch::PatchOperation as Op;
    let Value::Object(fields) = base else {
        return base.clone();
    };
    let top = |p: &json_patch::jsonptr::Pointer| p.first().map(|t| t.decoded().into_owned());
    let mut replaced = std::collections::HashSet::new();
    let mut read = std::collections::HashSet::new();
    for op in &patch.0 {
        let (path, from) = match op {
            Op::Move(m) => (op.path(), Some(&*m.from)),
            Op::Copy(c) => (op.path(), Some(&*c.from)),
            op => (op.path(), None),
        };
        if path.is_root() || from.is_some_and(|f| f.is_root()) {
            return base.clone();
        }
        let wholesale = matches!(op, Op::Add(_) | Op::Replace(_)) && path.count() == 1;
        let target = if wholesale { &mut replaced } else { &mut read };
        target.extend(top(path));
        read.extend(from.and_then(top));
    }
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| {
                let skip = replaced.contains(k) && !read.contains(k);
                (k.clone(), if skip { Value::Null } else { v.clone() })
            })
            .collect(),
    )
}

/// Applies an RFC 7386 merge patch to `base`, which is left as it is. Builds the result from
/// the parts of `base` the patch keeps, so fields it replaces or removes are never copied.
pub fn merge_patch(base: &Value, patch: &Value) -> Value {
    let Value::Object(changes) = patch else {
        return patch.clone();
    };
    let empty = Map::new();
    let fields = base.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in fields {
        match changes.get(k) {
            None => {
                out.insert(k.clone(), v.clone());
            }
            Some(Value::Null) => {}
            Some(change) => {
                out.insert(k.clone(), merge_patch(v, change));
            }
        }
    }
    for (k, change) in changes {
        if !change.is_null() && !fields.contains_key(k) {
            out.insert(k.clone(), merge_patch(&Value::Null, change));
        }
    }
    Value::Object(out)
}

/// Applies a strategic merge patch.
pub fn strategic_merge(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    smp_value(&mut out, patch, "");
    out
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        v => v.clone(),
    }
}

fn smp_value(target: &mut Value, patch: &Value, field: &str) {
    let Some(pm) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = json!({});
    }
    let tm = target.as_object_mut().expect("object");
    if let Some(keys) = pm.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        tm.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in pm {
        if let Some(list_field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(del)) = (
                tm.get_mut(list_field).and_then(Value::as_array_mut),
                v.as_array(),
            ) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                tm.remove(k);
            }
            Value::Object(_) => smp_value(tm.entry(k.clone()).or_insert(Value::Null), v, k),
            Value::Array(items) => {
                let merged = match (merge_key(k, field), tm.get(k).and_then(Value::as_array)) {
                    (Some(key), Some(cur)) => merge_list(cur, items, key, k),
                    _ => strip_directives(v)
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|i| !is_delete(i))
                        .collect(),
                };
                tm.insert(k.clone(), Value::Array(merged));
            }
            _ => {
                tm.insert(k.clone(), v.clone());
            }
        }
    }
}

fn is_delete(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn merge_list(cur: &[Value], patch: &[Value], key: &str, field: &str) -> Vec<Value> {
    let mut out = cur.to_vec();
    for p in patch {
        if key.is_empty() {
            if !out.contains(p) {
                out.push(p.clone());
            }
            continue;
        }
        let Some(kv) = p.get(key) else {
            out.push(strip_directives(p));
            continue;
        };
        let pos = out.iter().position(|c| c.get(key) == Some(kv));
        match (pos, is_delete(p)) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => smp_value(&mut out[i], p, field),
            (None, false) => out.push(strip_directives(p)),
        }
    }
    out
}

/// The `fieldsV1` set of an applied configuration: `f:` for map keys, `k:` for keyed list items.
pub fn fields_of(v: &Value, field: &str, parent: &str) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, sub) in m {
                if field.is_empty() && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if field.is_empty() && k == "metadata" {
                    let mut meta = Map::new();
                    for (mk, mv) in sub.as_object().into_iter().flatten() {
                        if matches!(
                            mk.as_str(),
                            "labels" | "annotations" | "finalizers" | "ownerReferences"
                        ) {
                            meta.insert(format!("f:{mk}"), fields_of(mv, mk, "metadata"));
                        }
                    }
                    if !meta.is_empty() {
                        out.insert("f:metadata".into(), Value::Object(meta));
                    }
                    continue;
                }
                out.insert(format!("f:{k}"), fields_of(sub, k, field));
            }
            Value::Object(out)
        }
        Value::Array(items) => match merge_key(field, parent) {
            Some(key) if !key.is_empty() => {
                let mut out = Map::new();
                for item in items {
                    if let Some(kv) = item.get(key) {
                        let mut sub = fields_of(item, field, parent);
                        if let Some(m) = sub.as_object_mut() {
                            m.insert(".".into(), json!({}));
                        }
                        out.insert(format!("k:{}", json!({ key: kv })), sub);
                    }
                }
                Value::Object(out)
            }
            Some(_) => Value::Object(
                items
                    .iter()
                    .map(|i| (format!("v:{i}"), json!({})))
                    .collect(),
            ),
            None => json!({}),
        },
        _ => json!({}),
    }
}

/// Removes from `target` what the `old` field set holds and the `new` one does not.
fn remove_dropped(target: &mut Value, old: &Value, new: &Value) {
    let Some(old) = old.as_object() else { return };
    match target {
        Value::Array(list) => {
            for (k, sub_old) in old.iter().filter(|(k, _)| k.starts_with("k:")) {
                let Ok(Value::Object(kv)) = serde_json::from_str::<Value>(&k[2..]) else {
                    continue;
                };
                let matches = |item: &Value| kv.iter().all(|(kk, vv)| item.get(kk) == Some(vv));
                match new.get(k.as_str()) {
                    None => list.retain(|item| !matches(item)),
                    Some(sub_new) => {
                        if let Some(item) = list.iter_mut().find(|i| matches(i)) {
                            remove_dropped(item, sub_old, sub_new);
                        }
                    }
                }
            }
        }
        Value::Object(tm) => {
            for (fk, sub_old) in old {
                let Some(name) = fk.strip_prefix("f:") else {
                    continue;
                };
                match new.get(fk) {
                    None => {
                        tm.remove(name);
                    }
                    Some(sub_new) => {
                        if let Some(child) = tm.get_mut(name) {
                            remove_dropped(child, sub_old, sub_new);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Server-side apply of `applied` by `manager` onto `current` (or a new object): merges like a
/// strategic merge patch, removes what this manager applied before and no longer does, and records
/// the manager's fields in `metadata.managedFields`. `subresource` is `status` for status applies.
pub fn apply(
    current: Option<&Value>,
    applied: &Value,
    manager: &str,
    subresource: &str,
    now: &str,
) -> Value {
    let new_fields = fields_of(applied, "", "");
    let mut out = match current {
        Some(cur) => {
            let mut out = cur.clone();
            let managed = cur
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(old) = managed.iter().find(|m| {
                m["manager"] == manager
                    && m["operation"] == "Apply"
                    && m.get("subresource")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        == subresource
            }) {
                remove_dropped(&mut out, &old["fieldsV1"], &new_fields);
            }
            smp_value(&mut out, applied, "");
            out
        }
        None => strip_directives(applied),
    };
    let mut managed: Vec<Value> = out
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    managed.retain(|m| {
        !(m["manager"] == manager
            && m["operation"] == "Apply"
            && m.get("subresource")
                .and_then(Value::as_str)
                .unwrap_or_default()
                == subresource)
    });
    let mut entry = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": applied.get("apiVersion").cloned().unwrap_or(Value::Null),
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": new_fields,
    });
    if !subresource.is_empty() {
        entry["subresource"] = json!(subresource);
    }
    managed.push(entry);
    if !out.get("metadata").is_some_and(Value::is_object) {
        out["metadata"] = json!({});
    }
    out["metadata"]["managedFields"] = Value::Array(managed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Value {
        json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "b", "image": "b:1"}
        ]}}}, "metadata": {"finalizers": ["f1"]}})
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}});
        let out = strategic_merge(&deployment(), &patch);
        let cs = out
            .pointer("/spec/template/spec/containers")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0]["image"], "a:1");
        assert_eq!(cs[1]["image"], "b:2");
    }

    #[test]
    fn strategic_merge_directives() {
        let patch = json!({
            "metadata": {"finalizers": ["f2"]},
            "spec": {"replicas": null, "template": {"spec": {
                "containers": [{"name": "a", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "b"}]
            }}}
        });
        let out = strategic_merge(&deployment(), &patch);
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(
            out.pointer("/spec/template/spec/containers")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["f1", "f2"]));
        let del = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}});
        assert_eq!(
            strategic_merge(&deployment(), &del)["metadata"]["finalizers"],
            json!([])
        );
    }

    #[test]
    fn strategic_merge_nested_lists_merge_by_their_keys() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "protocol": "TCP"}]}
        ]}}}});
        let out = strategic_merge(&deployment(), &patch);
        let a = &out.pointer("/spec/template/spec/containers/0").unwrap();
        assert_eq!(a["env"].as_array().unwrap().len(), 2);
        assert_eq!(
            a["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
    }

    #[test]
    fn apply_records_fields_and_removes_dropped_ones() {
        let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1", "y": "2"}});
        let created = apply(None, &first, "me", "", "t");
        assert_eq!(
            created["metadata"]["managedFields"][0]["fieldsV1"]["f:data"],
            json!({"f:x": {}, "f:y": {}})
        );
        let mut current = created.clone();
        current["data"]["z"] = json!("kept: another manager's");
        let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "2"}});
        let out = apply(Some(&current), &second, "me", "", "t");
        assert_eq!(
            out["data"],
            json!({"x": "2", "z": "kept: another manager's"})
        );
        assert_eq!(out["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(
            out["metadata"]["managedFields"].as_array().unwrap().len(),
            1
        );
    }

    #[test]
    fn apply_removes_dropped_keyed_list_items() {
        let first = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let created = apply(None, &first, "me", "", "t");
        let second = json!({"spec": {"containers": [{"name": "a", "image": "z"}]}});
        let out = apply(Some(&created), &second, "me", "", "t");
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "image": "z"}])
        );
    }

    #[test]
    fn json_and_merge_patches() {
        let out = json_patch(
            &json!({"a": 1}),
            br#"[{"op": "replace", "path": "/a", "value": 2}]"#,
        )
        .unwrap();
        assert_eq!(out, json!({"a": 2}));
        assert_eq!(
            json_patch(&json!({}), br#"[{"op": "test", "path": "/a", "value": 2}]"#)
                .unwrap_err()
                .code,
            422
        );
        assert_eq!(
            merge_patch(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"b": null}})),
            json!({"a": {"c": 2}})
        );
    }

    /// The patches applied without copying replaced fields give what the json-patch crate gives
    /// on a full copy, errors included.
    #[test]
    fn patches_match_the_reference_implementation() {
        let base = json!({"metadata": {"name": "c", "labels": {"a": "1"}},
            "status": {"cpuHistogram": {"bucketWeights": {"1": 10000, "4": 12}}, "version": "v3"},
            "spec": {"containerName": "app", "list": [1, 2]}});
        let json_patches: [&[u8]; 8] = [
            br#"[{"op": "add", "path": "/status", "value": {"version": "v3"}}]"#,
            br#"[{"op": "replace", "path": "/status", "value": 1}, {"op": "add", "path": "/spec/x", "value": 2}]"#,
            br#"[{"op": "replace", "path": "/missing", "value": 1}]"#,
            br#"[{"op": "add", "path": "/status", "value": {}}, {"op": "copy", "from": "/status", "path": "/spec/s"}]"#,
            br#"[{"op": "copy", "from": "/status/version", "path": "/v"}, {"op": "replace", "path": "/status", "value": null}]"#,
            br#"[{"op": "add", "path": "/spec", "value": 1}, {"op": "test", "path": "/spec", "value": 1}]"#,
            br#"[{"op": "remove", "path": "/spec/list/0"}, {"op": "add", "path": "/spec/list/-", "value": 3}]"#,
            br#"[{"op": "replace", "path": "", "value": {"a": 1}}]"#,
        ];
        for p in json_patches {
            let ops: json_patch::Patch = serde_json::from_slice(p).unwrap();
            let mut reference = base.clone();
            let expected = json_patch::patch(&mut reference, &ops).map(|_| reference);
            let ours = json_patch(&base, p);
            match (expected, ours) {
                (Ok(want), Ok(got)) => assert_eq!(got, want, "{}", String::from_utf8_lossy(p)),
                (Err(_), Err(e)) => assert_eq!(e.code, 422),
                (want, got) => panic!("{}: {want:?} vs {got:?}", String::from_utf8_lossy(p)),
            }
        }
        let merge_patches = [
            json!({"status": {"cpuHistogram": null, "new": {"a": null, "b": 1}}}),
            json!({"status": null, "spec": {"list": [3]}}),
            json!({"metadata": {"labels": {"a": null, "b": "2"}}, "other": {"x": {"y": null}}}),
            json!([1, 2]),
            json!({"spec": "scalar"}),
        ];
        for p in &merge_patches {
            let mut reference = base.clone();
            json_patch::merge(&mut reference, p);
            assert_eq!(merge_patch(&base, p), reference, "{p}");
        }
        assert_eq!(
            merge_patch(&json!(3), &json!({"a": {"b": null}})),
            json!({"a": {}})
        );
    }
}
