//! Capping recommendations to policies and LimitRanges (pure).
//!
//! Two entry points, one per kind of caller:
//!
//! * [`apply_vpa_policy`] — what the recommender writes to status: target, lowerBound and
//!   upperBound raised to the container policy's `minAllowed` and lowered to its `maxAllowed`
//!   (resources missing from `maxAllowed` take the optional global maximum of
//!   `--container-recommendation-max-allowed-*`). No LimitRange, no notes.
//! * [`cap_for_pod`] — what the admission controller and the updater apply to one pod: first the
//!   pod-level LimitRange (sums across containers), then per container the container LimitRange
//!   (as request bounds that keep the container's limit:request ratio), the policy's
//!   `minAllowed`/`maxAllowed`, and for `RequestsOnly` the container's current limit. Only the
//!   target collects notes ("cpu capped to maxAllowed", ...); the bounds are capped silently.
//!
//! `uncappedTarget` is never touched. Amounts are millicores for CPU and bytes for memory; zero
//! bounds are ignored, as upstream.

mod pod_limit_range;
mod types;

use std::collections::BTreeMap;

pub use types::{ContainerRecommendation, PodContainer, recommendations_from_status};

use crate::api::{ContainerControlledValues, ContainerResourcePolicy, PodResourcePolicy};
use crate::limitrange::{LimitBounds, NamespaceLimits};
use crate::limits::boundary_request;
use crate::policy;
use crate::resources::{self, Amounts, CPU, MEMORY};

/// Note for a value raised to the policy's `minAllowed`.
pub const CAPPED_TO_MIN_ALLOWED: &str = "capped to minAllowed";
/// Note for a value lowered to the policy's `maxAllowed`.
pub const CAPPED_TO_MAX_ALLOWED: &str = "capped to maxAllowed";
/// Note for a `RequestsOnly` request lowered to the container's limit.
pub const CAPPED_TO_LIMIT: &str = "capped to container limit";
/// Note for a request lowered so the limit fits the container LimitRange max.
pub const CAPPED_TO_LIMIT_RANGE_MAX: &str = "capped to fit Max in container LimitRange";
/// Note for a request raised so the request and limit fit the container LimitRange min.
pub const CAPPED_TO_LIMIT_RANGE_MIN: &str = "capped to fit Min in container LimitRange";

/// Per-container capping notes, keyed by container name, in the order they were made.
pub type CappingNotes = BTreeMap<String, Vec<String>>;

/// Recommendations capped for one pod, with the notes the admission controller writes into
/// `vpaUpdates`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CappedRecommendations {
    /// One entry per pod container that has a recommendation (see [`cap_for_pod`]).
    pub recommendations: Vec<ContainerRecommendation>,
    /// Notes on the target, per container; containers without notes are absent.
    pub notes: CappingNotes,
}

fn note(resource: &str, action: &str) -> String {
    format!("{resource} {action}")
}

fn lossy(list: Option<&crate::api::ResourceList>) -> Amounts {
    list.map(|l| {
        l.iter()
            .filter_map(|(name, q)| Some((name.clone(), resources::amount(name, q).ok()?)))
            .collect()
    })
    .unwrap_or_default()
}

/// Raises every value below a non-zero minimum to it and lowers every value above a non-zero
/// maximum to it; returns the notes (`"<resource> <min_note|max_note>"`) in resource order.
fn clamp(values: &mut Amounts, min: &Amounts, max: &Amounts, notes: (&str, &str)) -> Vec<String> {
    let mut made = Vec::new();
    for (resource, value) in values.iter_mut() {
        if let Some(&lo) = min.get(resource)
            && lo != 0
            && *value < lo
        {
            *value = lo;
            made.push(note(resource, notes.0));
        }
        if let Some(&hi) = max.get(resource)
            && hi != 0
            && *value > hi
        {
            *value = hi;
            made.push(note(resource, notes.1));
        }
    }
    made
}

fn policy_bounds(
    policy: Option<&ContainerResourcePolicy>,
    global_max: &Amounts,
) -> (Amounts, Amounts) {
    let min = lossy(policy.and_then(|p| p.min_allowed.as_ref()));
    let mut max = lossy(policy.and_then(|p| p.max_allowed.as_ref()));
    for (resource, value) in global_max {
        max.entry(resource.clone()).or_insert(*value);
    }
    (min, max)
}

