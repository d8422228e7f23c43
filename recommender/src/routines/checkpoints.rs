//! Checkpoints: which ones to restore at start and which to garbage-collect (pure), and the
//! small API calls that list, write and delete them (edge).

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams};
use serde::{Deserialize, Serialize};
use vpa_common::api::{
    VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointSpec,
    VerticalPodAutoscalerCheckpointStatus,
};

use super::raw_request;
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

/// Checkpoints listed per request: memory stays bounded by a page whatever their number.
pub const LIST_PAGE: u32 = 500;

/// Lists every checkpoint of kind `K` (whole checkpoints, or [`CheckpointMeta`]) of one
/// namespace or all, a page of [`LIST_PAGE`] at a time, handing each page to `page`; returns how
/// many were listed.
pub async fn list_pages<K>(
    client: &Client,
    namespace: Option<&str>,
    mut page: impl FnMut(Vec<K>),
) -> Result<usize, kube::Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = vpa_common::watch::api(client, namespace);
    let mut params = ListParams::default().limit(LIST_PAGE);
    let mut listed = 0;
    loop {
        let list = api.list(&params).await?;
        listed += list.items.len();
        let next = list.metadata.continue_.filter(|token| !token.is_empty());
        page(list.items);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(listed),
        }
    }
}

/// The JSON Patch (RFC 6902) that makes the stored checkpoint's status equal to `status`: one
/// `add` of `/status`, which replaces the whole status (histogram buckets the new one lacks go
/// with it) and also works on an object without a status. Upstream replaces `/status` the same
/// way. Serialised straight from the typed status: building a `serde_json::Value` with a `null`
/// for every absent bucket (as a merge patch needs) took a quarter of the recommender's CPU at
/// 10k VPAs.
pub fn status_patch(status: &VerticalPodAutoscalerCheckpointStatus) -> Vec<u8> {
    #[derive(Serialize)]
    struct Operation<'a> {
        op: &'static str,
        path: &'static str,
        value: &'a VerticalPodAutoscalerCheckpointStatus,
    }
    serde_json::to_vec(&[Operation {
        op: "add",
        path: "/status",
        value: status,
    }])
    .unwrap_or_default()
}

/// Writes one checkpoint: its status patched with [`status_patch`], or the whole object created.
/// `exists` says which to try first: a checkpoint already written or restored is patched (and
/// created if it has gone), a new one is created (and patched if it exists after all), so each
/// costs one request in the common case instead of a failed patch before every create. Only the
/// `patch` and `create` verbs are used, as upstream's RBAC grants. Responses are not decoded.
pub async fn write(
    client: &Client,
    checkpoint: &VerticalPodAutoscalerCheckpoint,
    exists: bool,
) -> Result<(), kube::Error> {
    let namespace = checkpoint.metadata.namespace.as_deref().unwrap_or_default();
    let name = checkpoint.metadata.name.as_deref().unwrap_or_default();
    let patch = || {
        let path = raw_request::object_path::<VerticalPodAutoscalerCheckpoint>(namespace, name, "");
        let body = status_patch(checkpoint.status.as_ref().unwrap_or(&Default::default()));
        async move { raw_request::patch(client, &path, raw_request::JSON_PATCH, body).await }
    };
    let create = || {
        let path = VerticalPodAutoscalerCheckpoint::url_path(&(), Some(namespace));
        let body = serde_json::to_vec(checkpoint).unwrap_or_default();
        async move { raw_request::post(client, &path, body).await }
    };
    let code = |result: &Result<(), kube::Error>| match result {
        Err(kube::Error::Api(e)) => Some(e.code),
        _ => None,
    };
    if exists {
        let first = patch().await;
        if code(&first) == Some(404) {
            return create().await;
        }
        first
    } else {
        let first = create().await;
        if code(&first) == Some(409) {
            return patch().await;
        }
        first
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
    fn status_patch_replaces_the_whole_status() {
        let status = vpa_common::api::VerticalPodAutoscalerCheckpointStatus {
            version: Some("v3".into()),
            cpu_histogram: Some(vpa_common::api::HistogramCheckpoint {
                bucket_weights: Some([(7, 10_000)].into()),
                total_weight: Some(1.5),
                reference_timestamp: None,
            }),
            ..Default::default()
        };
        let patch: json_patch::Patch = serde_json::from_slice(&status_patch(&status)).unwrap();
        // Applied to a stored checkpoint with other buckets and fields, it leaves exactly the
        // new status and keeps the spec.
        let mut stored = serde_json::json!({
            "spec": {"vpaObjectName": "web", "containerName": "app"},
            "status": {"version": "v3", "firstSampleStart": "2026-01-01T00:00:00Z",
                "cpuHistogram": {"bucketWeights": {"3": 5, "7": 1}, "totalWeight": 9},
                "memoryHistogram": {"bucketWeights": {"1": 2}}}
        });
        json_patch::patch(&mut stored, &patch).unwrap();
        assert_eq!(
            stored["status"],
            serde_json::json!({"version": "v3",
                "cpuHistogram": {"bucketWeights": {"7": 10_000}, "totalWeight": 1.5}})
        );
        assert_eq!(stored["spec"]["vpaObjectName"], "web");
        // An object stored without a status gets one.
        let mut bare = serde_json::json!({"spec": {}});
        json_patch::patch(&mut bare, &patch).unwrap();
        assert_eq!(bare["status"]["version"], "v3");
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
