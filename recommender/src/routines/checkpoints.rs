//! Checkpoints: which ones to restore at start and which to garbage-collect (pure), and the
//! small API calls that list, write and delete them (edge).

use std::collections::{HashMap, HashSet};

use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use vpa_common::api::VerticalPodAutoscalerCheckpoint;

use crate::input::snapshot::Snapshot;
use crate::model::{AggregateKey, HistogramOptions};

/// Identifies a checkpoint object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckpointRef {
    /// Namespace.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

fn fields(c: &VerticalPodAutoscalerCheckpoint) -> (&str, &str, &str, &str) {
    (
        c.metadata.namespace.as_deref().unwrap_or_default(),
        c.metadata.name.as_deref().unwrap_or_default(),
        c.spec.vpa_object_name.as_deref().unwrap_or_default(),
        c.spec.container_name.as_deref().unwrap_or_default(),
    )
}

/// The aggregate each restorable checkpoint feeds: checkpoints of handled VPAs whose target
/// resolves; the others are left for their own recommender or for garbage collection.
pub fn restore_targets<'a>(
    checkpoints: &'a [VerticalPodAutoscalerCheckpoint],
    snapshot: &Snapshot,
) -> Vec<(AggregateKey, &'a VerticalPodAutoscalerCheckpoint)> {
    let workloads: HashMap<(&str, &str), &str> = snapshot
        .vpas
        .iter()
        .filter_map(|v| {
            Some((
                (v.namespace(), v.name()),
                v.target.as_ref().ok()?.workload.as_str(),
            ))
        })
        .collect();
    checkpoints
        .iter()
        .filter_map(|c| {
            let (namespace, _, vpa, container) = fields(c);
            let workload = workloads.get(&(namespace, vpa))?;
            Some((
                AggregateKey {
                    namespace: namespace.to_owned(),
                    workload: (*workload).to_owned(),
                    container: container.to_owned(),
                },
                c,
            ))
        })
        .collect()
}

/// Checkpoints of handled VPAs whose target does not resolve yet (for example a custom kind not
/// served yet): kept to be restored once it does, instead of being overwritten by new history.
pub fn awaiting_target<'a>(
    checkpoints: &'a [VerticalPodAutoscalerCheckpoint],
    snapshot: &Snapshot,
) -> Vec<&'a VerticalPodAutoscalerCheckpoint> {
    let unresolved: HashSet<(&str, &str)> = snapshot
        .vpas
        .iter()
        .filter(|v| v.target.is_err())
        .map(|v| (v.namespace(), v.name()))
        .collect();
    checkpoints
        .iter()
        .filter(|c| {
            let (namespace, _, vpa, _) = fields(c);
            unresolved.contains(&(namespace, vpa))
        })
        .collect()
}

/// Checkpoints to delete: those whose VPA no longer exists (`all_vpas` holds every VPA, of any
/// recommender), and those of handled VPAs (`containers`, by namespace and VPA name) for a
/// container the model no longer has.
pub fn stale_checkpoints(
    checkpoints: &[VerticalPodAutoscalerCheckpoint],
    all_vpas: &HashSet<(String, String)>,
    containers: &HashMap<(String, String), HashSet<String>>,
) -> Vec<CheckpointRef> {
    checkpoints
        .iter()
        .filter(|c| {
            let (namespace, _, vpa, container) = fields(c);
            let key = (namespace.to_owned(), vpa.to_owned());
            if !all_vpas.contains(&key) {
                return true;
            }
            containers
                .get(&key)
                .is_some_and(|known| !known.contains(container))
        })
        .map(|c| {
            let (namespace, name, _, _) = fields(c);
            CheckpointRef {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }
        })
        .collect()
}

