//! New requests and limits for a pod's containers from its VPA (pure), as the admission
//! controller writes them at creation and the updater applies them in place.
//!
//! The VPA's recommendation is capped for the pod ([`crate::capping::cap_for_pod`]); each
//! container with a recommendation gets the capped target as requests and, under
//! `RequestsAndLimits`, limits scaled in proportion (the LimitRange container `default` stands
//! in for a missing limit). Amounts are millicores for CPU and bytes for memory.

use crate::api::{ContainerControlledValues, UpdateMode, VerticalPodAutoscaler};
use crate::capping::{
    ContainerRecommendation, PodContainer, cap_for_pod, recommendations_from_status,
};
use crate::limitrange::NamespaceLimits;
use crate::limits::proportional_limits;
use crate::policy;
use crate::quantity::QuantityError;
use crate::resources::Amounts;

/// What to set on one container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerResources {
    /// Requests to set.
    pub requests: Amounts,
    /// Limits to set; empty when limits stay as they are.
    pub limits: Amounts,
    /// Notes for the `vpaUpdates` annotation (capping, then limit notes).
    pub notes: Vec<String>,
}

/// New resources for each of `containers` (same order); `None` for a container without a
/// recommendation. A VPA without a recommendation gives all `None`. Fails only when the VPA's
/// recommendation holds an unparsable quantity.
pub fn resources_for_pod(
    vpa: &VerticalPodAutoscaler,
    containers: &[PodContainer],
    limits: &NamespaceLimits,
) -> Result<Vec<Option<ContainerResources>>, QuantityError> {
    let recs = parsed_recommendation(vpa)?;
    Ok(resources_for_pod_parsed(
        vpa,
        recs.as_deref(),
        containers,
        limits,
    ))
}

/// The VPA's recommendation in integer amounts, as [`resources_for_pod_parsed`] takes it:
/// `None` when the status has no recommendation at all. Fails on the first unparsable
/// quantity. A caller that sees the same VPA version many times (the admission controller,
/// once per pod) parses it once with this and keeps the result.
pub fn parsed_recommendation(
    vpa: &VerticalPodAutoscaler,
) -> Result<Option<Vec<ContainerRecommendation>>, QuantityError> {
    let has_recommendation = vpa
        .status
        .as_ref()
        .is_some_and(|s| s.recommendation.is_some());
    if !has_recommendation {
        return Ok(None);
    }
    recommendations_from_status(vpa).map(Some)
}

