//! The VPA's `evictionRequirements` filter (pure): only scale up, only scale down, per resource.
//!
//! As the field's name says, the requirements gate evictions: upstream 1.7.1 also applied them to
//! in-place resizes (kubernetes/autoscaler#10181), which kept e.g. a memory scale-up from being
//! resized in place under `TargetLowerThanRequests`; this follows the fix of
//! kubernetes/autoscaler#10219, which checks them only before evicting (including the
//! `InPlaceOrRecreate` fallback to eviction).

use k8s_openapi::api::core::v1::Pod;
use vpa_common::api::{
    EvictionChangeRequirement, RecommendedContainerResources, VerticalPodAutoscaler,
};
use vpa_common::resources::{CPU, MEMORY};

use super::{Candidate, Skip, milli};
use crate::pod;

/// Splits `candidates` (their order kept) into the pods the VPA's eviction requirements let be
/// evicted and the pods they keep, with [`Skip::EvictionRequirements`] (upstream's
/// scaling-direction `PodEvictionAdmission`).
pub fn admit_evictions<'a>(
    vpa: &VerticalPodAutoscaler,
    candidates: Vec<Candidate<'a>>,
) -> (Vec<Candidate<'a>>, Vec<(&'a Pod, Skip)>) {
    let (allowed, denied): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|c| eviction_requirements_allow(vpa, c.pod, &c.recommendation));
    let denied = denied
        .into_iter()
        .map(|c| (c.pod, Skip::EvictionRequirements))
        .collect();
    (allowed, denied)
}

/// Whether the VPA's eviction requirements let `pod` move to `recommendation`.
///
/// A pod passes when the VPA has no requirements, or when some container with a recommendation
/// either lacks a CPU or memory request, or meets every requirement: for each requirement, at
/// least one listed resource has target above (`TargetHigherThanRequests`) or below
/// (`TargetLowerThanRequests`) its request, compared in milli-units.
pub fn eviction_requirements_allow(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    recommendation: &[RecommendedContainerResources],
) -> bool {
    let requirements = vpa
        .spec
        .update_policy
        .as_ref()
        .and_then(|p| p.eviction_requirements.as_deref())
        .unwrap_or_default();
    if requirements.is_empty() {
        return true;
    }
    pod::all_containers(pod).any(|container| {
        let Some(rec) = recommendation
            .iter()
            .find(|r| r.container_name.as_deref() == Some(container.name.as_str()))
        else {
            return false;
        };
        let requests = pod::container_requests(pod, container);
        let request = |resource: &str| requests.and_then(|r| r.get(resource)).and_then(milli);
        if request(CPU).is_none() || request(MEMORY).is_none() {
            return true;
        }
        requirements.iter().all(|req| {
            req.resources.iter().any(|resource| {
                let target = rec.target.get(resource).and_then(milli);
                match (target, request(resource)) {
                    (Some(target), Some(request)) => match req.change_requirement {
                        EvictionChangeRequirement::TargetHigherThanRequests => target > request,
                        EvictionChangeRequirement::TargetLowerThanRequests => target < request,
                    },
                    _ => false,
                }
            })
        })
    })
}
