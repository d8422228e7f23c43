//! Plain-data inputs of capping: recommendations and pod containers in integer amounts (pure).

use k8s_openapi::api::core::v1::Container;

use crate::api::{RecommendedContainerResources, ResourceList, VerticalPodAutoscaler};
use crate::quantity::QuantityError;
use crate::resources::{self, Amounts};

/// One container's recommendation in integer amounts (millicores for CPU, bytes for memory).
/// An empty map stands for an absent field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerRecommendation {
    /// Name of the container.
    pub container_name: String,
    /// Recommended requests.
    pub target: Amounts,
    /// Lowest reasonable requests.
    pub lower_bound: Amounts,
    /// Highest reasonable requests.
    pub upper_bound: Amounts,
    /// Target before any capping; informational, never capped.
    pub uncapped_target: Amounts,
}

fn opt_amounts(list: Option<&ResourceList>) -> Result<Amounts, QuantityError> {
    list.map(resources::amounts)
        .transpose()
        .map(Option::unwrap_or_default)
}

fn opt_list(amounts: &Amounts) -> Option<ResourceList> {
    (!amounts.is_empty()).then(|| resources::resource_list(amounts))
}

impl ContainerRecommendation {
    /// A recommendation with only a target.
    pub fn new(container_name: impl Into<String>, target: Amounts) -> Self {
        Self {
            container_name: container_name.into(),
            target,
            ..Default::default()
        }
    }

    /// Reads a status entry; fails on the first unparsable quantity.
    pub fn from_api(rec: &RecommendedContainerResources) -> Result<Self, QuantityError> {
        Ok(Self {
            container_name: rec.container_name.clone().unwrap_or_default(),
            target: resources::amounts(&rec.target)?,
            lower_bound: opt_amounts(rec.lower_bound.as_ref())?,
            upper_bound: opt_amounts(rec.upper_bound.as_ref())?,
            uncapped_target: opt_amounts(rec.uncapped_target.as_ref())?,
        })
    }

    /// The status entry for this recommendation; empty bounds are left out.
    pub fn to_api(&self) -> RecommendedContainerResources {
        RecommendedContainerResources {
            container_name: Some(self.container_name.clone()),
            target: resources::resource_list(&self.target),
            lower_bound: opt_list(&self.lower_bound),
            upper_bound: opt_list(&self.upper_bound),
            uncapped_target: opt_list(&self.uncapped_target),
        }
    }
}

/// The container recommendations in a VPA's status (empty when it has none).
pub fn recommendations_from_status(
    vpa: &VerticalPodAutoscaler,
) -> Result<Vec<ContainerRecommendation>, QuantityError> {
    vpa.status
        .as_ref()
        .and_then(|s| s.recommendation.as_ref())
        .and_then(|r| r.container_recommendations.as_ref())
        .map(|recs| recs.iter().map(ContainerRecommendation::from_api).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// A pod container as capping sees it: its name and current requests and limits in integer
/// amounts. `has_requests` / `has_limits` tell an absent map from an empty one, which the
/// admission controller's patches need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodContainer {
    /// Name of the container.
    pub name: String,
    /// Current requests (unparsable quantities are left out).
    pub requests: Amounts,
    /// Current limits (unparsable quantities are left out).
    pub limits: Amounts,
    /// Whether `resources.requests` is present in the pod spec.
    pub has_requests: bool,
    /// Whether `resources.limits` is present in the pod spec.
    pub has_limits: bool,
}

fn lossy(list: &ResourceList) -> Amounts {
    list.iter()
        .filter_map(|(name, q)| Some((name.clone(), resources::amount(name, q).ok()?)))
        .collect()
}

impl PodContainer {
    /// The view of a `core/v1` container.
    pub fn from_container(container: &Container) -> Self {
        let res = container.resources.as_ref();
        let requests = res.and_then(|r| r.requests.as_ref());
        let limits = res.and_then(|r| r.limits.as_ref());
        Self {
            name: container.name.clone(),
            requests: requests.map(lossy).unwrap_or_default(),
            limits: limits.map(lossy).unwrap_or_default(),
            has_requests: requests.is_some(),
            has_limits: limits.is_some(),
        }
    }

    /// A container with the given requests and limits (both present).
    pub fn new(name: impl Into<String>, requests: Amounts, limits: Amounts) -> Self {
        Self {
            name: name.into(),
            has_requests: true,
            has_limits: true,
            requests,
            limits,
        }
    }
}
