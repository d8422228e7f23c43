//! Which pods of a VPA need an update, and in which order (pure; upstream `pkg/updater/priority`).
//!
//! For each pod, the (capped) recommendation is compared with the pod's current requests:
//! - *scale up*: some container's target is above its request, or a recommended resource has no
//!   request at all;
//! - *outside the recommended range*: some request is below `lowerBound` or above `upperBound`
//!   (or missing);
//! - *resource diff*: for each resource, |Σ requests − Σ targets| / max(Σ requests, 1), summed
//!   over resources, with every amount in milli-units (millicores, millibytes), so 0.1 means the
//!   pod is 10 % away from its recommendation;
//! - *quick OOM*: an observed container was OOM-killed less than `evict-after-oom-threshold`
//!   after it started.
//!
//! A pod outside its range, or with a quick OOM, is updated at once. A pod inside its range is
//! updated only when it has run for the lifetime threshold (12h) and its diff reaches the
//! threshold (0.1). Pods that want to grow go first, then larger diffs. Pods to evict then pass
//! the VPA's `evictionRequirements` ([`admit_evictions`]); pods resized in place do not.

mod milli;
mod requirements;
#[cfg(test)]
mod tests;

pub(crate) use milli::milli;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::{
    ContainerResourcePolicy, ContainerScalingMode, DEFAULT_CONTAINER_POLICY,
    RecommendedContainerResources, VerticalPodAutoscaler,
};

use crate::pod;
use crate::time::{add, elapsed};

pub use requirements::{admit_evictions, eviction_requirements_allow};

/// Tunables of the priority calculation (upstream `UpdateConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct PriorityConfig {
    /// Smallest resource diff (a fraction, 0.1 = 10 %) that updates a pod inside its range
    /// (`--pod-update-threshold`).
    pub min_change_priority: f64,
    /// How long a pod inside its range must have run before it is updated
    /// (`--in-recommendation-bounds-eviction-lifetime-threshold`, 12h).
    pub pod_lifetime_update_threshold: Duration,
    /// An OOM kill this soon after a container started updates the pod at once
    /// (`--evict-after-oom-threshold`, 10m).
    pub evict_after_oom_threshold: Duration,
    /// Honour the VPA's `evictAfterOOMSeconds` (feature gate `PerVPAConfig`).
    pub per_vpa_config: bool,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        Self {
            min_change_priority: 0.1,
            pod_lifetime_update_threshold: Duration::from_secs(12 * 3600),
            evict_after_oom_threshold: Duration::from_secs(10 * 60),
            per_vpa_config: false,
        }
    }
}

/// How urgently a pod needs new requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PodPriority {
    /// Some request lies outside [lowerBound, upperBound] or is missing.
    pub outside_recommended_range: bool,
    /// Some container wants more than it requests.
    pub scale_up: bool,
    /// Relative distance between requests and targets, summed over resources (fraction).
    pub resource_diff: f64,
}

impl PodPriority {
    /// Update order: scale-up pods first, then larger diffs first (`Less` means "earlier").
    pub fn update_order(&self, other: &Self) -> Ordering {
        other
            .scale_up
            .cmp(&self.scale_up)
            .then_with(|| other.resource_diff.total_cmp(&self.resource_diff))
    }
}

/// Why a pod is not updated this loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Skip {
    /// Inside its range and `status.startTime` is not set yet.
    MissingStartTime,
    /// Inside its range and younger than the lifetime threshold.
    RecentlyStarted,
    /// Inside its range and closer to the recommendation than the threshold.
    WithinThreshold,
    /// OOM-killed quickly, but the recommendation would not change its requests.
    OomWithoutChange,
    /// The VPA's `evictionRequirements` forbid this direction of change.
    EvictionRequirements,
}

impl Skip {
    /// Stable label for logs and metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::MissingStartTime => "MissingStartTime",
            Self::RecentlyStarted => "RecentlyStarted",
            Self::WithinThreshold => "WithinThreshold",
            Self::OomWithoutChange => "OomWithoutChange",
            Self::EvictionRequirements => "EvictionRequirements",
        }
    }
}

fn recommendation_for<'a>(
    recommendation: &'a [RecommendedContainerResources],
    container: &str,
) -> Option<&'a RecommendedContainerResources> {
    recommendation
        .iter()
        .find(|r| r.container_name.as_deref() == Some(container))
}

/// The container policy for `container`: its own entry, else the `*` entry.
pub fn container_policy<'a>(
    vpa: &'a VerticalPodAutoscaler,
    container: &str,
) -> Option<&'a ContainerResourcePolicy> {
    let policies = vpa
        .spec
        .resource_policy
        .as_ref()?
        .container_policies
        .as_deref()?;
    let by_name = |name: &str| {
        policies
            .iter()
            .find(|p| p.container_name.as_deref() == Some(name))
    };
    by_name(container).or_else(|| by_name(DEFAULT_CONTAINER_POLICY))
}

