//! The updater's view of the API server (edge): a small trait the loop is written against, so
//! the loop runs unchanged against kube ([`crate::kube_api`]) or an in-memory fake in tests.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{LimitRange, ObjectReference, Pod};
use serde_json::Value;
use vpa_common::api::VerticalPodAutoscaler;

use crate::pod::PodKey;
use vpa_common::controllers::Controllers;

/// A failed read of cluster state.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// The API server answered with an error status.
    #[error("API error {code}: {message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// Message of the Status object.
        message: String,
    },
    /// The request did not reach the API server or the answer could not be read.
    #[error("transport error: {0}")]
    Transport(String),
    /// The watch caches have not synced yet.
    #[error("caches not synced yet")]
    NotReady,
}

/// A failed eviction, resize or patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// 429: a PodDisruptionBudget forbids the eviction now, or the API server throttles. The
    /// pod is retried in a later loop.
    #[error("too many requests (disruption budget or throttling): {0}")]
    TooManyRequests(String),
    /// 404: the pod is gone already.
    #[error("pod not found")]
    NotFound,
    /// Any other API error.
    #[error("API error {code}: {message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// Message of the Status object.
        message: String,
    },
    /// The request did not complete.
    #[error("transport error: {0}")]
    Transport(String),
}

impl ActionError {
    /// Stable label for logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::TooManyRequests(_) => "TooManyRequests",
            Self::NotFound => "NotFound",
            Self::Api { .. } => "ApiError",
            Self::Transport(_) => "TransportError",
        }
    }
}

/// An event to record on a pod or a VPA (component `vpa-updater`).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdaterEvent {
    /// The object the event is about.
    pub regarding: ObjectReference,
    /// `EvictedByVPA`, `EvictedPod`, `InPlaceResizedByVPA`, ...
    pub reason: String,
    /// Human-readable message.
    pub note: String,
    /// `Warning` instead of `Normal`.
    pub warning: bool,
}

/// Reads and writes the updater needs. Implementations must be cheap to call every loop (watch
/// caches rather than list calls for large clusters).
pub trait ClusterApi: Send + Sync {
    /// The Lease `namespace/name`, `None` when it does not exist.
    fn lease(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Lease>, ClusterError>> + Send;
    /// All VPAs.
    fn list_vpas(
        &self,
    ) -> impl Future<Output = Result<Vec<Arc<VerticalPodAutoscaler>>, ClusterError>> + Send;
    /// Scheduled pods that are not Succeeded or Failed.
    fn list_pods(&self) -> impl Future<Output = Result<Vec<Arc<Pod>>, ClusterError>> + Send;
    /// All LimitRanges.
    fn list_limit_ranges(
        &self,
    ) -> impl Future<Output = Result<Vec<LimitRange>, ClusterError>> + Send;
    /// Controllers for matching and replica counts.
    fn controllers(&self) -> impl Future<Output = Result<Controllers, ClusterError>> + Send;
    /// POSTs a `policy/v1` Eviction for the pod.
    fn evict(&self, pod: &PodKey) -> impl Future<Output = Result<(), ActionError>> + Send;
    /// PATCHes `pods/<name>/resize` with a JSON patch.
    fn resize(
        &self,
        pod: &PodKey,
        patch: &Value,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
    /// PATCHes the pod itself with a JSON patch.
    fn patch_pod(
        &self,
        pod: &PodKey,
        patch: &Value,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
    /// Records an event; failures are logged by the implementation, never returned.
    fn publish(&self, event: UpdaterEvent) -> impl Future<Output = ()> + Send;
}

/// A reference to `pod` for events.
pub fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// A reference to `vpa` for events.
pub fn vpa_reference(vpa: &VerticalPodAutoscaler) -> ObjectReference {
    ObjectReference {
        api_version: Some(format!(
            "{}/{}",
            vpa_common::api::GROUP,
            vpa_common::api::VERSION
        )),
        kind: Some("VerticalPodAutoscaler".into()),
        namespace: vpa.metadata.namespace.clone(),
        name: vpa.metadata.name.clone(),
        uid: vpa.metadata.uid.clone(),
        resource_version: vpa.metadata.resource_version.clone(),
        ..Default::default()
    }
}
