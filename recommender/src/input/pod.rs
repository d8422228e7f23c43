//! Pods as the watch cache keeps them (pure data). [`WirePod`] is what a pod is decoded into
//! from the API's JSON: only the fields the recommender reads (a k8s-openapi `Pod` is several
//! kilobytes even when trimmed, because every optional field takes room inline). Each one is
//! then reduced to a [`CachedPod`]: names, interned labels, the controlling owner, and per
//! container its name, memory request and the little of its status OOM detection needs, about
//! 0.4 KiB instead of the 2.5 KiB a `WirePod` costs in the cache (at 50k pods: ~20 MiB instead of
//! ~125 MiB).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};
use vpa_common::matching::ControllerKey;

/// A pod as decoded from the API: identity, labels and owners, container names and resources,
/// and container statuses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WirePod {
    /// Standard metadata (annotations and managed fields are dropped by the cache).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Regular containers (init containers are not modelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<WirePodSpec>,
    /// Phase and container statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WirePodStatus>,
}

/// `spec` of [`WirePod`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WirePodSpec {
    /// Regular containers.
    #[serde(default)]
    pub containers: Vec<WireContainer>,
}

/// A container: its name and resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireContainer {
    /// Container name.
    pub name: String,
    /// Requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// `status` of [`WirePod`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePodStatus {
    /// `Pending`, `Running`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Statuses of the regular containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<WireContainerStatus>>,
}

/// What OOM detection reads of a container status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireContainerStatus {
    /// Container name.
    pub name: String,
    /// Restarts so far.
    #[serde(default)]
    pub restart_count: i32,
    /// Current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<WireContainerState>,
    /// State of the previous run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<WireContainerState>,
    /// Allocated requests and limits (Kubernetes 1.33+, after a resize).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// A container's state as far as OOM detection needs it: running or not, and how it terminated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireContainerState {
    /// Present while the container runs (its details are not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Running>,
    /// Present once it has terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<WireTermination>,
}

/// A running container (nothing of it is kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Running {}

/// How a container terminated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTermination {
    /// `OOMKilled`, `Error`, `Completed`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

impl k8s_openapi::Resource for WirePod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for WirePod {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl k8s_openapi::ListableResource for WirePod {
    const LIST_KIND: &'static str = "PodList";
}

impl From<&Pod> for WirePod {
    /// The fields the cache keeps, as the API's JSON would give them.
    fn from(pod: &Pod) -> Self {
        serde_json::to_value(pod)
            .and_then(serde_json::from_value)
            .unwrap_or_default()
    }
}

/// A label set shared by every cached pod that carries it (pods of one ReplicaSet have equal
/// labels, so at 5 pods per workload this stores a fifth of the maps).
pub type Labels = Arc<BTreeMap<String, String>>;

/// Hands out one shared [`Labels`] per distinct label set. Sets no pod uses any more are dropped
/// whenever the interner has doubled since it last looked.
#[derive(Debug, Default)]
pub struct LabelInterner {
    sets: HashSet<Labels>,
    pruned_at: usize,
}

impl LabelInterner {
    /// The shared copy of `labels`.
    pub fn intern(&mut self, labels: BTreeMap<String, String>) -> Labels {
        if let Some(shared) = self.sets.get(&labels) {
            return shared.clone();
        }
        if self.sets.len() >= 2 * self.pruned_at.max(512) {
            self.sets.retain(|l| Arc::strong_count(l) > 1);
            self.pruned_at = self.sets.len();
        }
        let shared = Arc::new(labels);
        self.sets.insert(shared.clone());
        shared
    }
}

/// How a container's run ended, as far as OOM detection needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Termination {
    /// Reason `OOMKilled`.
    pub oom_killed: bool,
    /// When it ended, Unix seconds (0 when unknown).
    pub finished_at: i64,
}

/// A container's current state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunState {
    /// Waiting, or no status yet.
    #[default]
    Other,
    /// Running.
    Running,
    /// Terminated.
    Terminated(Termination),
}

/// One regular container of a cached pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedContainer {
    /// Container name.
    pub name: Arc<str>,
    /// Memory request, bytes: the allocated one from the status after a resize (Kubernetes
    /// 1.33+), else the spec's; 0 when none is set.
    pub memory_request_bytes: i64,
    /// Restarts so far.
    pub restart_count: i32,
    /// Current state.
    pub state: RunState,
    /// How the previous run ended, if it did.
    pub last_termination: Option<Termination>,
}

/// A pod as the cache keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedPod {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Name.
    pub name: Arc<str>,
    /// Labels (shared between pods with equal labels).
    pub labels: Labels,
    /// The owner reference marked `controller: true`, as a key.
    pub controller: Option<ControllerKey>,
    /// Regular containers (init containers are not modelled), in spec order.
    pub containers: Box<[CachedContainer]>,
}

fn termination(t: &WireTermination) -> Termination {
    Termination {
        oom_killed: t.reason.as_deref() == Some("OOMKilled"),
        finished_at: t.finished_at.as_ref().map_or(0, |t| t.0.as_second()),
    }
}

