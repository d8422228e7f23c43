//! The subresource rules of a write (pure): the main resource keeps the stored status, `status`
//! changes only the status, `resize` only the containers' resources and resize policies.

use serde_json::Value;

use super::Shared;
use crate::resource::ResourceInfo;

impl Shared {
    /// Applies the subresource rules to a new version of an object.
    pub(super) fn merge_for_subresource(
        info: &ResourceInfo,
        sub: &str,
        old: &Value,
        new: Value,
    ) -> Value {
        match sub {
            "" if info.has_subresource("status") => {
                let mut new = new;
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().map(|m| m.remove("status"));
                    }
                }
                new
            }
            "status" => {
                // The old object without its status, plus the new status (moved, not copied).
                let mut new = new;
                let status = new.as_object_mut().and_then(|m| m.remove("status"));
                let mut out: serde_json::Map<String, Value> = old
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| k.as_str() != "status")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(status) = status.filter(|s| !s.is_null()) {
                    out.insert("status".into(), status);
                }
                Value::Object(out)
            }
            "resize" => {
                let mut out = old.clone();
                let new_containers = new
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(cs) = out
                    .pointer_mut("/spec/containers")
                    .and_then(Value::as_array_mut)
                {
                    for c in cs.iter_mut() {
                        if let Some(n) = new_containers.iter().find(|n| n["name"] == c["name"]) {
                            for field in ["resources", "resizePolicy"] {
                                match n.get(field) {
                                    Some(v) => c[field] = v.clone(),
                                    None => {
                                        c.as_object_mut().map(|m| m.remove(field));
                                    }
                                }
                            }
                        }
                    }
                }
                out
            }
            _ => new,
        }
    }
}