/// The recommender's capping: each container's target, lowerBound and upperBound clamped to its
/// policy's `[minAllowed, maxAllowed]`; resources missing from `maxAllowed` are bounded by
/// `global_max_allowed` (empty for none). `uncappedTarget` is left as it is.
pub fn apply_vpa_policy(
    recommendations: &[ContainerRecommendation],
    policy: Option<&PodResourcePolicy>,
    global_max_allowed: &Amounts,
) -> Vec<ContainerRecommendation> {
    recommendations
        .iter()
        .map(|rec| {
            let container_policy = policy::container_policy(&rec.container_name, policy);
            let (min, max) = policy_bounds(container_policy, global_max_allowed);
            let mut out = rec.clone();
            for values in [&mut out.target, &mut out.lower_bound, &mut out.upper_bound] {
                clamp(
                    values,
                    &min,
                    &max,
                    (CAPPED_TO_MIN_ALLOWED, CAPPED_TO_MAX_ALLOWED),
                );
            }
            out
        })
        .collect()
}

/// The admission controller's and updater's capping of `recommendations` for a pod whose
/// containers are `containers`, in the namespace whose LimitRanges are `limits`.
///
/// Recommendations for containers the pod does not have are dropped. When a pod LimitRange
/// exists, containers without a recommendation take part with their current requests, and come
/// back with a recommendation equal to those requests as capped (upstream does the same).
pub fn cap_for_pod(
    recommendations: &[ContainerRecommendation],
    policy: Option<&PodResourcePolicy>,
    containers: &[PodContainer],
    limits: &NamespaceLimits,
) -> CappedRecommendations {
    let mut recs = recommendations.to_vec();
    if let Some(pod_bounds) = &limits.pod {
        pod_limit_range::cap(&mut recs, containers, pod_bounds);
    }
    let mut out = CappedRecommendations::default();
    for mut rec in recs {
        let Some(container) = containers.iter().find(|c| c.name == rec.container_name) else {
            continue;
        };
        let notes = cap_container(&mut rec, container, policy, limits.container.as_ref());
        if !notes.is_empty() {
            out.notes.insert(rec.container_name.clone(), notes);
        }
        out.recommendations.push(rec);
    }
    out
}

/// Caps one container's recommendation; returns the notes made on its target.
fn cap_container(
    rec: &mut ContainerRecommendation,
    container: &PodContainer,
    policy: Option<&PodResourcePolicy>,
    limit_range: Option<&LimitBounds>,
) -> Vec<String> {
    let container_policy = policy::container_policy(&container.name, policy);
    let (min_allowed, max_allowed) = policy_bounds(container_policy, &Amounts::new());
    let (lr_min, lr_max) = limit_range
        .map(|lr| container_limit_range_bounds(container, lr))
        .unwrap_or_default();
    let requests_only = policy::controlled_values(&container.name, policy)
        == ContainerControlledValues::RequestsOnly;
    let mut target_notes = Vec::new();
    for (i, values) in [&mut rec.target, &mut rec.lower_bound, &mut rec.upper_bound]
        .into_iter()
        .enumerate()
    {
        let mut notes = clamp(
            values,
            &lr_min,
            &lr_max,
            (CAPPED_TO_LIMIT_RANGE_MIN, CAPPED_TO_LIMIT_RANGE_MAX),
        );
        if container_policy.is_some() {
            notes.extend(clamp(
                values,
                &min_allowed,
                &max_allowed,
                (CAPPED_TO_MIN_ALLOWED, CAPPED_TO_MAX_ALLOWED),
            ));
        }
        if requests_only {
            notes.extend(clamp(
                values,
                &Amounts::new(),
                &container.limits,
                ("", CAPPED_TO_LIMIT),
            ));
        }
        if i == 0 {
            target_notes = notes;
        }
    }
    target_notes
}

/// The container LimitRange as (min, max) request bounds for this container: a request at the
/// bound puts the limit, scaled with the container's ratio, exactly at the LimitRange bound. The
/// request must also be at least the LimitRange min itself.
fn container_limit_range_bounds(container: &PodContainer, lr: &LimitBounds) -> (Amounts, Amounts) {
    let boundary = |bounds: &Amounts, resource: &str| {
        boundary_request(
            container.requests.get(resource).copied(),
            container.limits.get(resource).copied(),
            bounds.get(resource).copied().unwrap_or(0),
            lr.default.get(resource).copied(),
        )
    };
    let mut min = Amounts::new();
    let mut max = Amounts::new();
    for resource in [CPU, MEMORY] {
        if !lr.max.is_empty() {
            max.insert(resource.to_string(), boundary(&lr.max, resource));
        }
        if !lr.min.is_empty() {
            let for_limit = boundary(&lr.min, resource);
            let for_request = lr.min.get(resource).copied().unwrap_or(0);
            min.insert(resource.to_string(), for_limit.max(for_request));
        }
    }
    (min, max)
}

#[cfg(test)]
mod tests;
