//! The cluster state one loop works on (pure data): VPAs, live pods, LimitRanges and the
//! controllers needed to match pods to VPAs and to size replica groups.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{LimitRange, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::{ControllerKey, ControllerLookup};

use crate::restriction;

/// What the updater knows about one controller object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerInfo {
    /// Its own ownerReferences (a ReplicaSet is owned by a Deployment, ...).
    pub owner_references: Vec<OwnerReference>,
    /// Its pod selector (`matchLabels` of the template for a ReplicationController/CronJob).
    pub selector: Option<LabelSelector>,
    /// Configured replicas: `.spec.replicas`, or `.status.numberReady` for a DaemonSet.
    pub replicas: Option<i64>,
}

/// Controllers by namespace, kind and name (nested so lookups by `&str` allocate nothing).
#[derive(Clone, Debug, Default)]
pub struct Controllers {
    objects: HashMap<String, HashMap<String, HashMap<String, ControllerInfo>>>,
    count: usize,
    scalable_kinds: HashSet<String>,
}

impl Controllers {
    /// Adds or replaces a controller.
    pub fn insert(&mut self, namespace: &str, kind: &str, name: &str, info: ControllerInfo) {
        let previous = self
            .objects
            .entry(namespace.into())
            .or_default()
            .entry(kind.into())
            .or_default()
            .insert(name.into(), info);
        if previous.is_none() {
            self.count += 1;
        }
    }

    /// Adds a VPA target of a kind outside the well-known ones whose scale subresource gave
    /// `selector`: the kind then counts as a controller when walking pods' owners.
    pub fn insert_scalable(
        &mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        selector: LabelSelector,
    ) {
        self.scalable_kinds.insert(kind.into());
        let info = ControllerInfo {
            selector: Some(selector),
            ..ControllerInfo::default()
        };
        self.insert(namespace, kind, name, info);
    }

    fn get(&self, namespace: &str, kind: &str, name: &str) -> Option<&ControllerInfo> {
        self.objects.get(namespace)?.get(kind)?.get(name)
    }

    /// Configured replicas of a replica group's controller.
    pub fn replicas(&self, key: &restriction::GroupKey) -> Option<i64> {
        self.get(&key.namespace, &key.kind, &key.name)?.replicas
    }

    /// Number of controllers known.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no controller is known.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl ControllerLookup for Controllers {
    fn owner_references(
        &self,
        namespace: &str,
        key: &ControllerKey,
    ) -> Option<Vec<OwnerReference>> {
        Some(
            self.get(namespace, &key.kind, &key.name)?
                .owner_references
                .clone(),
        )
    }

    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<LabelSelector> {
        self.get(namespace, &key.kind, &key.name)?.selector.clone()
    }

    fn is_scalable(&self, key: &ControllerKey) -> bool {
        self.scalable_kinds.contains(&key.kind)
    }
}

/// Everything one loop decides on.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// All VPAs (the plan filters by mode and namespace).
    pub vpas: Vec<Arc<VerticalPodAutoscaler>>,
    /// Scheduled pods not Succeeded/Failed (the plan drops those being deleted).
    pub pods: Vec<Arc<Pod>>,
    /// All LimitRanges.
    pub limit_ranges: Vec<LimitRange>,
    /// Controllers for matching and replica counts.
    pub controllers: Controllers,
}
