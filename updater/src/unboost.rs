//! Scaling boosted pods back after their CPU startup boost (pure; alpha, feature gate
//! `CPUStartupBoost`; upstream 1.7.1 `GetExpiredStartupCPUBoostAnnotations`, `CanUnboost` and
//! the unboost branch of `updater/inplace/resource_updates.go`).
//!
//! The admission controller boosts a container's CPU at creation and records its original
//! resources in `vpaCpuStartupBoost/<container>` (see [`vpa_common::startup_boost`]). A boost
//! has expired once the pod's `Ready` condition has been `True` for longer than the container's
//! `durationSeconds` (at once when that is 0). The updater then resizes the pod in place:
//! expired containers go to the capped recommendation, or to their recorded original
//! resources when there is no recommendation or the VPA is `Off`; containers still boosted are
//! left alone; any other container gets the recommendation too (not in mode `Off`). A second
//! patch sets `vpaInPlaceUpdated` and removes the expired annotations.
//!
//! Unboosting spends the same disruption budget as an in-place update: the pod's replica group
//! must be known (a group below `minReplicas` still counts when it holds a boosted pod, see
//! [`crate::restriction`]) and disruptable, the pod not Pending and not already resizing.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use vpa_common::api::{UpdateMode, VerticalPodAutoscaler};
use vpa_common::capping::PodContainer;
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::pod_resources::{ContainerResources, resources_for_pod};
use vpa_common::startup_boost::{self, OriginalResources};
use vpa_common::{policy, resources};

use crate::config::UpdaterConfig;
use crate::inplace::{self, ContainerResize};
use crate::plan::VpaPlan;
use crate::pod;
use crate::restriction::{Blocked, Restriction};
use crate::snapshot::Snapshot;
use crate::time::elapsed;

/// A pod with at least one expired boost, and what to resize it to.
#[derive(Clone, Debug)]
pub struct Unboost<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Containers whose boost expired; their annotations are removed after the resize.
    pub expired: Vec<String>,
    /// The resize, or why none can be made (counted as `UnboostError`).
    pub resizes: Result<Vec<ContainerResize>, UnboostError>,
}

/// Why an expired boost cannot be scaled back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnboostError {
    /// The VPA's recommendation holds an unparsable quantity.
    #[error("bad recommendation: {0}")]
    Recommendation(String),
    /// A boost annotation is not the JSON the admission controller writes.
    #[error("bad annotation {annotation}: {message}")]
    BadAnnotation {
        /// The annotation key.
        annotation: String,
        /// The parse error.
        message: String,
    },
    /// Nothing would change: no recommendation and no recorded resources.
    #[error("no resource patches were calculated to apply")]
    NothingToResize,
}

/// Why a pod with an expired boost is not scaled back this loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnboostSkip {
    /// The pod is Pending.
    Pending,
    /// Its replica group is unknown or cannot be disrupted at all.
    Blocked(Blocked),
    /// A resize of the pod is pending or in progress.
    ResizeInProgress,
    /// Its group's disruption budget is spent this loop.
    DisruptionBudget,
}

impl UnboostSkip {
    /// Stable label for logs.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Blocked(b) => b.metric_label(),
            Self::ResizeInProgress => "ResizeInProgress",
            Self::DisruptionBudget => "DisruptionBudget",
        }
    }
}

/// Whether boosted pods of `vpa` are scaled back: the gate is on and the VPA has a boost, in any
/// update mode (upstream keeps such VPAs even in mode `Off` or `Initial`).
pub fn applies(vpa: &VerticalPodAutoscaler, config: &UpdaterConfig) -> bool {
    config.cpu_startup_boost && policy::has_startup_boost(vpa)
}

/// The containers of `pod` whose boost has expired at `now`: the pod is Ready, and has been for
/// longer than the container's `durationSeconds` (or that is 0). A Ready condition without a
/// transition time counts as Ready forever, as upstream's zero time does.
pub fn expired_boosts<'p>(
    pod: &'p Pod,
    vpa: &VerticalPodAutoscaler,
    now: Timestamp,
) -> Vec<&'p str> {
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .filter(|c| c.status == "True");
    let Some(ready) = ready else {
        return Vec::new();
    };
    let ready_for = ready
        .last_transition_time
        .as_ref()
        .map_or(Duration::MAX, |t| elapsed(t.0, now));
    startup_boost::boosted_containers(pod)
        .filter(|container| {
            let seconds = startup_boost::boost_duration_seconds(vpa, container);
            seconds <= 0 || ready_for > Duration::from_secs(seconds.unsigned_abs())
        })
        .collect()
}

