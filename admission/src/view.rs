//! What the handler reads about the cluster: a small trait over the watch caches, so the handler
//! is tested without Kubernetes, and [`StaticView`], a fixed in-memory implementation.

use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::LimitRange;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::controllers::{Controllers, Replicas};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::matching::{ControllerKey, ControllerLookup};

use crate::vpa_index::{IndexedVpa, VpaIndex};

/// Read access to the cached cluster state the admission controller needs.
pub trait ClusterView: ControllerLookup + Send + Sync + 'static {
    /// Whether every cache has completed its initial list.
    fn is_synced(&self) -> bool;
    /// The VPAs of a namespace, each with its parsed recommendation.
    fn vpas(&self, namespace: &str) -> Vec<Arc<IndexedVpa>>;
    /// The merged LimitRanges of a namespace.
    fn limits(&self, namespace: &str) -> NamespaceLimits;
    /// The HPAs of a namespace.
    fn hpas(&self, namespace: &str) -> Vec<Arc<HorizontalPodAutoscaler>>;
    /// Desired replicas of a controller when known.
    fn replicas(&self, namespace: &str, key: &ControllerKey) -> Option<i32>;
}

/// A fixed snapshot: VPAs, LimitRanges, HPAs and a controller index.
pub struct StaticView {
    /// All VPAs (any namespace), recommendations parsed.
    pub vpas: VpaIndex,
    /// All LimitRanges (any namespace).
    pub limit_ranges: Vec<LimitRange>,
    /// All HPAs.
    pub hpas: Vec<Arc<HorizontalPodAutoscaler>>,
    /// Controllers, with their replica counts.
    pub controllers: Controllers,
    /// Reported sync state.
    pub synced: bool,
}

impl StaticView {
    /// A synced view with these VPAs and controllers and nothing else.
    pub fn new(vpas: Vec<VerticalPodAutoscaler>, controllers: Controllers) -> Self {
        Self {
            vpas: VpaIndex::from_vpas(vpas.into_iter().map(Arc::new)),
            limit_ranges: Vec::new(),
            hpas: Vec::new(),
            controllers,
            synced: true,
        }
    }
}

impl ControllerLookup for StaticView {
    fn owner_references(
        &self,
        namespace: &str,
        key: &ControllerKey,
    ) -> Option<Vec<OwnerReference>> {
        self.controllers.owner_references(namespace, key)
    }
    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<LabelSelector> {
        self.controllers.selector(namespace, key)
    }
    fn is_scalable(&self, key: &ControllerKey) -> bool {
        self.controllers.is_scalable(key)
    }
}

fn in_ns(ns: Option<&String>, namespace: &str) -> bool {
    ns.map(String::as_str).unwrap_or_default() == namespace
}

impl ClusterView for StaticView {
    fn is_synced(&self) -> bool {
        self.synced
    }
    fn vpas(&self, namespace: &str) -> Vec<Arc<IndexedVpa>> {
        self.vpas.in_namespace(namespace)
    }
    fn limits(&self, namespace: &str) -> NamespaceLimits {
        NamespaceLimits::from_limit_ranges(
            self.limit_ranges
                .iter()
                .filter(|l| in_ns(l.metadata.namespace.as_ref(), namespace))
                .collect::<Vec<_>>(),
        )
    }
    fn hpas(&self, namespace: &str) -> Vec<Arc<HorizontalPodAutoscaler>> {
        self.hpas
            .iter()
            .filter(|h| in_ns(h.metadata.namespace.as_ref(), namespace))
            .cloned()
            .collect()
    }
    fn replicas(&self, namespace: &str, key: &ControllerKey) -> Option<i32> {
        self.controllers
            .replicas(namespace, &key.kind, &key.name)
            .and_then(Replicas::desired)
    }
}
