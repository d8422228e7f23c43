//! The pod under review, decoded for what the webhook reads (pure).
//!
//! Matching and patching look at a handful of fields: the metadata's name, generateName,
//! namespace, labels, annotations and ownerReferences, and each container's (and init
//! container's) name, resources and restartPolicy. Decoding only these straight from the request
//! bytes, rather than the whole pod into `k8s_openapi` types through a `serde_json::Value`, is
//! most of the per-request saving measured in BENCHMARKS.md. The result is still a
//! `k8s_openapi` [`Pod`] (with every other field left at its default) so matching and patching
//! keep their types.
//!
//! Fields the webhook reads decode as `k8s_openapi` decodes them (a `null` or missing field is
//! its default; a wrong `apiVersion` or `kind` is an error). Fields it does not read are skipped
//! without being checked.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimPod {
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<SlimMeta>,
    spec: Option<SlimSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    name: Option<String>,
    generate_name: Option<String>,
    namespace: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimSpec {
    containers: Option<Vec<SlimContainer>>,
    init_containers: Option<Vec<SlimContainer>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimContainer {
    name: Option<String>,
    resources: Option<ResourceRequirements>,
    restart_policy: Option<String>,
}

impl From<SlimContainer> for Container {
    fn from(c: SlimContainer) -> Self {
        Container {
            name: c.name.unwrap_or_default(),
            resources: c.resources,
            restart_policy: c.restart_policy,
            ..Default::default()
        }
    }
}

fn containers(list: Vec<SlimContainer>) -> Vec<Container> {
    list.into_iter().map(Container::from).collect()
}

/// Why the pod could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum PodDecodeError {
    /// A field the webhook reads has the wrong shape, or the JSON is broken.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// `apiVersion` or `kind` is present but not `v1` / `Pod`.
    #[error("not a v1 Pod: apiVersion {api_version:?}, kind {kind:?}")]
    NotAPod {
        /// The apiVersion found.
        api_version: Option<String>,
        /// The kind found.
        kind: Option<String>,
    },
}

/// Decodes the pod JSON of an AdmissionRequest, keeping only the fields the webhook reads.
pub fn decode_pod(json: &str) -> Result<Pod, PodDecodeError> {
    let slim: SlimPod = serde_json::from_str(json)?;
    let wrong = |found: &Option<String>, want: &str| found.as_deref().is_some_and(|f| f != want);
    if wrong(&slim.api_version, "v1") || wrong(&slim.kind, "Pod") {
        return Err(PodDecodeError::NotAPod {
            api_version: slim.api_version,
            kind: slim.kind,
        });
    }
    let metadata = slim
        .metadata
        .map(|m| ObjectMeta {
            name: m.name,
            generate_name: m.generate_name,
            namespace: m.namespace,
            labels: m.labels,
            annotations: m.annotations,
            owner_references: m.owner_references,
            ..Default::default()
        })
        .unwrap_or_default();
    let spec = slim.spec.map(|s| PodSpec {
        containers: containers(s.containers.unwrap_or_default()),
        init_containers: s.init_containers.map(containers),
        ..Default::default()
    });
    Ok(Pod {
        metadata,
        spec,
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const POD_CREATE: &str = include_str!("../tests/reviews/pod-create.json");

    /// The full `k8s_openapi` decoding, trimmed to the fields the webhook reads.
    fn full_then_trimmed(object: &Value) -> Pod {
        let pod: Pod = serde_json::from_value(object.clone()).unwrap();
        let trim = |c: &Container| Container {
            name: c.name.clone(),
            resources: c.resources.clone(),
            restart_policy: c.restart_policy.clone(),
            ..Default::default()
        };
        let m = &pod.metadata;
        Pod {
            metadata: ObjectMeta {
                name: m.name.clone(),
                generate_name: m.generate_name.clone(),
                namespace: m.namespace.clone(),
                labels: m.labels.clone(),
                annotations: m.annotations.clone(),
                owner_references: m.owner_references.clone(),
                ..Default::default()
            },
            spec: pod.spec.as_ref().map(|s| PodSpec {
                containers: s.containers.iter().map(trim).collect(),
                init_containers: s
                    .init_containers
                    .as_ref()
                    .map(|l| l.iter().map(trim).collect()),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn object() -> Value {
        serde_json::from_str::<Value>(POD_CREATE).unwrap()["request"]["object"].clone()
    }

    #[test]
    fn reads_the_same_fields_as_the_full_decoding() {
        let mut objects = vec![object()];
        let mut sidecar = object();
        sidecar["spec"]["initContainers"] = json!([
            {"name": "init", "image": "i"},
            {"name": "proxy", "restartPolicy": "Always",
             "resources": {"requests": {"cpu": "10m"}, "limits": {"memory": "1Gi"}}}
        ]);
        sidecar["metadata"]["annotations"] = json!({"a": "b"});
        sidecar["metadata"]["name"] = json!("named");
        objects.push(sidecar);
        let mut nulls = object();
        nulls["metadata"]["labels"] = Value::Null;
        nulls["spec"]["containers"][0]["name"] = Value::Null;
        nulls["spec"]["containers"][0]["resources"] = Value::Null;
        objects.push(nulls);
        let mut no_spec = object();
        no_spec.as_object_mut().unwrap().remove("spec");
        objects.push(no_spec);
        objects.push(json!({}));
        for o in objects {
            assert_eq!(
                decode_pod(&o.to_string()).unwrap(),
                full_then_trimmed(&o),
                "{o}"
            );
        }
    }

    #[test]
    fn wrong_shapes_of_read_fields_and_wrong_kinds_are_errors() {
        let cases = [
            ("/spec/containers", json!("not a list")),
            ("/spec/containers/0/resources/requests", json!(["x"])),
            ("/metadata/labels", json!({"a": 1})),
            ("/metadata/ownerReferences", json!({})),
            ("/kind", json!("Deployment")),
            ("/apiVersion", json!("v2")),
        ];
        for (path, bad) in cases {
            let mut o = object();
            *o.pointer_mut(path).unwrap() = bad;
            assert!(decode_pod(&o.to_string()).is_err(), "{path}");
            assert!(serde_json::from_value::<Pod>(o).is_err(), "{path}");
        }
        assert!(decode_pod("null").is_err());
        assert!(decode_pod("[]").is_err());
    }
}