/// Whether `pod` may be scaled back now (upstream `CanUnboost`, past its gate and expiry checks).
pub fn can_unboost(restriction: &Restriction, pod: &Pod) -> Result<(), UnboostSkip> {
    if pod::is_pending(pod) {
        return Err(UnboostSkip::Pending);
    }
    let group = restriction.stats(pod).map_err(UnboostSkip::Blocked)?;
    if pod::resize_status(pod).is_resizing() {
        return Err(UnboostSkip::ResizeInProgress);
    }
    if group.disruptable() {
        Ok(())
    } else {
        Err(UnboostSkip::DisruptionBudget)
    }
}

fn resize(index: usize, r: &ContainerResources) -> ContainerResize {
    ContainerResize {
        index,
        requests: resources::resource_list(&r.requests),
        limits: resources::resource_list(&r.limits),
    }
}

/// The resize that scales `pod` back, given its `expired` containers (see the module docs).
pub fn unboost_resizes(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    limits: &NamespaceLimits,
    expired: &[&str],
) -> Result<Vec<ContainerResize>, UnboostError> {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let views: Vec<PodContainer> = containers
        .iter()
        .map(PodContainer::from_container)
        .collect();
    let off = policy::update_mode(vpa) == UpdateMode::Off;
    let recommended = if off {
        vec![None; views.len()]
    } else {
        resources_for_pod(vpa, &views, limits)
            .map_err(|e| UnboostError::Recommendation(e.to_string()))?
    };
    let mut out = Vec::new();
    for (index, (container, rec)) in containers.iter().zip(&recommended).enumerate() {
        let name = container.name.as_str();
        let empty = rec
            .as_ref()
            .is_none_or(|r| r.requests.is_empty() && r.limits.is_empty());
        let target = if expired.contains(&name) {
            let original = OriginalResources::recorded(pod, name).map_err(|e| {
                UnboostError::BadAnnotation {
                    annotation: startup_boost::annotation_key(name),
                    message: e.to_string(),
                }
            })?;
            match original {
                Some(original) if empty => Some(ContainerResize {
                    index,
                    requests: original.requests,
                    limits: original.limits,
                }),
                _ => rec.as_ref().map(|r| resize(index, r)),
            }
        } else if startup_boost::boosted_containers(pod).any(|c| c == name) || off {
            None
        } else {
            rec.as_ref().map(|r| resize(index, r))
        };
        out.extend(target.filter(|r| !(r.requests.is_empty() && r.limits.is_empty())));
    }
    if out.is_empty() {
        return Err(UnboostError::NothingToResize);
    }
    Ok(out)
}

/// The pods of `vpa` with an expired boost at `now`, each with its resize. Call only with the
/// feature gate on and a VPA that has a boost.
pub fn plan<'a>(
    vpa: &VerticalPodAutoscaler,
    pods: &[&'a Pod],
    limits: &NamespaceLimits,
    now: Timestamp,
) -> Vec<Unboost<'a>> {
    pods.iter()
        .filter_map(|&pod| {
            let expired = expired_boosts(pod, vpa, now);
            if expired.is_empty() {
                return None;
            }
            Some(Unboost {
                pod,
                resizes: unboost_resizes(vpa, pod, limits, &expired),
                expired: expired.into_iter().map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// The plan of a VPA handled only for its startup boost (its mode updates no running pod, or
/// it has no recommendation yet): the boosted pods to scale back.
pub fn vpa_plan<'a>(
    vpa: &'a VerticalPodAutoscaler,
    pods: Vec<&'a Pod>,
    snapshot: &Snapshot,
    limits: &NamespaceLimits,
    now: Timestamp,
    config: &UpdaterConfig,
) -> VpaPlan<'a> {
    let restriction = Restriction::new(
        vpa,
        pods.iter().copied(),
        |key| crate::snapshot::group_replicas(&snapshot.controllers, key),
        &config.restriction,
    );
    VpaPlan {
        vpa,
        mode: policy::update_mode(vpa),
        unboost: plan(vpa, &pods, limits, now),
        pods,
        restriction,
        in_place: Vec::new(),
        evict: Vec::new(),
        skipped: Vec::new(),
    }
}

/// The JSON patch after a successful unboost: `vpaInPlaceUpdated: "true"` (as every in-place
/// resize sets it), then one `remove` per expired boost annotation.
pub fn annotation_patch(pod: &Pod, expired: &[String]) -> Value {
    let mut ops = match inplace::annotation_patch(pod) {
        Value::Array(ops) => ops,
        other => vec![other],
    };
    for container in expired {
        let key = startup_boost::annotation_key(container)
            .replace('~', "~0")
            .replace('/', "~1");
        ops.push(json!({"op": "remove", "path": format!("/metadata/annotations/{key}")}));
    }
    Value::Array(ops)
}

#[cfg(test)]
mod tests;
