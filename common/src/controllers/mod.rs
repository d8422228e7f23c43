//! The well-known controllers every component looks up (Deployments, ReplicaSets, StatefulSets,
//! DaemonSets, Jobs, CronJobs, ReplicationControllers): what is kept of each ([`ControllerInfo`],
//! pure), the index that answers [`ControllerLookup`](crate::matching::ControllerLookup) from
//! those records with the scale-subresource fallback for other kinds ([`ControllerIndex`],
//! pure), and the watches that fill it ([`ControllerWatches`], edge).
//!
//! Every component keeps the same compact record instead of the decoded object: at 10k
//! Deployments a decoded object costs kilobytes even with its template cleared, a record a few
//! dozen bytes plus its selector. A record keeps only what matching and replica counts read: the
//! controlling owner reference (the ownership walk follows no other), the pod selector unless a
//! well-known controller runs this one (such a controller is never a VPA target, see
//! `topmost_controller`; at 10k Deployments their ReplicaSets' selectors took 5 MiB), and the
//! replica count.

mod index;
mod watches;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ReplicationController;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

pub use index::{ControllerIndex, ControllerMap, ControllerRecords, Controllers, ScaleTargets};
pub use watches::ControllerWatches;

use crate::matching::{ControllerKey, selector_from_labels};

/// A controller's replica count, as the updater sizes replica groups and the admission
/// controller warns about single-replica targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replicas {
    /// `.spec.replicas` (Deployment, ReplicaSet, StatefulSet, ReplicationController).
    Desired(i32),
    /// A DaemonSet's `.status.numberReady`: it has no desired count.
    Ready(i32),
}

impl Replicas {
    /// The count, whichever it is.
    pub fn count(self) -> i64 {
        match self {
            Self::Desired(n) | Self::Ready(n) => i64::from(n),
        }
    }

    /// The desired count, `None` for a DaemonSet's ready count.
    pub fn desired(self) -> Option<i32> {
        match self {
            Self::Desired(n) => Some(n),
            Self::Ready(_) => None,
        }
    }
}

/// What is kept of one controller (see the module docs). 24 bytes, so that a record with its
/// `Arc` header fits jemalloc's 48-byte class.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerInfo {
    /// Its controlling owner reference (`controller: true`), if any.
    pub owner: Option<Box<OwnerReference>>,
    /// Its pod selector (for a ReplicationController or CronJob, the labels as `matchLabels`).
    /// Shared with the targets resolved from it: a selector's map costs about 500 bytes.
    pub selector: Option<Arc<LabelSelector>>,
    /// Its replica count, when it has one.
    pub replicas: Option<Replicas>,
}

impl ControllerInfo {
    /// A record of these parts as given (tests and benchmarks build them by hand).
    pub fn new(
        owner: Option<OwnerReference>,
        selector: Option<LabelSelector>,
        replicas: Option<Replicas>,
    ) -> Self {
        Self {
            owner: owner.map(Box::new),
            selector: selector.map(Arc::new),
            replicas,
        }
    }

    /// The record of an object with `meta`, `selector` and `replicas`: only the controlling
    /// owner reference is kept, and no selector when that owner is well known.
    pub fn from_object(
        meta: ObjectMeta,
        selector: Option<LabelSelector>,
        replicas: Option<Replicas>,
    ) -> Self {
        let owner = meta
            .owner_references
            .into_iter()
            .flatten()
            .find(|o| o.controller == Some(true));
        let targetable = owner
            .as_ref()
            .is_none_or(|o| !ControllerKey::from_owner(o).is_well_known());
        Self::new(owner, selector.filter(|_| targetable), replicas)
    }

    /// Its owner references: the controlling one, or none.
    pub fn owner_references(&self) -> &[OwnerReference] {
        self.owner
            .as_deref()
            .map(std::slice::from_ref)
            .unwrap_or_default()
    }
}

/// The record of a Deployment.
pub fn deployment(d: Deployment) -> ControllerInfo {
    let spec = d.spec;
    let replicas = spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(Replicas::Desired);
    ControllerInfo::from_object(d.metadata, spec.map(|s| s.selector), replicas)
}

/// The record of a ReplicaSet.
pub fn replica_set(r: ReplicaSet) -> ControllerInfo {
    let spec = r.spec;
    let replicas = spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(Replicas::Desired);
    ControllerInfo::from_object(r.metadata, spec.map(|s| s.selector), replicas)
}

/// The record of a StatefulSet.
pub fn stateful_set(s: StatefulSet) -> ControllerInfo {
    let spec = s.spec;
    let replicas = spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(Replicas::Desired);
    ControllerInfo::from_object(s.metadata, spec.map(|s| s.selector), replicas)
}

/// The record of a DaemonSet: its ready pods count as its replicas.
pub fn daemon_set(d: DaemonSet) -> ControllerInfo {
    let replicas = d.status.map(|s| Replicas::Ready(s.number_ready));
    ControllerInfo::from_object(d.metadata, d.spec.map(|s| s.selector), replicas)
}

/// The record of a Job (no replica count).
pub fn job(j: Job) -> ControllerInfo {
    ControllerInfo::from_object(j.metadata, j.spec.and_then(|s| s.selector), None)
}

/// The record of a CronJob: it selects the pods of its jobs by the job template's pod labels.
pub fn cron_job(c: CronJob) -> ControllerInfo {
    let selector = c
        .spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .and_then(|j| j.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .map(selector_from_labels);
    ControllerInfo::from_object(c.metadata, selector, None)
}

/// The record of a ReplicationController: its selector is a label map, defaulting to its
/// template's labels (as the API server defaults it).
pub fn replication_controller(rc: ReplicationController) -> ControllerInfo {
    let spec = rc.spec.as_ref();
    let selector = spec.and_then(|spec| {
        spec.selector
            .as_ref()
            .or_else(|| {
                spec.template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.as_ref())
            })
            .map(selector_from_labels)
    });
    let replicas = spec.and_then(|s| s.replicas).map(Replicas::Desired);
    ControllerInfo::from_object(rc.metadata, selector, replicas)
}

#[cfg(test)]
mod tests;
