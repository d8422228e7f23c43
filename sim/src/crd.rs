//! CustomResourceDefinitions: what a CRD object makes servable (one `ResourceInfo` per served
//! version, with its schema, subresources and printer columns) and the status the real server
//! gives an accepted CRD. Pure.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resource::{ALL_VERBS, PrinterColumn, ResourceInfo, SCALE, STATUS, ScalePaths, Schema};

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
                .map(|cols| {
                    cols.iter()
                        .map(|c| PrinterColumn {
                            name: s(&c["name"]),
                            type_: s(&c["type"]),
                            format: s(&c["format"]),
                            description: s(&c["description"]),
                            priority: c["priority"].as_i64().unwrap_or(0),
                            json_path: s(&c["jsonPath"]),
                        })
                        .collect()
                })
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
                scale_paths: v
                    .pointer("/subresources/scale")
                    .and_then(ScalePaths::from_crd),
            }
        })
        .collect();
    out.sort_by_key(|r| r.version != storage);
    out
}

/// The status of an accepted, established CRD.
pub fn accepted_status(crd: &Value, now: &str) -> Value {
    let versions: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    let cond = |t: &str, reason: &str, msg: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": msg});
    json!({
        "acceptedNames": crd["spec"]["names"],
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
