//! The VPA's `evictionRequirements` filter (pure): only scale up, only scale down, per resource.

use k8s_openapi::api::core::v1::Pod;
use vpa_common::api::{
    EvictionChangeRequirement, RecommendedContainerResources, VerticalPodAutoscaler,
};
use vpa_common::resources::{CPU, MEMORY};

use super::milli;
use crate::pod;

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
