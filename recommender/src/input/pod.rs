//! The pod as the watch cache keeps it (pure data): only the fields the recommender reads, decoded
//! straight from the API's JSON. A k8s-openapi `Pod` is several kilobytes even when trimmed,
//! because every optional field of its spec, containers and statuses takes room inline; at 50k
//! pods that alone was about 400 MiB. Field names and nesting mirror `Pod`, so code reads
//! `pod.spec`, `pod.status` and `pod.metadata` the same way.

use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};

/// A pod: identity, labels and owners, container names and resources, phase and container
/// statuses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedPod {
    /// Standard metadata (annotations and managed fields are dropped by the cache).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Regular containers (init containers are not modelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<CachedPodSpec>,
    /// Phase and container statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CachedPodStatus>,
}

/// `spec` of [`CachedPod`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedPodSpec {
    /// Regular containers.
    #[serde(default)]
    pub containers: Vec<CachedContainer>,
}

/// A container: its name and resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedContainer {
    /// Container name.
    pub name: String,
    /// Requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// `status` of [`CachedPod`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPodStatus {
    /// `Pending`, `Running`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Statuses of the regular containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<CachedContainerStatus>>,
}

/// What OOM detection reads of a container status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedContainerStatus {
    /// Container name.
    pub name: String,
    /// Restarts so far.
    #[serde(default)]
    pub restart_count: i32,
    /// Current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CachedContainerState>,
    /// State of the previous run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<CachedContainerState>,
    /// Allocated requests and limits (Kubernetes 1.33+, after a resize).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// A container's state as far as OOM detection needs it: running or not, and how it terminated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedContainerState {
    /// Present while the container runs (its details are not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Running>,
    /// Present once it has terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<CachedTermination>,
}

/// A running container (nothing of it is kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Running {}

/// How a container terminated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedTermination {
    /// `OOMKilled`, `Error`, `Completed`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

impl k8s_openapi::Resource for CachedPod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for CachedPod {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl k8s_openapi::ListableResource for CachedPod {
    const LIST_KIND: &'static str = "PodList";
}

impl From<&Pod> for CachedPod {
    /// The fields the cache keeps, as the API's JSON would give them.
    fn from(pod: &Pod) -> Self {
        serde_json::to_value(pod)
            .and_then(serde_json::from_value)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::testutil::PodBuilder;

    use super::*;

    #[test]
    fn keeps_what_the_recommender_reads_and_is_far_smaller_than_a_pod() {
        let pod = PodBuilder::new("ns", "web-1")
            .label("app", "web")
            .owner("ReplicaSet", "web-rs")
            .container("app")
            .requests("100m", "50Mi")
            .build();
        let cached = CachedPod::from(&pod);
        assert_eq!(cached.metadata, pod.metadata);
        let container = &cached.spec.as_ref().unwrap().containers[0];
        assert_eq!(container.name, "app");
        assert_eq!(
            container.resources,
            pod.spec.as_ref().unwrap().containers[0].resources
        );
        assert!(
            std::mem::size_of::<CachedContainer>() * 8
                < std::mem::size_of::<k8s_openapi::api::core::v1::Container>()
        );
    }

    #[test]
    fn decodes_statuses_from_api_json() {
        let cached: CachedPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "image": "app:1"}], "nodeName": "n1"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 2,
                "ready": true, "image": "app:1", "imageID": "",
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
        }))
        .unwrap();
        let status = cached.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let app = &status.container_statuses.unwrap()[0];
        assert_eq!(app.restart_count, 2);
        let last = app.last_state.as_ref().unwrap().terminated.as_ref();
        assert_eq!(last.unwrap().reason.as_deref(), Some("OOMKilled"));
    }
}