/// Compares the pod's requests with `recommendation` (already capped for this pod). Containers
/// not in `vpaObservedContainers` are ignored.
pub fn pod_priority(pod: &Pod, recommendation: &[RecommendedContainerResources]) -> PodPriority {
    let observed = pod::observed_containers(pod);
    let mut outside = false;
    let mut scale_up = false;
    let mut total_request: BTreeMap<&str, i64> = BTreeMap::new();
    let mut total_target: BTreeMap<&str, i64> = BTreeMap::new();
    for container in pod::all_containers(pod) {
        if observed
            .as_ref()
            .is_some_and(|o| !o.contains(&container.name))
        {
            continue;
        }
        let Some(rec) = recommendation_for(recommendation, &container.name) else {
            continue;
        };
        let requests = pod::container_requests(pod, container);
        for (resource, target) in &rec.target {
            let Some(target) = milli(target) else {
                continue;
            };
            *total_target.entry(resource).or_default() += target;
            let request = requests.and_then(|r| r.get(resource)).and_then(milli);
            let Some(request) = request else {
                scale_up = true;
                outside = true;
                continue;
            };
            *total_request.entry(resource).or_default() += request;
            scale_up |= target > request;
            let bound = |b: &Option<vpa_common::api::ResourceList>| {
                b.as_ref().and_then(|b| b.get(resource)).and_then(milli)
            };
            outside |= bound(&rec.lower_bound).is_some_and(|lower| request < lower)
                || bound(&rec.upper_bound).is_some_and(|upper| request > upper);
        }
    }
    let resource_diff = total_target
        .iter()
        .map(|(resource, &target)| {
            let request = total_request.get(resource).copied().unwrap_or(0).max(1) as f64;
            (request - target as f64).abs() / request
        })
        .sum();
    PodPriority {
        outside_recommended_range: outside,
        scale_up,
        resource_diff,
    }
}

/// Whether an observed container of a non-Off policy was OOM-killed less than the threshold
/// after it started (its last termination).
pub fn has_quick_oom(pod: &Pod, vpa: &VerticalPodAutoscaler, config: &PriorityConfig) -> bool {
    let threshold = oom_threshold(vpa, config);
    let observed = pod::observed_containers(pod);
    let Some(status) = pod.status.as_ref() else {
        return false;
    };
    status
        .container_statuses
        .iter()
        .chain(status.init_container_statuses.iter())
        .flatten()
        .filter(|cs| observed.as_ref().is_none_or(|o| o.contains(&cs.name)))
        .filter(|cs| {
            container_policy(vpa, &cs.name).and_then(|p| p.mode) != Some(ContainerScalingMode::Off)
        })
        .filter_map(|cs| cs.last_state.as_ref()?.terminated.as_ref())
        .any(|t| {
            t.reason.as_deref() == Some("OOMKilled")
                && match (&t.started_at, &t.finished_at) {
                    (Some(start), Some(end)) => elapsed(start.0, end.0) < threshold,
                    // Missing timestamps count as zero run time, as in Go's zero Time.
                    _ => true,
                }
        })
}

fn oom_threshold(vpa: &VerticalPodAutoscaler, config: &PriorityConfig) -> Duration {
    let per_vpa = vpa
        .spec
        .update_policy
        .as_ref()
        .and_then(|p| p.evict_after_oom_seconds)
        .filter(|_| config.per_vpa_config);
    match per_vpa {
        Some(seconds) => Duration::from_secs(u64::try_from(seconds).unwrap_or(0)),
        None => config.evict_after_oom_threshold,
    }
}

/// Whether a pod with `priority` should be updated now (upstream's admission to the update list).
pub fn admit(
    pod: &Pod,
    priority: &PodPriority,
    quick_oom: bool,
    now: Timestamp,
    config: &PriorityConfig,
) -> Result<(), Skip> {
    if !priority.outside_recommended_range && !quick_oom {
        let start = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .ok_or(Skip::MissingStartTime)?;
        if now < add(start.0, config.pod_lifetime_update_threshold) {
            return Err(Skip::RecentlyStarted);
        }
        if priority.resource_diff < config.min_change_priority {
            return Err(Skip::WithinThreshold);
        }
    }
    if quick_oom && priority.resource_diff == 0.0 {
        return Err(Skip::OomWithoutChange);
    }
    Ok(())
}

/// A pod accepted for update, with its priority and the recommendation it will get.
#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Its priority.
    pub priority: PodPriority,
    /// The capped recommendation for this pod (borrowed from the VPA when capping changed
    /// nothing).
    pub recommendation: Cow<'a, [RecommendedContainerResources]>,
}

/// Orders pods of one VPA for update. `pods` pairs each pod with its capped recommendation.
/// Returns the candidates (most urgent first) and the pods skipped with their reason. The VPA's
/// eviction requirements are not applied here: evictions pass through [`admit_evictions`].
pub fn prioritize<'a, R>(
    vpa: &VerticalPodAutoscaler,
    pods: impl IntoIterator<Item = (&'a Pod, R)>,
    now: Timestamp,
    config: &PriorityConfig,
) -> (Vec<Candidate<'a>>, Vec<(&'a Pod, Skip)>)
where
    R: Into<Cow<'a, [RecommendedContainerResources]>>,
{
    let mut accepted = Vec::new();
    let mut skipped = Vec::new();
    for (pod, recommendation) in pods {
        let recommendation = recommendation.into();
        let priority = pod_priority(pod, &recommendation);
        let quick_oom = has_quick_oom(pod, vpa, config);
        match admit(pod, &priority, quick_oom, now, config) {
            Ok(()) => accepted.push(Candidate {
                pod,
                priority,
                recommendation,
            }),
            Err(skip) => skipped.push((pod, skip)),
        }
    }
    accepted.sort_by(|a, b| a.priority.update_order(&b.priority));
    (accepted, skipped)
}
