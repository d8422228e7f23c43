//! Strategic merge patch (pure): lists of known fields merge by key, scalar lists as sets, and
//! the `$patch`, `$deleteFromPrimitiveList`, `$setElementOrder` and `$retainKeys` directives.

use serde_json::{Value, json};

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

/// Applies a strategic merge patch.
pub fn strategic_merge(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    smp_value(&mut out, patch, "");
    out
}

pub(super) fn strip_directives(v: &Value) -> Value {
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

pub(super) fn smp_value(target: &mut Value, patch: &Value, field: &str) {
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
