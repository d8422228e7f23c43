//! Checkpoints: which ones to restore at start and which to garbage-collect (pure). The
//! requests that list, write and delete them are [`crate::apiserver::checkpoints`]'s.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use vpa_common::api::{VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointSpec};

use crate::input::snapshot::Snapshot;
use crate::model::AggregateKey;

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
                    namespace: namespace.into(),
                    workload: (*workload).into(),
                    container: container.into(),
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

/// A checkpoint as garbage collection lists it: metadata and spec, without the histograms
/// (which the decoder skips), so listing tens of thousands costs little memory.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CheckpointMeta {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The VPA and container it belongs to.
    #[serde(default)]
    pub spec: VerticalPodAutoscalerCheckpointSpec,
}

impl k8s_openapi::Resource for CheckpointMeta {
    const API_VERSION: &'static str = "autoscaling.k8s.io/v1";
    const GROUP: &'static str = "autoscaling.k8s.io";
    const KIND: &'static str = "VerticalPodAutoscalerCheckpoint";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "verticalpodautoscalercheckpoints";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for CheckpointMeta {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl k8s_openapi::ListableResource for CheckpointMeta {
    const LIST_KIND: &'static str = "VerticalPodAutoscalerCheckpointList";
}

/// What garbage collection keeps of a listed checkpoint: the object and the VPA and container
/// it belongs to. Decoded pages are dropped as they arrive; keeping 20k whole `ObjectMeta`s until
/// the list ended took 25 MiB at 10k VPAs, the recommender's peak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointOwner {
    /// The checkpoint object.
    pub checkpoint: CheckpointRef,
    /// `spec.vpaObjectName`.
    pub vpa: String,
    /// `spec.containerName`.
    pub container: String,
}

impl From<&CheckpointMeta> for CheckpointOwner {
    fn from(c: &CheckpointMeta) -> Self {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        Self {
            checkpoint: CheckpointRef {
                namespace: text(&c.metadata.namespace),
                name: text(&c.metadata.name),
            },
            vpa: text(&c.spec.vpa_object_name),
            container: text(&c.spec.container_name),
        }
    }
}

/// Checkpoints to delete: those whose VPA no longer exists (`all_vpas` holds every VPA, of any
/// recommender), and those of handled VPAs (`containers`, by namespace and VPA name) for a
/// container the model no longer has.
pub fn stale_checkpoints(
    checkpoints: &[CheckpointOwner],
    all_vpas: &HashSet<(String, String)>,
    containers: &HashMap<(String, String), HashSet<String>>,
) -> Vec<CheckpointRef> {
    checkpoints
        .iter()
        .filter(|c| {
            let key = (c.checkpoint.namespace.clone(), c.vpa.clone());
            if !all_vpas.contains(&key) {
                return true;
            }
            containers
                .get(&key)
                .is_some_and(|known| !known.contains(&c.container))
        })
        .map(|c| c.checkpoint.clone())
        .collect()
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
                status: None,
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
        assert_eq!(&*targets[0].0.workload, "Rollout/web");
        assert!(awaiting_target(&checkpoints, &resolved).is_empty());
    }

    #[test]
    fn checkpoints_of_deleted_vpas_and_vanished_containers_are_stale() {
        let checkpoints = [
            checkpoint("ns", "kept", "app"),
            checkpoint("ns", "kept", "old-sidecar"),
            checkpoint("ns", "deleted", "app"),
            checkpoint("ns", "other-recommender", "app"),
        ]
        .map(|c| {
            CheckpointOwner::from(&CheckpointMeta {
                metadata: c.metadata,
                spec: c.spec,
            })
        });
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
