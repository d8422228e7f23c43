//! New requests and limits for a pod's containers from its VPA (pure), as the admission
//! controller writes them at creation and the updater applies them in place.
//!
//! The VPA's recommendation is capped for the pod ([`crate::capping::cap_for_pod`]); each
//! container with a recommendation gets the capped target as requests and, under
//! `RequestsAndLimits`, limits scaled in proportion (the LimitRange container `default` stands
//! in for a missing limit). Amounts are millicores for CPU and bytes for memory.

use crate::api::{ContainerControlledValues, UpdateMode, VerticalPodAutoscaler};
use crate::capping::{PodContainer, cap_for_pod, recommendations_from_status};
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
    let has_recommendation = vpa
        .status
        .as_ref()
        .is_some_and(|s| s.recommendation.is_some());
    if !has_recommendation {
        return Ok(vec![None; containers.len()]);
    }
    let recs = recommendations_from_status(vpa)?;
    let pod_policy = vpa.spec.resource_policy.as_ref();
    let mut capped = cap_for_pod(&recs, pod_policy, containers, limits);
    // Upstream reads controlledValues from the policy only when the VPA is not Off.
    let values_policy = (policy::update_mode(vpa) != UpdateMode::Off)
        .then_some(pod_policy)
        .flatten();
    let default_limits = limits.container_defaults();
    Ok(containers
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
        .collect())
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