fn memory_request(resources: Option<&ResourceRequirements>) -> Option<i64> {
    let quantity = resources?.requests.as_ref()?.get("memory")?;
    vpa_common::resources::amount("memory", quantity).ok()
}

impl CachedPod {
    /// Reduces a decoded pod to what the cache keeps; its labels are shared through `labels`.
    pub fn from_wire(pod: WirePod, labels: &mut LabelInterner) -> Self {
        let meta = pod.metadata;
        let statuses = pod
            .status
            .and_then(|s| s.container_statuses)
            .unwrap_or_default();
        let containers = pod
            .spec
            .map(|s| s.containers)
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let status = statuses.iter().find(|s| s.name == c.name);
                let state = status.and_then(|s| s.state.as_ref());
                CachedContainer {
                    memory_request_bytes: memory_request(status.and_then(|s| s.resources.as_ref()))
                        .or_else(|| memory_request(c.resources.as_ref()))
                        .unwrap_or(0),
                    restart_count: status.map_or(0, |s| s.restart_count),
                    state: match (
                        state.and_then(|s| s.terminated.as_ref()),
                        state.is_some_and(|s| s.running.is_some()),
                    ) {
                        (Some(t), _) => RunState::Terminated(termination(t)),
                        (None, true) => RunState::Running,
                        (None, false) => RunState::Other,
                    },
                    last_termination: status
                        .and_then(|s| s.last_state.as_ref())
                        .and_then(|s| s.terminated.as_ref())
                        .map(termination),
                    name: c.name.into(),
                }
            })
            .collect();
        Self {
            namespace: meta.namespace.unwrap_or_default().into(),
            name: meta.name.unwrap_or_default().into(),
            labels: labels.intern(meta.labels.unwrap_or_default()),
            controller: meta
                .owner_references
                .unwrap_or_default()
                .iter()
                .find(|o| o.controller == Some(true))
                .map(ControllerKey::from_owner),
            containers,
        }
    }

    /// The container called `name`.
    pub fn container(&self, name: &str) -> Option<&CachedContainer> {
        self.containers.iter().find(|c| &*c.name == name)
    }
}

impl From<&Pod> for CachedPod {
    /// The cached form of a pod (with its own label set; for tests and tools).
    fn from(pod: &Pod) -> Self {
        Self::from_wire(WirePod::from(pod), &mut LabelInterner::default())
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::testutil::PodBuilder;

    use super::*;

    #[test]
    fn keeps_what_the_recommender_reads_and_shares_label_sets() {
        let pod = |name: &str| {
            PodBuilder::new("ns", name)
                .label("app", "web")
                .owner("ReplicaSet", "web-rs")
                .container("app")
                .requests("100m", "50Mi")
                .build()
        };
        let mut labels = LabelInterner::default();
        let first = CachedPod::from_wire(WirePod::from(&pod("web-1")), &mut labels);
        let second = CachedPod::from_wire(WirePod::from(&pod("web-2")), &mut labels);
        assert_eq!((&*first.namespace, &*first.name), ("ns", "web-1"));
        assert_eq!(first.labels.get("app").map(String::as_str), Some("web"));
        assert!(Arc::ptr_eq(&first.labels, &second.labels));
        let controller = first.controller.as_ref().unwrap();
        assert_eq!(
            (controller.kind.as_str(), controller.name.as_str()),
            ("ReplicaSet", "web-rs")
        );
        assert_eq!(&*first.containers[0].name, "app");
        assert_eq!(first.containers[0].memory_request_bytes, 50 << 20);
        assert!(std::mem::size_of::<CachedPod>() * 8 < std::mem::size_of::<Pod>());
    }

    #[test]
    fn label_sets_no_pod_holds_are_dropped_as_the_interner_grows() {
        let mut labels = LabelInterner::default();
        let kept = labels.intern([("app".to_string(), "kept".to_string())].into());
        for i in 0..5000 {
            labels.intern([("app".to_string(), i.to_string())].into());
        }
        assert!(labels.sets.len() < 1100, "{} sets kept", labels.sets.len());
        let again = labels.intern([("app".to_string(), "kept".to_string())].into());
        assert!(Arc::ptr_eq(&kept, &again));
    }

    #[test]
    fn decodes_statuses_from_api_json() {
        let wire: WirePod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "image": "app:1"}], "nodeName": "n1"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 2,
                "ready": true, "image": "app:1", "imageID": "",
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
        }))
        .unwrap();
        let pod = CachedPod::from_wire(wire, &mut LabelInterner::default());
        let app = &pod.containers[0];
        assert_eq!(app.restart_count, 2);
        assert_eq!(app.state, RunState::Other);
        assert_eq!(
            app.last_termination,
            Some(Termination {
                oom_killed: true,
                finished_at: 0
            })
        );
        assert_eq!(app.memory_request_bytes, 0);
    }
}
