//! VPAs by namespace, each with its recommendation parsed once per version (pure).
//!
//! The webhook reads the VPAs of the pod's namespace on every pod creation and, for the one
//! controlling the pod, its recommendation in integer amounts. Keeping the VPAs indexed by
//! namespace avoids walking every VPA of the cluster per request, and keeping each VPA's parsed
//! recommendation keyed by its `uid` and `resourceVersion` means an updated VPA is parsed once,
//! when the watch delivers it, instead of once per pod. A VPA without `uid` or
//! `resourceVersion` (only built by hand, never from the API server) is parsed on every apply.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kube::runtime::watcher::Event;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::capping::ContainerRecommendation;
use vpa_common::pod_resources::parsed_recommendation;
use vpa_common::quantity::QuantityError;

/// A VPA's recommendation in integer amounts: `None` when its status has none, an error when a
/// quantity in it does not parse.
pub type ParsedRecommendation = Result<Option<Vec<ContainerRecommendation>>, QuantityError>;

/// One cached VPA and its parsed recommendation.
#[derive(Debug)]
pub struct IndexedVpa {
    /// The VPA as cached.
    pub vpa: Arc<VerticalPodAutoscaler>,
    /// Its recommendation, parsed when this version was cached.
    pub recommendation: ParsedRecommendation,
}

impl IndexedVpa {
    /// Parses `vpa`'s recommendation.
    pub fn new(vpa: Arc<VerticalPodAutoscaler>) -> Self {
        let recommendation = parsed_recommendation(&vpa);
        Self {
            vpa,
            recommendation,
        }
    }

    /// Whether `other` is known to be the same version of the same object (same `uid` and
    /// `resourceVersion`, both present).
    fn same_version(&self, other: &VerticalPodAutoscaler) -> bool {
        let (a, b) = (&self.vpa.metadata, &other.metadata);
        a.uid.is_some()
            && a.resource_version.is_some()
            && a.uid == b.uid
            && a.resource_version == b.resource_version
    }
}

type ByNamespace = HashMap<String, BTreeMap<String, Arc<IndexedVpa>>>;

fn key(vpa: &VerticalPodAutoscaler) -> (String, String) {
    let m = &vpa.metadata;
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

/// VPAs by namespace and name, fed by watch events.
#[derive(Debug, Default)]
pub struct VpaIndex {
    current: ByNamespace,
    /// The relist in progress: objects seen since `Init`, swapped in at `InitDone`.
    relist: Option<ByNamespace>,
    /// Whether a first full list has completed.
    ready: bool,
}

impl VpaIndex {
    /// An index holding `vpas`, marked ready (for fixed views).
    pub fn from_vpas(vpas: impl IntoIterator<Item = Arc<VerticalPodAutoscaler>>) -> Self {
        let mut index = Self::default();
        for vpa in vpas {
            index.apply(vpa);
        }
        index.ready = true;
        index
    }

    /// Whether a first full list has completed.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Takes one watch event, following kube-runtime's relist protocol.
    pub fn handle(&mut self, event: Event<VerticalPodAutoscaler>) {
        match event {
            Event::Apply(vpa) => self.apply(Arc::new(vpa)),
            Event::Delete(vpa) => self.delete(&vpa),
            Event::Init => self.relist = Some(ByNamespace::default()),
            Event::InitApply(vpa) => {
                let entry = self.entry_for(Arc::new(vpa));
                let (namespace, name) = key(&entry.vpa);
                self.relist
                    .get_or_insert_with(Default::default)
                    .entry(namespace)
                    .or_default()
                    .insert(name, entry);
            }
            Event::InitDone => {
                self.current = self.relist.take().unwrap_or_default();
                self.ready = true;
            }
        }
    }

    /// Adds or replaces one VPA.
    pub fn apply(&mut self, vpa: Arc<VerticalPodAutoscaler>) {
        let entry = self.entry_for(vpa);
        let (namespace, name) = key(&entry.vpa);
        self.current
            .entry(namespace)
            .or_default()
            .insert(name, entry);
    }

    /// Removes one VPA.
    pub fn delete(&mut self, vpa: &VerticalPodAutoscaler) {
        let (namespace, name) = key(vpa);
        if let Some(vpas) = self.current.get_mut(&namespace) {
            vpas.remove(&name);
            if vpas.is_empty() {
                self.current.remove(&namespace);
            }
        }
    }

    /// The cached entry when `vpa` is the version already held, else a freshly parsed one.
    fn entry_for(&self, vpa: Arc<VerticalPodAutoscaler>) -> Arc<IndexedVpa> {
        let (namespace, name) = key(&vpa);
        match self.current.get(&namespace).and_then(|m| m.get(&name)) {
            Some(held) if held.same_version(&vpa) => held.clone(),
            _ => Arc::new(IndexedVpa::new(vpa)),
        }
    }

    /// The VPAs of `namespace`, by name.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<IndexedVpa>> {
        self.current
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every VPA.
    pub fn all(&self) -> Vec<Arc<VerticalPodAutoscaler>> {
        self.current
            .values()
            .flat_map(|m| m.values().map(|e| e.vpa.clone()))
            .collect()
    }
}

impl crate::ns_index::WatchIndex<VerticalPodAutoscaler> for VpaIndex {
    fn handle(&mut self, event: Event<VerticalPodAutoscaler>) {
        VpaIndex::handle(self, event);
    }

    fn is_ready(&self) -> bool {
        VpaIndex::is_ready(self)
    }
}

#[cfg(test)]
mod tests;
