//! Our corpus of VPA manifests parses and re-serialises without loss, and bad values are rejected
//! with an error naming the field.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use vpa_common::api::{self, UpdateMode, VerticalPodAutoscaler, VerticalPodAutoscalerCheckpoint};

fn documents(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap())
        .collect()
}

/// Drops explicit nulls, which mean the same as an absent field.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Normalises numbers so `3.0` and `3` compare equal (YAML vs f64 output).
fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        other => other,
    }
}

fn assert_lossless<T: DeserializeOwned + Serialize>(doc: Value) {
    let typed: T = api::from_json_value(doc.clone()).unwrap_or_else(|e| panic!("{e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(numbers_as_f64(back), numbers_as_f64(without_nulls(doc)));
}

#[test]
fn every_vpa_field_round_trips_without_loss() {
    for doc in documents("every-field.yaml")
        .into_iter()
        .chain(documents("each-mode.yaml"))
    {
        assert_lossless::<VerticalPodAutoscaler>(doc);
    }
}

#[test]
fn upstream_checkpoints_round_trip_without_loss() {
    for doc in documents("checkpoint-upstream.yaml") {
        assert_lossless::<VerticalPodAutoscalerCheckpoint>(doc);
    }
}

#[test]
fn fields_decode_to_their_meaning() {
    let vpa: VerticalPodAutoscaler =
        api::from_json_value(documents("every-field.yaml").remove(0)).unwrap();
    let policy = vpa.spec.update_policy.unwrap();
    assert_eq!(policy.update_mode, Some(UpdateMode::InPlaceOrRecreate));
    assert_eq!(policy.min_replicas, Some(3));
    let containers = vpa
        .spec
        .resource_policy
        .unwrap()
        .container_policies
        .unwrap();
    assert_eq!(containers[2].mode, Some(api::ContainerScalingMode::Off));
    let cp: VerticalPodAutoscalerCheckpoint =
        api::from_json_value(documents("checkpoint-upstream.yaml").remove(0)).unwrap();
    let cpu = cp.status.unwrap().cpu_histogram.unwrap();
    assert_eq!(cpu.bucket_weights.unwrap()[&40], 3127);
}

#[test]
fn missing_update_mode_means_recreate() {
    let vpa: VerticalPodAutoscaler =
        api::from_json_value(documents("each-mode.yaml").pop().unwrap()).unwrap();
    let mode = vpa.spec.update_policy.and_then(|p| p.update_mode);
    assert_eq!(UpdateMode::or_default(mode), UpdateMode::Recreate);
}

#[test]
fn bad_enum_values_name_the_field() {
    let cases = [
        (
            "updatePolicy:\n    updateMode: Sometimes",
            "spec.updatePolicy.updateMode",
            "Sometimes",
        ),
        (
            "resourcePolicy:\n    containerPolicies:\n    - containerName: a\n      controlledValues: LimitsOnly",
            "spec.resourcePolicy.containerPolicies[0].controlledValues",
            "LimitsOnly",
        ),
        (
            "resourcePolicy:\n    containerPolicies:\n    - containerName: a\n      mode: Never",
            "spec.resourcePolicy.containerPolicies[0].mode",
            "Never",
        ),
        (
            "updatePolicy:\n    evictionRequirements:\n    - resources: [cpu]\n      changeRequirement: Sideways",
            "spec.updatePolicy.evictionRequirements[0].changeRequirement",
            "Sideways",
        ),
        (
            "updatePolicy:\n    minReplicas: two",
            "spec.updatePolicy.minReplicas",
            "two",
        ),
    ];
    for (fragment, path, value) in cases {
        let yaml = format!(
            "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata:\n  name: bad\nspec:\n  targetRef: {{kind: Deployment, name: x}}\n  {fragment}\n"
        );
        let err = api::from_yaml_str::<VerticalPodAutoscaler>(&yaml)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(path),
            "error {err:?} should start with {path}"
        );
        assert!(err.contains(value), "error {err:?} should quote {value}");
    }
}

#[test]
fn missing_target_ref_is_reported() {
    let yaml = "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata:\n  name: bad\nspec:\n  updatePolicy: {updateMode: \"Off\"}\n";
    let err = api::from_yaml_str::<VerticalPodAutoscaler>(yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("targetRef"), "{err}");
}

#[test]
fn hamster_example_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hamster.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut saw_vpa = false;
    for doc in text.split("\n---\n") {
        let value: Value = serde_saphyr::from_str(doc).unwrap();
        match value["kind"].as_str() {
            Some("VerticalPodAutoscaler") => {
                let vpa: VerticalPodAutoscaler = api::from_json_value(value).unwrap();
                assert_eq!(vpa.spec.target_ref.name, "hamster");
                saw_vpa = true;
            }
            Some("Deployment") => {
                let d: k8s_openapi::api::apps::v1::Deployment =
                    serde_json::from_value(value).unwrap();
                let spec = d.spec.unwrap();
                assert_eq!(spec.replicas, Some(2));
                let c = &spec.template.spec.unwrap().containers[0];
                let req = c.resources.as_ref().unwrap().requests.as_ref().unwrap();
                assert_eq!(req["cpu"].0, "100m");
                assert_eq!(req["memory"].0, "50Mi");
            }
            other => panic!("unexpected kind {other:?}"),
        }
    }
    assert!(saw_vpa);
}
