//! In-place resize decisions and patches (pure; upstream `restriction/pods_inplace_restriction.go`
//! and `inplace/resource_updates.go`).
//!
//! A pod in `InPlaceOrRecreate` or `InPlace` mode is resized through the `pods/<name>/resize`
//! subresource. The kubelet reports progress with pod conditions. In `InPlaceOrRecreate` mode the
//! updater falls back to eviction when the resize is `Infeasible` or errored, stays `Deferred`
//! longer than 5 minutes, or `InProgress` longer than 1 hour. Those clocks start when the updater
//! first sees the pod resizing ([`crate::resize::ResizeTimers`]), as upstream, since the API
//! records no start time. In `InPlace` mode (alpha) nothing is ever evicted: a `Deferred` or
//! `InProgress` resize is waited on, and an `Infeasible` or errored one is retried with the
//! current recommendation, which the edge remembers ([`crate::infeasible`]) so the pod is retried
//! again only once a target drops below the attempted one.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use vpa_common::api::ResourceList;

use crate::cluster_api::ActionError;
use crate::pod::{self, ResizeStatus};
use crate::resize::{InPlaceMode, resize_gave_up};
use crate::restriction::{Blocked, Restriction};

/// What to do with a pod in an in-place mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InPlaceDecision {
    /// Resize it in place now.
    Approved,
    /// Leave it for a later loop.
    Deferred(Defer),
    /// Its resize failed or timed out: evict it instead (`InPlaceOrRecreate` only).
    Evict,
    /// The kubelet reported its last resize `Infeasible` or errored: record the attempt and
    /// resize it again with the current recommendation (`InPlace` only; upstream retries without
    /// backoff, the attempt memory keeps it from retrying the same targets every loop).
    Infeasible,
}

/// Why an in-place update waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defer {
    /// The pod is Pending.
    Pending,
    /// The VPA has no recommendation yet.
    NoRecommendation,
    /// A previous resize is still pending or in progress.
    ResizeInProgress,
    /// The disruption budget or replica checks block it.
    Blocked(Blocked),
}

impl Defer {
    /// Stable label for logs and metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::NoRecommendation => "NoRecommendation",
            Self::ResizeInProgress => "ResizeInProgress",
            Self::Blocked(b) => b.metric_label(),
        }
    }
}

/// Decides between resizing `pod` in place, waiting, retrying and (in `InPlaceOrRecreate`
/// mode) evicting it.
///
/// A group below `minReplicas` is only there with `--in-place-skip-disruption-budget` (see
/// [`Restriction::new`]): its pods are resized like any other but never turned into evictions.
pub fn decide(
    restriction: &Restriction,
    pod: &Pod,
    mode: InPlaceMode,
    has_recommendation: bool,
    resizing_for: Duration,
    skip_disruption_budget: bool,
) -> InPlaceDecision {
    let group = match restriction.stats(pod) {
        Ok(group) => group,
        Err(blocked) => return InPlaceDecision::Deferred(Defer::Blocked(blocked)),
    };
    if pod::is_pending(pod) {
        return InPlaceDecision::Deferred(Defer::Pending);
    }
    if !has_recommendation {
        return InPlaceDecision::Deferred(Defer::NoRecommendation);
    }
    let status = pod::resize_status(pod);
    if status.is_resizing() {
        return match mode {
            InPlaceMode::Only => match status {
                ResizeStatus::Infeasible | ResizeStatus::Error => InPlaceDecision::Infeasible,
                _ => InPlaceDecision::Deferred(Defer::ResizeInProgress),
            },
            InPlaceMode::OrRecreate => {
                if group.disruptable() && resize_gave_up(status, resizing_for) {
                    if group.below_min_replicas {
                        InPlaceDecision::Deferred(Defer::Blocked(Blocked::TooFewReplicas))
                    } else {
                        InPlaceDecision::Evict
                    }
                } else {
                    InPlaceDecision::Deferred(Defer::ResizeInProgress)
                }
            }
        };
    }
    if (skip_disruption_budget && is_non_disruptive(pod)) || group.disruptable() {
        InPlaceDecision::Approved
    } else {
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
    }
}

