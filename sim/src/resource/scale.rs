//! The autoscaling/v1 scale subresource's semantics (pure): where a scalable kind keeps its
//! replicas and selector ([`ScaleInfo`], part of its `ResourceInfo`), the Scale object read from
//! a stored object, and a Scale's `spec.replicas` written back into one.

use serde_json::{Value, json};

use super::ResourceInfo;

/// How a built-in kind stores the selector its Scale shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorForm {
    /// A LabelSelector object at `spec.selector` (apps/v1 workloads).
    LabelSelector,
    /// A plain label map at `spec.selector` (ReplicationController).
    LabelMap,
}

/// What the scale subresource of a kind reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleInfo {
    /// A built-in workload: `spec.replicas`, `status.replicas` and `spec.selector`.
    Builtin {
        /// What a missing `spec.replicas` reads as.
        default_replicas: i64,
        /// The form of `spec.selector`.
        selector: SelectorForm,
    },
    /// A custom kind: the paths of its CRD's `subresources.scale`.
    Custom(ScalePaths),
}

/// The scale semantics of a kind that lists the subresource without saying more (a CRD without
/// `specReplicasPath`).
static PLAIN: ScaleInfo = ScaleInfo::Builtin {
    default_replicas: 0,
    selector: SelectorForm::LabelSelector,
};

/// Where a custom kind keeps what its scale subresource shows, as JSON pointers (`/spec/replicas`)
/// converted from the CRD's `subresources.scale` JSON paths (`.spec.replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// `specReplicasPath`: read into and written from the Scale's `spec.replicas`.
    pub spec_replicas: String,
    /// `statusReplicasPath`: the Scale's `status.replicas`.
    pub status_replicas: String,
    /// `labelSelectorPath`: a string field holding a serialized label selector (`status.selector`).
    pub label_selector: Option<String>,
}

impl ScalePaths {
    /// From a CRD version's `subresources.scale` object; `None` without `specReplicasPath`.
    pub fn from_crd(scale: &Value) -> Option<Self> {
        let pointer = |key: &str| scale.get(key).and_then(Value::as_str).map(json_pointer);
        Some(ScalePaths {
            spec_replicas: pointer("specReplicasPath")?,
            status_replicas: pointer("statusReplicasPath").unwrap_or_default(),
            label_selector: pointer("labelSelectorPath"),
        })
    }
}

impl ScaleInfo {
    /// A CRD version's `subresources.scale` object: its paths, or the plain semantics without
    /// `specReplicasPath`.
    pub fn from_crd(scale: &Value) -> Self {
        ScalePaths::from_crd(scale).map_or_else(|| PLAIN.clone(), ScaleInfo::Custom)
    }
}

/// A simple JSON path of dotted fields (`.spec.replicas`) as a JSON pointer (`/spec/replicas`).
pub fn json_pointer(path: &str) -> String {
    path.trim()
        .trim_start_matches('.')
        .split('.')
        .filter(|f| !f.is_empty())
        .map(|f| format!("/{}", f.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The autoscaling/v1 Scale of a scalable object: for a custom kind read through its CRD's scale
/// paths (missing replicas read as 0; a selector that is not a string reads as none, as
/// kube-apiserver's), for a built-in one from `spec.replicas`, `status.replicas` and
/// `spec.selector`.
pub fn scale_of(info: &ResourceInfo, obj: &Value) -> Value {
    let m = &obj["metadata"];
    let metadata = json!({"name": m["name"], "namespace": m["namespace"], "uid": m["uid"], "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]});
    let (default_replicas, form) = match info.scale.as_ref().unwrap_or(&PLAIN) {
        ScaleInfo::Custom(paths) => {
            let int = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
            let selector = paths
                .label_selector
                .as_deref()
                .and_then(|p| obj.pointer(p))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return json!({
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": metadata,
                "spec": {"replicas": int(&paths.spec_replicas)},
                "status": {"replicas": int(&paths.status_replicas), "selector": selector},
            });
        }
        ScaleInfo::Builtin {
            default_replicas,
            selector,
        } => (*default_replicas, *selector),
    };
    let selector = obj
        .pointer("/spec/selector")
        .map(|sel| match form {
            SelectorForm::LabelMap => label_selector_string(&json!({ "matchLabels": sel })),
            SelectorForm::LabelSelector => label_selector_string(sel),
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(default_replicas))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
    })
}

/// Writes a Scale's `spec.replicas` back into the object: at the CRD's `specReplicasPath` for a
/// custom kind (creating missing parents), at `spec.replicas` for a built-in one.
pub fn set_scale_replicas(info: &ResourceInfo, obj: &mut Value, replicas: Value) {
    let pointer = match &info.scale {
        Some(ScaleInfo::Custom(p)) => p.spec_replicas.as_str(),
        _ => "/spec/replicas",
    };
    let mut cur = obj;
    for field in pointer.split('/').skip(1) {
        let field = field.replace("~1", "/").replace("~0", "~");
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("made an object above")
            .entry(field)
            .or_insert(Value::Null);
    }
    *cur = replicas;
}

/// A LabelSelector object rendered as a selector string (`a=b,c in (d,e)`), keys in order.
fn label_selector_string(sel: &Value) -> String {
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_scale_paths_become_json_pointers() {
        let paths = ScalePaths::from_crd(&serde_json::json!({"specReplicasPath": ".spec.size",
            "statusReplicasPath": ".status.count", "labelSelectorPath": ".status.sel"}))
        .unwrap();
        assert_eq!(
            (
                paths.spec_replicas.as_str(),
                paths.status_replicas.as_str(),
                paths.label_selector.as_deref()
            ),
            ("/spec/size", "/status/count", Some("/status/sel"))
        );
        assert_eq!(
            ScalePaths::from_crd(&serde_json::json!({"statusReplicasPath": ".status.n"})),
            None
        );
    }
}
