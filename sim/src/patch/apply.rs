//! The server-side-apply subset (pure): each manager's fields recorded in `managedFields`, the
//! applied configuration merged like a strategic merge patch, and what a manager stopped applying
//! removed.

use serde_json::{Map, Value, json};

use super::strategic::{merge_key, smp_value, strip_directives};

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
