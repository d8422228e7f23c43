//! A VPA's recommendation per pod (pure): capped by the VPA's policy and the namespace's
//! LimitRanges as the admission controller caps it, and turned into in-place resizes.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::Pod;
use vpa_common::api::{PodResourcePolicy, RecommendedContainerResources, VerticalPodAutoscaler};
use vpa_common::capping::{
    ContainerRecommendation, PodContainer, cap_for_pod, recommendations_from_status,
};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::pod_resources::resources_for_pod;
use vpa_common::resources;

use crate::inplace::ContainerResize;
use crate::pod;

/// A VPA's recommendation, parsed once per loop (only when something caps it) and capped per
/// pod.
pub(super) struct Recommendation<'a> {
    api: &'a [RecommendedContainerResources],
    /// Parsed for capping; `None` when neither a policy nor a LimitRange caps it.
    parsed: Option<Vec<ContainerRecommendation>>,
    policy: Option<&'a PodResourcePolicy>,
}

impl<'a> Recommendation<'a> {
    pub(super) fn of(vpa: &'a VerticalPodAutoscaler, limits: &NamespaceLimits) -> Self {
        let api = vpa
            .status
            .as_ref()
            .and_then(|s| s.recommendation.as_ref())
            .and_then(|r| r.container_recommendations.as_deref())
            .unwrap_or_default();
        let policy = vpa.spec.resource_policy.as_ref();
        let capped = policy.is_some() || limits.pod.is_some() || limits.container.is_some();
        Self {
            api,
            parsed: capped.then(|| recommendations_from_status(vpa).unwrap_or_default()),
            policy,
        }
    }

    /// The recommendation capped for `pod`, in API form.
    pub(super) fn for_pod(
        &self,
        pod: &Pod,
        limits: &NamespaceLimits,
    ) -> Cow<'a, [RecommendedContainerResources]> {
        let Some(parsed) = &self.parsed else {
            // Nothing to cap against: capping would only drop entries for containers the pod
            // lacks, which every consumer ignores anyway, so borrow the VPA's recommendation and
            // skip the parse/format round trip (the hot path in large clusters).
            return Cow::Borrowed(self.api);
        };
        let containers: Vec<PodContainer> = pod::all_containers(pod)
            .map(PodContainer::from_container)
            .collect();
        cap_for_pod(parsed, self.policy, &containers, limits)
            .recommendations
            .iter()
            .map(|r| r.to_api())
            .collect::<Vec<_>>()
            .into()
    }
}

/// The VPA's recommendation capped for `pod` (policy and LimitRanges, as the admission
/// controller applies them), in API form.
pub fn capped_recommendation(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    limits: &NamespaceLimits,
) -> Vec<RecommendedContainerResources> {
    Recommendation::of(vpa, limits)
        .for_pod(pod, limits)
        .into_owned()
}

/// New requests and limits for each regular container of `pod`, for the resize subresource.
pub fn resizes_for(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    limits: &NamespaceLimits,
) -> Vec<ContainerResize> {
    let containers: Vec<PodContainer> = pod
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(PodContainer::from_container)
                .collect()
        })
        .unwrap_or_default();
    let Ok(per_container) = resources_for_pod(vpa, &containers, limits) else {
        return Vec::new();
    };
    per_container
        .into_iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let r = r?;
            Some(ContainerResize {
                index,
                requests: resources::resource_list(&r.requests),
                limits: resources::resource_list(&r.limits),
            })
        })
        .collect()
}
