//! Pod → topmost controller through ownerReferences (pure; objects come from a lookup).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};

/// Controller kinds the VPA knows without asking for a scale subresource.
pub const WELL_KNOWN_KINDS: [&str; 7] = [
    "CronJob",
    "DaemonSet",
    "Deployment",
    "Job",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
];

/// A controller object in the pod's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControllerKey {
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// API version as written in the owner reference, e.g. `apps/v1`.
    pub api_version: String,
}

impl ControllerKey {
    /// The key an owner reference points at.
    pub fn from_owner(owner: &OwnerReference) -> Self {
        Self {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
            api_version: owner.api_version.clone(),
        }
    }

    /// Whether the kind is one of [`WELL_KNOWN_KINDS`].
    pub fn is_well_known(&self) -> bool {
        WELL_KNOWN_KINDS.contains(&self.kind.as_str())
    }
}

/// Read access to the controllers of the cluster (usually a watch cache), so matching stays pure.
pub trait ControllerLookup {
    /// The ownerReferences of a controller in `namespace`; `None` when the object is unknown.
    fn owner_references(&self, namespace: &str, key: &ControllerKey)
    -> Option<Vec<OwnerReference>>;
    /// The pod selector of a controller (for a ReplicationController or CronJob, the labels as
    /// `matchLabels`); `None` when the object is unknown or has no selector.
    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<LabelSelector>;
    /// Whether a kind outside [`WELL_KNOWN_KINDS`] has a scale subresource. Default: no.
    fn is_scalable(&self, _key: &ControllerKey) -> bool {
        false
    }
}

/// Why the controller of a pod could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    /// A well-known controller in the ownership chain is not in the cache.
    #[error("{} {}/{} does not exist", .key.kind, .namespace, .key.name)]
    Missing {
        /// Namespace of the chain.
        namespace: String,
        /// The missing controller.
        key: ControllerKey,
    },
    /// The ownership chain loops.
    #[error("cycle detected in ownership chain at {} {}", .0.kind, .0.name)]
    Cycle(ControllerKey),
}

impl OwnerError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "controller_missing",
            Self::Cycle(_) => "ownership_cycle",
        }
    }
}

/// The owner reference marked `controller: true`, if any.
pub fn controller_ref(owners: &[OwnerReference]) -> Option<&OwnerReference> {
    owners.iter().find(|o| o.controller == Some(true))
}

/// Walks from the object owning a pod (its `controller: true` reference) up the ownership chain
/// and returns the topmost controller that is well known or scalable. `Ok(None)` for a pod with
/// no controller, a pod owned by a Node (static pods), or a chain with no such controller.
pub fn topmost_controller(
    namespace: &str,
    pod_owners: &[OwnerReference],
    lookup: &(impl ControllerLookup + ?Sized),
) -> Result<Option<ControllerKey>, OwnerError> {
    match controller_ref(pod_owners) {
        Some(first) => topmost_controller_from(namespace, ControllerKey::from_owner(first), lookup),
        None => Ok(None),
    }
}

/// [`topmost_controller`] for a pod whose controlling owner reference is already known as
/// `first` (callers that keep only that reference of each pod, to save memory).
pub fn topmost_controller_from(
    namespace: &str,
    first: ControllerKey,
    lookup: &(impl ControllerLookup + ?Sized),
) -> Result<Option<ControllerKey>, OwnerError> {
    if first.kind == "Node" {
        return Ok(None);
    }
    let mut key = first;
    let mut visited = BTreeSet::new();
    let mut topmost = None;
    loop {
        let known = key.is_well_known();
        if known || lookup.is_scalable(&key) {
            topmost = Some(key.clone());
        }
        if !visited.insert(key.clone()) {
            return Err(OwnerError::Cycle(key));
        }
        let owners = match lookup.owner_references(namespace, &key) {
            Some(owners) => owners,
            None if known => {
                return Err(OwnerError::Missing {
                    namespace: namespace.to_string(),
                    key,
                });
            }
            None => return Ok(topmost),
        };
        match controller_ref(&owners) {
            Some(parent) => key = ControllerKey::from_owner(parent),
            None => return Ok(topmost),
        }
    }
}
