//! The CRD manifests of both VPA kinds, generated from the Rust types (pure).
//!
//! `deploy/crds/vpa-v1-crd.yaml` is this module's output; `cargo run -p vpa-common --bin
//! vpa-crdgen` rewrites it and a test fails when the committed file differs.
//!
//! The derive output is adjusted to match upstream's CRDs: optional fields are not `nullable`
//! (only the checkpoint timestamps, which upstream writes as `null`), the checkpoint has no status
//! subresource and does not require `spec`, and both carry upstream's unserved `v1beta2` entry.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, CustomResourceValidation,
    JSONSchemaProps,
};
use kube::CustomResourceExt;
use serde_json::Value;

use crate::api::{VerticalPodAutoscaler, VerticalPodAutoscalerCheckpoint};

/// Repository-relative path of the generated CRD file.
pub const CRD_PATH: &str = "deploy/crds/vpa-v1-crd.yaml";

/// Every repository-relative path the generator writes: the kustomize CRDs and the Helm chart's.
pub const CRD_PATHS: [&str; 2] = [CRD_PATH, "deploy/helm/vpa-rs/crds/vpa-v1-crd.yaml"];

/// Both CRDs, checkpoint first as upstream orders them.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut checkpoint = VerticalPodAutoscalerCheckpoint::crd();
    for version in &mut checkpoint.spec.versions {
        version.subresources = None;
    }
    let mut crds = vec![
        tidy(checkpoint, true),
        tidy(VerticalPodAutoscaler::crd(), false),
    ];
    for crd in &mut crds {
        crd.spec
            .versions
            .push(retired_v1beta2(&crd.spec.versions[0]));
    }
    crds
}

/// The deprecation warning upstream's CRDs give `v1beta2`.
pub const V1BETA2_WARNING: &str = "autoscaling.k8s.io/v1beta2 API is deprecated";

/// Upstream's `v1beta2` entry: never served, never stored, kept because clusters that ran VPA
/// before v1 still list `v1beta2` in `status.storedVersions`, and the API server rejects a CRD
/// that drops a version listed there. Being unserved, its schema validates nothing, so it is the
/// smallest structural one rather than a second copy of v1's tens of kilobytes.
fn retired_v1beta2(v1: &CustomResourceDefinitionVersion) -> CustomResourceDefinitionVersion {
    CustomResourceDefinitionVersion {
        name: "v1beta2".into(),
        served: false,
        storage: false,
        deprecated: Some(true),
        deprecation_warning: Some(V1BETA2_WARNING.into()),
        schema: Some(CustomResourceValidation {
            open_api_v3_schema: Some(JSONSchemaProps {
                type_: Some("object".into()),
                x_kubernetes_preserve_unknown_fields: Some(true),
                ..Default::default()
            }),
        }),
        subresources: v1.subresources.clone(),
        ..Default::default()
    }
}

/// Removes derive artefacts from every version's schema.
fn tidy(mut crd: CustomResourceDefinition, is_checkpoint: bool) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let mut value = serde_json::to_value(&*schema).expect("schema serializes");
        if let Some(root) = value.as_object_mut() {
            root.remove("title");
            if is_checkpoint {
                root.remove("required");
            }
        }
        strip_nullable(&mut value, is_checkpoint);
        *schema = serde_json::from_value(value).expect("schema round-trips");
    }
    crd
}

/// Drops `nullable: true` everywhere except on timestamps when `keep_times` is set, restores the
/// int-or-string branches that the derive's structural rewrite empties, and writes whole
/// minimums as integers.
fn strip_nullable(value: &mut Value, keep_times: bool) {
    match value {
        Value::Object(map) => {
            let is_time = map.get("format").and_then(Value::as_str) == Some("date-time");
            if !(keep_times && is_time) {
                map.remove("nullable");
            }
            if map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
                map.insert(
                    "anyOf".into(),
                    serde_json::json!([{"type": "integer"}, {"type": "string"}]),
                );
            }
            if let Some(min) = map
                .get("minimum")
                .and_then(Value::as_f64)
                .filter(|m| m.fract() == 0.0)
            {
                map.insert("minimum".into(), Value::from(min as i64));
            }
            map.values_mut().for_each(|v| strip_nullable(v, keep_times));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip_nullable(v, keep_times)),
        _ => {}
    }
}

/// The multi-document YAML written to [`CRD_PATH`].
pub fn crd_yaml() -> String {
    let mut out =
        String::from("# Generated by `cargo run -p vpa-common --bin vpa-crdgen`; do not edit.\n");
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd).expect("CRDs serialize to YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_crd_yaml_matches_the_types() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/vpa-v1-crd.yaml"
        );
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == crd_yaml(),
            "{path} is stale: run `cargo run -p vpa-common --bin vpa-crdgen` and commit the result"
        );
    }

    #[test]
    fn vpa_crd_is_as_strict_as_upstream() {
        let crd = serde_json::to_value(VerticalPodAutoscaler::crd()).unwrap();
        let v1 = &crd["spec"]["versions"][0];
        assert_eq!(v1["subresources"]["status"], serde_json::json!({}));
        let spec = &v1["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["required"], serde_json::json!(["targetRef"]));
        assert_eq!(
            spec["properties"]["targetRef"]["required"],
            serde_json::json!(["kind", "name"])
        );
        let modes = &spec["properties"]["updatePolicy"]["properties"]["updateMode"]["enum"];
        assert_eq!(
            modes,
            &serde_json::json!([
                "Off",
                "Initial",
                "Recreate",
                "InPlaceOrRecreate",
                "InPlace",
                "Auto"
            ])
        );
        let policy = &spec["properties"]["resourcePolicy"]["properties"]["containerPolicies"]["items"]
            ["properties"];
        assert_eq!(
            policy["controlledResources"]["items"]["enum"],
            serde_json::json!(["cpu", "memory"])
        );
        let columns: Vec<_> = v1["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            columns,
            [
                "Mode",
                "CPU",
                "Mem",
                "Provided",
                "Age",
                "MinReplicas",
                "OOMSeconds"
            ]
        );
    }

    #[test]
    fn both_crds_keep_upstreams_unserved_v1beta2() {
        for crd in crds() {
            let names: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, ["v1", "v1beta2"], "{:?}", crd.metadata.name);
            let (v1, beta) = (&crd.spec.versions[0], &crd.spec.versions[1]);
            assert!(v1.served && v1.storage);
            assert!(!beta.served && !beta.storage);
            assert_eq!(beta.deprecated, Some(true));
            assert_eq!(beta.deprecation_warning.as_deref(), Some(V1BETA2_WARNING));
            assert_eq!(beta.subresources, v1.subresources);
        }
    }

    #[test]
    fn generated_crds_have_no_nullable_optionals() {
        let yaml = crd_yaml();
        let checkpoint_part = yaml.split("name: verticalpodautoscalers.").next().unwrap();
        assert_eq!(
            yaml.matches("nullable: true").count(),
            checkpoint_part.matches("nullable: true").count()
        );
        assert!(checkpoint_part.contains("x-kubernetes-preserve-unknown-fields: true"));
        assert!(!checkpoint_part.contains("subresources"));
    }
}