fn api(client: &Client, namespace: Option<&str>) -> Api<VerticalPodAutoscalerCheckpoint> {
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Lists every checkpoint (of one namespace when given).
pub async fn list(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Vec<VerticalPodAutoscalerCheckpoint>, kube::Error> {
    Ok(api(client, namespace)
        .list(&ListParams::default())
        .await?
        .items)
}

/// The merge patch that makes the stored checkpoint equal to `checkpoint`: a merge patch merges
/// maps key by key, so every bucket index the new histograms lack is set to `null` (removed), and
/// so is every absent status field. Only the `patch` verb is needed, as upstream's RBAC grants.
pub fn merge_patch(checkpoint: &VerticalPodAutoscalerCheckpoint) -> Value {
    let mut status = serde_json::to_value(&checkpoint.status).unwrap_or(Value::Null);
    if let Some(map) = status.as_object_mut() {
        for field in [
            "lastUpdateTime",
            "version",
            "cpuHistogram",
            "memoryHistogram",
            "firstSampleStart",
            "lastSampleStart",
            "totalSamplesCount",
        ] {
            map.entry(field).or_insert(Value::Null);
        }
        for (field, options) in [
            ("cpuHistogram", HistogramOptions::cpu()),
            ("memoryHistogram", HistogramOptions::memory()),
        ] {
            let Some(histogram) = map.get_mut(field).and_then(Value::as_object_mut) else {
                continue;
            };
            for key in ["referenceTimestamp", "totalWeight"] {
                histogram.entry(key).or_insert(Value::Null);
            }
            let buckets = histogram
                .entry("bucketWeights")
                .or_insert_with(|| json!({}));
            if let Some(buckets) = buckets.as_object_mut() {
                for index in 0..options.num_buckets() {
                    buckets.entry(index.to_string()).or_insert(Value::Null);
                }
            }
        }
    }
    json!({ "spec": checkpoint.spec, "status": status })
}

/// Writes one checkpoint with [`merge_patch`], creating it when it does not exist yet.
pub async fn write(
    client: &Client,
    checkpoint: &VerticalPodAutoscalerCheckpoint,
) -> Result<(), kube::Error> {
    let namespace = checkpoint.metadata.namespace.as_deref().unwrap_or_default();
    let name = checkpoint.metadata.name.as_deref().unwrap_or_default();
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(client.clone(), namespace);
    let patch = Patch::Merge(merge_patch(checkpoint));
    match api.patch(name, &PatchParams::default(), &patch).await {
        Err(kube::Error::Api(e)) if e.code == 404 => {
            api.create(&PostParams::default(), checkpoint).await?;
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

/// Deletes one checkpoint; one already gone counts as deleted.
pub async fn delete(client: &Client, checkpoint: &CheckpointRef) -> Result<(), kube::Error> {
    let api: Api<VerticalPodAutoscalerCheckpoint> =
        Api::namespaced(client.clone(), &checkpoint.namespace);
    match api.delete(&checkpoint.name, &DeleteParams::default()).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::api::VerticalPodAutoscalerCheckpointSpec;

    use super::*;

    fn checkpoint(namespace: &str, vpa: &str, container: &str) -> VerticalPodAutoscalerCheckpoint {
        let mut c = VerticalPodAutoscalerCheckpoint::new(
            &format!("{vpa}-{container}"),
            VerticalPodAutoscalerCheckpointSpec {
                vpa_object_name: Some(vpa.into()),
                container_name: Some(container.into()),
            },
        );
        c.metadata.namespace = Some(namespace.into());
        c
    }

    #[test]
    fn merge_patch_removes_buckets_and_fields_the_new_checkpoint_lacks() {
        let mut c = checkpoint("ns", "web", "app");
        c.status = Some(vpa_common::api::VerticalPodAutoscalerCheckpointStatus {
            version: Some("v3".into()),
            cpu_histogram: Some(vpa_common::api::HistogramCheckpoint {
                bucket_weights: Some([(7, 10_000)].into()),
                total_weight: Some(1.5),
                reference_timestamp: None,
            }),
            ..Default::default()
        });
        let patch = merge_patch(&c);
        let cpu = &patch["status"]["cpuHistogram"];
        assert_eq!(cpu["bucketWeights"]["7"], 10_000);
        assert_eq!(cpu["bucketWeights"]["0"], Value::Null);
        assert_eq!(cpu["bucketWeights"].as_object().unwrap().len(), 176);
        assert_eq!(cpu["referenceTimestamp"], Value::Null);
        assert_eq!(patch["status"]["memoryHistogram"], Value::Null);
        assert_eq!(patch["status"]["firstSampleStart"], Value::Null);
        assert_eq!(patch["spec"]["vpaObjectName"], "web");

        // Applied as a merge patch to a stored checkpoint with other buckets, it leaves exactly
        // the new ones.
        let mut stored = json!({"status": {"cpuHistogram": {"bucketWeights": {"3": 5, "7": 1}}}});
        json_merge(&mut stored, &patch);
        assert_eq!(
            stored["status"]["cpuHistogram"]["bucketWeights"],
            json!({"7": 10_000})
        );
    }

    /// RFC 7386 merge.
    fn json_merge(target: &mut Value, patch: &Value) {
        let Some(patch) = patch.as_object() else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = json!({});
        }
        let map = target.as_object_mut().unwrap();
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                json_merge(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }

    #[test]
    fn checkpoints_wait_for_their_vpa_target_and_then_restore_into_its_workload() {
        use std::sync::Arc;

        use vpa_common::testutil::VpaBuilder;

        use crate::input::snapshot::{VpaInfo, VpaTarget};

        let checkpoints = [
            checkpoint("ns", "web-vpa", "app"),
            checkpoint("ns", "gone-vpa", "app"),
        ];
        let vpa = |target: Result<VpaTarget, String>| Snapshot {
            vpas: vec![VpaInfo {
                vpa: Arc::new(VpaBuilder::new("ns", "web-vpa").build()),
                target,
            }],
            ..Snapshot::default()
        };
        let unresolved = vpa(Err("Rollout ns/web not found".into()));
        assert!(restore_targets(&checkpoints, &unresolved).is_empty());
        let waiting = awaiting_target(&checkpoints, &unresolved);
        assert_eq!(
            waiting.len(),
            1,
            "the deleted VPA's checkpoint does not wait"
        );
        let resolved = vpa(Ok(VpaTarget {
            workload: "Rollout/web".into(),
            selector: Default::default(),
        }));
        let targets = restore_targets(&checkpoints, &resolved);
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].0.workload, "Rollout/web");
        assert!(awaiting_target(&checkpoints, &resolved).is_empty());
    }

    #[test]
    fn checkpoints_of_deleted_vpas_and_vanished_containers_are_stale() {
        let checkpoints = [
            checkpoint("ns", "kept", "app"),
            checkpoint("ns", "kept", "old-sidecar"),
            checkpoint("ns", "deleted", "app"),
            checkpoint("ns", "other-recommender", "app"),
        ];
        let all: HashSet<(String, String)> = [
            ("ns".to_string(), "kept".to_string()),
            ("ns".to_string(), "other-recommender".to_string()),
        ]
        .into();
        let containers = HashMap::from([(
            ("ns".to_string(), "kept".to_string()),
            HashSet::from(["app".to_string()]),
        )]);
        let stale: Vec<String> = stale_checkpoints(&checkpoints, &all, &containers)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(stale, ["kept-old-sidecar", "deleted-app"]);
    }
}