/// Whether the API server refused a resize as infeasible, which makes an `InPlace` attempt worth
/// remembering (reason `InPlaceUpdateInfeasible`). Today's API servers accept any resize and let
/// the kubelet report `Infeasible` through the pod's conditions, so this never holds for them
/// (upstream's check is a placeholder returning false, pending kubernetes/kubernetes#136043,
/// which moves node-capacity checks into admission); an API error whose message calls the
/// resize infeasible is taken as that future answer.
pub fn is_infeasible_error(error: &ActionError) -> bool {
    match error {
        ActionError::Api { message, .. } => message.to_ascii_lowercase().contains("infeasible"),
        _ => false,
    }
}

/// Whether every container's resize policy for CPU and memory is `NotRequired` (or unset), so a
/// resize restarts nothing.
pub fn is_non_disruptive(pod: &Pod) -> bool {
    pod::all_containers(pod).all(|c| {
        c.resize_policy.iter().flatten().all(|p| {
            !(p.resource_name == "cpu" || p.resource_name == "memory")
                || p.restart_policy == "NotRequired"
        })
    })
}

/// New requests and limits for one container, by its index in `spec.containers`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerResize {
    /// Index in `spec.containers`.
    pub index: usize,
    /// Requests to set (cpu, memory quantities).
    pub requests: ResourceList,
    /// Limits to set; empty when limits are left alone.
    pub limits: ResourceList,
}

/// The JSON patch for `pods/<name>/resize`: `add` operations for each new request and limit,
/// creating missing `resources`, `requests` and `limits` objects first.
pub fn resize_patch(pod: &Pod, resizes: &[ContainerResize]) -> Value {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let mut ops = Vec::new();
    for resize in resizes {
        let Some(container) = containers.get(resize.index) else {
            continue;
        };
        let base = format!("/spec/containers/{}/resources", resize.index);
        let current = container.resources.as_ref();
        if current.is_none() && !(resize.requests.is_empty() && resize.limits.is_empty()) {
            ops.push(json!({"op": "add", "path": base, "value": {}}));
        }
        let has_requests = current.is_some_and(|r| r.requests.is_some());
        let has_limits = current.is_some_and(|r| r.limits.is_some());
        push_values(&mut ops, &base, "requests", has_requests, &resize.requests);
        push_values(&mut ops, &base, "limits", has_limits, &resize.limits);
    }
    Value::Array(ops)
}

fn push_values(ops: &mut Vec<Value>, base: &str, field: &str, exists: bool, values: &ResourceList) {
    if values.is_empty() {
        return;
    }
    if !exists {
        ops.push(json!({"op": "add", "path": format!("{base}/{field}"), "value": {}}));
    }
    for (resource, quantity) in values {
        ops.push(json!({
            "op": "add",
            "path": format!("{base}/{field}/{}", escape(resource)),
            "value": quantity.0,
        }));
    }
}

/// JSON-pointer escaping of one path segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The JSON patch marking a pod as resized by the VPA (`vpaInPlaceUpdated: "true"`), creating
/// the annotations map when missing.
pub fn annotation_patch(pod: &Pod) -> Value {
    let mut ops = Vec::new();
    if pod.metadata.annotations.is_none() {
        ops.push(json!({"op": "add", "path": "/metadata/annotations", "value": BTreeMap::<String, String>::new()}));
    }
    ops.push(json!({
        "op": "add",
        "path": format!("/metadata/annotations/{}", escape(pod::IN_PLACE_UPDATED_ANNOTATION)),
        "value": "true",
    }));
    Value::Array(ops)
}

#[cfg(test)]
mod tests;
