//! Pods as the watch cache keeps them (pure data). [`WirePod`] is what a pod is decoded into
//! from the API's JSON: only the fields the recommender reads (a k8s-openapi `Pod` is several
//! kilobytes even when trimmed, because every optional field takes room inline). Each one is
//! then reduced to a [`CachedPod`]: names, interned labels, the controlling owner, and per
//! container its name, memory request and the little of its status OOM detection needs, about
//! 0.4 KiB instead of the 2.5 KiB a `WirePod` costs in the cache (at 50k pods: ~20 MiB instead of
//! ~125 MiB).
//!
//! Init containers are not modelled, as upstream 1.7.1; with the `NativeSidecar` gate, native
//! sidecars (init containers with `restartPolicy: Always`, which run beside the containers for
//! the pod's whole life) are modelled like containers, as upstream's AEP-8905 proposes.

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
    /// Containers and init containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<WirePodSpec>,
    /// Phase and container statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WirePodStatus>,
}

/// `spec` of [`WirePod`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePodSpec {
    /// Regular containers.
    #[serde(default)]
    pub containers: Vec<WireContainer>,
    /// Init containers, native sidecars among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<WireContainer>,
}

/// A container: its name, resources and (for init containers) restart policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireContainer {
    /// Container name.
    pub name: String,
    /// Requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// `Always` makes an init container a native sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
}

impl WireContainer {
    /// Whether this init container is a native sidecar (`restartPolicy: Always`).
    pub fn is_native_sidecar(&self) -> bool {
        self.restart_policy.as_deref() == Some("Always")
    }
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
    /// Statuses of the init containers (native sidecars among them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_container_statuses: Option<Vec<WireContainerStatus>>,
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
    /// Regular containers in spec order, then (with the `NativeSidecar` gate) native sidecars in
    /// spec order; other init containers are not modelled.
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

/// How pods are reduced for the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodReduction {
    /// Keep native sidecars as containers (gate `NativeSidecar`).
    pub native_sidecars: bool,
}

fn cached_container(c: WireContainer, statuses: &[WireContainerStatus]) -> CachedContainer {
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
}

impl CachedPod {
    /// Reduces a decoded pod to what the cache keeps, without native sidecars; its labels are
    /// shared through `labels`.
    pub fn from_wire(pod: WirePod, labels: &mut LabelInterner) -> Self {
        Self::reduce(pod, labels, PodReduction::default())
    }

    /// Reduces a decoded pod to what the cache keeps, as `how` says; its labels are shared
    /// through `labels`.
    pub fn reduce(pod: WirePod, labels: &mut LabelInterner, how: PodReduction) -> Self {
        let meta = pod.metadata;
        let status = pod.status.unwrap_or_default();
        let statuses = status.container_statuses.unwrap_or_default();
        let init_statuses = status.init_container_statuses.unwrap_or_default();
        let spec = pod.spec.unwrap_or_default();
        let sidecars = spec
            .init_containers
            .into_iter()
            .filter(|c| how.native_sidecars && c.is_native_sidecar())
            .map(|c| cached_container(c, &init_statuses));
        let containers = spec
            .containers
            .into_iter()
            .map(|c| cached_container(c, &statuses))
            .chain(sidecars)
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
mod tests;
