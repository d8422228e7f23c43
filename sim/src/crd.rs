//! CustomResourceDefinitions: what a CRD object makes servable (one `ResourceInfo` per served
//! version, with its schema, subresources and printer columns) and the status the real server
//! gives an accepted CRD. Pure.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::Cause;
use crate::resource::{ALL_VERBS, ResourceInfo, SCALE, STATUS, ScaleInfo, Schema};
use crate::table::PrinterColumn;

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The resources a CRD serves, one per served version (storage version first).
pub fn resource_infos(crd: &Value) -> Vec<ResourceInfo> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let group = s(&spec["group"]);
    let plural = s(&names["plural"]);
    let kind = s(&names["kind"]);
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage = versions
        .iter()
        .find(|v| v["storage"] == true)
        .map(|v| s(&v["name"]))
        .unwrap_or_default();
    let mut out: Vec<ResourceInfo> = versions
        .iter()
        .filter(|v| v["served"] != false)
        .map(|v| {
            let mut subresources = Vec::new();
            if v.pointer("/subresources/status").is_some() {
                subresources.push(STATUS);
            }
            if v.pointer("/subresources/scale").is_some() {
                subresources.push(SCALE);
            }
            let columns: Vec<PrinterColumn> = v["additionalPrinterColumns"]
                .as_array()
                .map(|cols| cols.iter().map(PrinterColumn::from_crd).collect())
                .unwrap_or_default();
            ResourceInfo {
                group: group.clone(),
                version: s(&v["name"]),
                plural: plural.clone(),
                singular: names["singular"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| kind.to_lowercase()),
                kind: kind.clone(),
                namespaced: spec["scope"] != "Cluster",
                short_names: strings(names.get("shortNames")),
                categories: strings(names.get("categories")),
                verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
                subresources,
                columns,
                schema: match v.pointer("/schema/openAPIV3Schema") {
                    Some(schema) => Schema::Crd(Arc::new(schema.clone())),
                    None => Schema::None,
                },
                stored: true,
                storage_version: storage.clone(),
                scale: v.pointer("/subresources/scale").map(ScaleInfo::from_crd),
                defaults: None,
                proto: None,
            }
        })
        .collect();
    out.sort_by_key(|r| r.version != storage);
    out
}

/// The status of an accepted, established CRD. `storedVersions` only grows: the real server
/// appends each new storage version, and only a storage migration (a status write) removes one.
pub fn accepted_status(crd: &Value, now: &str) -> Value {
    let mut stored = strings(crd.pointer("/status/storedVersions"));
    if let Some(storage) = storage_version(crd)
        && !stored.contains(&storage)
    {
        stored.push(storage);
    }
    let cond = |t: &str, reason: &str, msg: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": msg});
    json!({
        "acceptedNames": crd["spec"]["names"],
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}

fn storage_version(crd: &Value) -> Option<String> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["storage"] == true)
        .and_then(|v| v["name"].as_str())
        .map(String::from)
}

/// The real server's check of a CRD update: every version in the stored object's
/// `status.storedVersions` must still be listed in `spec.versions`, or objects persisted in it
/// could no longer be read. One cause per offending version.
pub fn stored_version_problems(old: &Value, new: &Value) -> Vec<Cause> {
    let listed: Vec<&str> = new["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    strings(old.pointer("/status/storedVersions"))
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !listed.contains(&v.as_str()))
        .map(|(i, v)| Cause {
            reason: "FieldValueInvalid".into(),
            message: format!(
                "Invalid value: \"{v}\": missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"
            ),
            field: format!("status.storedVersions[{i}]"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd_with(versions: &[(&str, bool)], stored: &[&str]) -> Value {
        let versions: Vec<Value> = versions
            .iter()
            .map(|(name, storage)| json!({"name": name, "served": true, "storage": storage}))
            .collect();
        json!({"spec": {"versions": versions}, "status": {"storedVersions": stored}})
    }

    #[test]
    fn stored_versions_only_grow() {
        let moved = crd_with(&[("v1beta2", false), ("v1", true)], &["v1beta2"]);
        assert_eq!(
            accepted_status(&moved, "t")["storedVersions"],
            json!(["v1beta2", "v1"])
        );
        let fresh = json!({"spec": {"versions": [{"name": "v1", "storage": true}]}});
        assert_eq!(
            accepted_status(&fresh, "t")["storedVersions"],
            json!(["v1"])
        );
    }

    #[test]
    fn an_update_may_not_drop_a_stored_version() {
        let old = crd_with(&[("v1beta2", false), ("v1", true)], &["v1beta2", "v1"]);
        let without = crd_with(&[("v1", true)], &[]);
        let causes = stored_version_problems(&old, &without);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "status.storedVersions[0]");
        assert!(
            causes[0]
                .message
                .starts_with("Invalid value: \"v1beta2\": missing from spec.versions; v1beta2 was previously a storage version"),
            "{}",
            causes[0].message
        );
        let kept = crd_with(&[("v1", true), ("v1beta2", false)], &[]);
        assert!(stored_version_problems(&old, &kept).is_empty());
    }

    #[test]
    fn project_crds_become_resources_with_printer_columns() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/vpa-v1-crd.yaml"
        ))
        .unwrap();
        let docs: Vec<Value> = text
            .split("\n---")
            .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
            .filter(|d| d.is_object())
            .collect();
        let vpa = docs
            .iter()
            .find(|d| d["spec"]["names"]["kind"] == "VerticalPodAutoscaler")
            .unwrap();
        let infos = resource_infos(vpa);
        assert_eq!(infos[0].plural, "verticalpodautoscalers");
        assert!(infos[0].short_names.contains(&"vpa".to_string()));
        assert!(infos[0].has_subresource("status"));
        let names: Vec<&str> = infos[0].columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[..5], ["Mode", "CPU", "Mem", "Provided", "Age"]);
        assert!(matches!(infos[0].schema, Schema::Crd(_)));
        assert_eq!(
            accepted_status(vpa, "t")["conditions"][1]["type"],
            "Established"
        );
    }
}