/// [`resources_for_pod`] with the VPA's recommendation already parsed by
/// [`parsed_recommendation`] (`recs` is `None` when the VPA has no recommendation). The VPA
/// itself is read only for its resource policy and update mode.
pub fn resources_for_pod_parsed(
    vpa: &VerticalPodAutoscaler,
    recs: Option<&[ContainerRecommendation]>,
    containers: &[PodContainer],
    limits: &NamespaceLimits,
) -> Vec<Option<ContainerResources>> {
    let Some(recs) = recs else {
        return vec![None; containers.len()];
    };
    let pod_policy = vpa.spec.resource_policy.as_ref();
    let mut capped = cap_for_pod(recs, pod_policy, containers, limits);
    // Upstream reads controlledValues from the policy only when the VPA is not Off.
    let values_policy = (policy::update_mode(vpa) != UpdateMode::Off)
        .then_some(pod_policy)
        .flatten();
    let default_limits = limits.container_defaults();
    containers
        .iter()
        .map(|c| {
            let rec = capped
                .recommendations
                .iter()
                .find(|r| r.container_name == c.name)?;
            let mut out = ContainerResources {
                requests: rec.target.clone(),
                limits: Amounts::new(),
                notes: capped.notes.remove(&c.name).unwrap_or_default(),
            };
            if policy::controlled_values(&c.name, values_policy)
                == ContainerControlledValues::RequestsAndLimits
            {
                let (limits, notes) =
                    proportional_limits(&c.limits, &c.requests, &out.requests, &default_limits);
                if let Some(limits) = limits {
                    out.limits = limits;
                    out.notes.extend(notes);
                }
            }
            Some(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::UpdateMode;
    use crate::resources::{CPU, MEMORY};
    use crate::testutil::{PodBuilder, VpaBuilder};

    const MI: i64 = 1 << 20;

    fn containers(pod: &k8s_openapi::api::core::v1::Pod) -> Vec<PodContainer> {
        pod.spec
            .as_ref()
            .unwrap()
            .containers
            .iter()
            .map(PodContainer::from_container)
            .collect()
    }

    fn cpu_mem(cpu: i64, mem: i64) -> Amounts {
        [(CPU.to_string(), cpu), (MEMORY.to_string(), mem)].into()
    }

    #[test]
    fn new_requests_with_limits_in_proportion() {
        let vpa = VpaBuilder::new("ns", "v")
            .container("app")
            .target("250m", "200Mi")
            .build();
        let pod = PodBuilder::new("ns", "p")
            .container("app")
            .requests("100m", "100Mi")
            .limits("150m", "200Mi")
            .build();
        let got = resources_for_pod(&vpa, &containers(&pod), &NamespaceLimits::default()).unwrap();
        let app = got[0].as_ref().unwrap();
        assert_eq!(app.requests, cpu_mem(250, 200 * MI));
        assert_eq!(app.limits, cpu_mem(375, 400 * MI));
        assert!(app.notes.is_empty());
    }

    #[test]
    fn requests_only_leaves_limits_alone() {
        let vpa = VpaBuilder::new("ns", "v")
            .container("app")
            .target("250m", "200Mi")
            .controlled_values(ContainerControlledValues::RequestsOnly)
            .build();
        let pod = PodBuilder::new("ns", "p")
            .container("app")
            .requests("100m", "100Mi")
            .limits("500m", "500Mi")
            .build();
        let got = resources_for_pod(&vpa, &containers(&pod), &NamespaceLimits::default()).unwrap();
        let app = got[0].as_ref().unwrap();
        assert_eq!(app.requests, cpu_mem(250, 200 * MI));
        assert!(app.limits.is_empty());
    }

    #[test]
    fn container_without_recommendation_keeps_its_resources() {
        let vpa = VpaBuilder::new("ns", "v")
            .container("app")
            .target("250m", "200Mi")
            .build();
        let pod = PodBuilder::new("ns", "p")
            .container("app")
            .container("sidecar")
            .requests("10m", "10Mi")
            .build();
        let got = resources_for_pod(&vpa, &containers(&pod), &NamespaceLimits::default()).unwrap();
        assert!(got[0].is_some());
        assert!(got[1].is_none());
    }

    #[test]
    fn vpa_without_recommendation_changes_nothing() {
        let vpa = VpaBuilder::new("ns", "v").mode(UpdateMode::Initial).build();
        let pod = PodBuilder::new("ns", "p").container("app").build();
        let got = resources_for_pod(&vpa, &containers(&pod), &NamespaceLimits::default()).unwrap();
        assert_eq!(got, vec![None]);
    }

    #[test]
    fn parsed_once_gives_the_same_resources() {
        let vpa = VpaBuilder::new("ns", "v")
            .container("app")
            .target("250m", "200Mi")
            .build();
        let pod = PodBuilder::new("ns", "p")
            .container("app")
            .requests("100m", "100Mi")
            .limits("150m", "200Mi")
            .build();
        let (c, l) = (containers(&pod), NamespaceLimits::default());
        let recs = parsed_recommendation(&vpa).unwrap();
        assert_eq!(recs.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            resources_for_pod_parsed(&vpa, recs.as_deref(), &c, &l),
            resources_for_pod(&vpa, &c, &l).unwrap()
        );
        let none = VpaBuilder::new("ns", "v").build();
        assert_eq!(parsed_recommendation(&none).unwrap(), None);
        assert_eq!(resources_for_pod_parsed(&none, None, &c, &l), vec![None]);
    }

    #[test]
    fn one_resource_with_limit_notes_the_other() {
        let vpa = VpaBuilder::new("ns", "v")
            .container("app")
            .target("250m", "200Mi")
            .build();
        let pod = PodBuilder::new("ns", "p")
            .container("app")
            .requests("100m", "100Mi")
            .limits("200m", "")
            .build();
        let got = resources_for_pod(&vpa, &containers(&pod), &NamespaceLimits::default()).unwrap();
        let app = got[0].as_ref().unwrap();
        assert_eq!(app.limits, [(CPU.to_string(), 500)].into());
        assert_eq!(
            app.notes,
            vec!["memory: limit NOT set since originalLimit is nil or 0"]
        );
    }
}
