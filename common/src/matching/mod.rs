//! Which VPA controls a pod (pure), per spec §5.
//!
//! The admission controller and the updater use the same rule: the pod's topmost controller
//! (ownerReferences walked upwards, see [`topmost_controller`]) must be the VPA's `targetRef`
//! (same namespace, kind and name), and the target's selector must select the pod's labels.
//! When several VPAs qualify, the one with the oldest `creationTimestamp` wins; on a tie the
//! smaller name. Callers pre-filter the candidates (for example by update mode, see
//! [`crate::policy::admission_applies`]).

mod owners;
mod selector;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use owners::{
    ControllerKey, ControllerLookup, OwnerError, WELL_KNOWN_KINDS, controller_ref,
    topmost_controller, topmost_controller_from,
};
pub use selector::{
    SelectorError, from_labels as selector_from_labels, matches as selector_matches,
};

use crate::api::VerticalPodAutoscaler;

/// Orders VPAs by strength: the older `creationTimestamp` first (a missing one is oldest), then
/// the smaller name. `Ordering::Less` means `a` wins over `b`.
pub fn compare_strength(a: &VerticalPodAutoscaler, b: &VerticalPodAutoscaler) -> Ordering {
    let time = |v: &VerticalPodAutoscaler| v.metadata.creation_timestamp.as_ref().map(|t| t.0);
    time(a)
        .cmp(&time(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Whether the VPA's `targetRef` names this controller (kind and name).
pub fn targets(vpa: &VerticalPodAutoscaler, controller: &ControllerKey) -> bool {
    vpa.spec.target_ref.kind == controller.kind && vpa.spec.target_ref.name == controller.name
}

/// The key of the VPA's target, for selector lookups.
pub fn target_key(vpa: &VerticalPodAutoscaler) -> ControllerKey {
    let t = &vpa.spec.target_ref;
    ControllerKey {
        kind: t.kind.clone(),
        name: t.name.clone(),
        api_version: t.api_version.clone().unwrap_or_default(),
    }
}

/// The strongest VPA among `candidates` (each with its target's selector) that is in
/// `namespace`, targets `controller` and whose selector selects `labels`. Candidates with an
/// invalid selector are skipped.
pub fn controlling_vpa<'a>(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    controller: &ControllerKey,
    candidates: impl IntoIterator<Item = (&'a VerticalPodAutoscaler, LabelSelector)>,
) -> Option<&'a VerticalPodAutoscaler> {
    candidates
        .into_iter()
        .filter(|(vpa, _)| vpa.metadata.namespace.as_deref().unwrap_or_default() == namespace)
        .filter(|(vpa, _)| targets(vpa, controller))
        .filter(|(_, sel)| selector_matches(sel, labels).unwrap_or(false))
        .map(|(vpa, _)| vpa)
        .min_by(|a, b| compare_strength(a, b))
}

/// The VPA controlling `pod` among `vpas`, resolving the pod's controller and each VPA's
/// selector through `lookup`. `Ok(None)` when the pod has no suitable controller or no VPA
/// matches; an error when the ownership chain is broken.
pub fn vpa_for_pod<'a>(
    pod: &Pod,
    vpas: impl IntoIterator<Item = &'a VerticalPodAutoscaler>,
    lookup: &(impl ControllerLookup + ?Sized),
) -> Result<Option<&'a VerticalPodAutoscaler>, OwnerError> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
    let Some(controller) = topmost_controller(namespace, owners, lookup)? else {
        return Ok(None);
    };
    let empty = BTreeMap::new();
    let labels = pod.metadata.labels.as_ref().unwrap_or(&empty);
    let candidates = vpas
        .into_iter()
        .filter(|vpa| targets(vpa, &controller))
        .filter_map(|vpa| Some((vpa, lookup.selector(namespace, &target_key(vpa))?)));
    Ok(controlling_vpa(namespace, labels, &controller, candidates))
}

#[cfg(test)]
mod tests;
