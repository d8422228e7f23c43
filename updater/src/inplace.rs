//! In-place resize decisions and patches (pure; upstream `restriction/pods_inplace_restriction.go`
//! and `inplace/resource_updates.go`).
//!
//! A pod in `InPlaceOrRecreate` mode is first resized through the `pods/<name>/resize`
//! subresource. The kubelet reports progress with pod conditions; the updater falls back to
//! eviction when the resize is `Infeasible` or errored, stays `Deferred` longer than 5 minutes, or
//! `InProgress` longer than 1 hour. Those clocks start when the updater first sees the pod
//! resizing ([`ResizeTimers`]), as upstream, since the API records no start time.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use vpa_common::api::ResourceList;

use crate::pod::{self, PodKey, ResizeStatus};
use crate::restriction::{Blocked, Restriction};
use crate::time::elapsed;

/// A `Deferred` resize older than this falls back to eviction (upstream constant, 5 min).
pub const DEFERRED_RESIZE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// An `InProgress` resize older than this falls back to eviction (upstream constant, 1 h).
pub const IN_PROGRESS_RESIZE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Whether a resize in `status`, seen for `resizing_for`, should be abandoned for an eviction.
pub fn resize_gave_up(status: ResizeStatus, resizing_for: Duration) -> bool {
    match status {
        ResizeStatus::None => false,
        ResizeStatus::Deferred => resizing_for > DEFERRED_RESIZE_TIMEOUT,
        ResizeStatus::InProgress => resizing_for > IN_PROGRESS_RESIZE_TIMEOUT,
        ResizeStatus::Infeasible | ResizeStatus::Error | ResizeStatus::Unknown => true,
    }
}

/// When the updater first saw each pod resizing. Kept across loops by the edge.
#[derive(Clone, Debug, Default)]
pub struct ResizeTimers {
    first_seen: HashMap<PodKey, Timestamp>,
}

impl ResizeTimers {
    /// Starts a timer for every resizing pod not yet timed, and forgets pods that are no longer
    /// resizing (or gone). Call once per loop with all live pods.
    pub fn observe<'a>(&mut self, pods: impl IntoIterator<Item = &'a Pod>, now: Timestamp) {
        let mut still = HashMap::new();
        for p in pods {
            if pod::resize_status(p).is_resizing() {
                let key = PodKey::of(p);
                let since = self.first_seen.get(&key).copied().unwrap_or(now);
                still.insert(key, since);
            }
        }
        self.first_seen = still;
    }

    /// How long `pod` has been seen resizing (zero when not resizing).
    pub fn resizing_for(&self, pod: &Pod, now: Timestamp) -> Duration {
        if self.first_seen.is_empty() {
            return Duration::ZERO;
        }
        self.first_seen
            .get(&PodKey::of(pod))
            .map_or(Duration::ZERO, |since| elapsed(*since, now))
    }

    /// Number of pods being timed.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// Whether no pod is being timed.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }
}

/// What to do with a pod in `InPlaceOrRecreate` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InPlaceDecision {
    /// Resize it in place now.
    Approved,
    /// Leave it for a later loop.
    Deferred(Defer),
    /// Its resize failed or timed out: evict it instead.
    Evict,
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

/// Decides between resizing `pod` in place, waiting, and evicting it.
pub fn decide(
    restriction: &Restriction,
    pod: &Pod,
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
        return if group.disruptable() && resize_gave_up(status, resizing_for) {
            InPlaceDecision::Evict
        } else {
            InPlaceDecision::Deferred(Defer::ResizeInProgress)
        };
    }
    if (skip_disruption_budget && is_non_disruptive(pod)) || group.disruptable() {
        InPlaceDecision::Approved
    } else {
        InPlaceDecision::Deferred(Defer::Blocked(Blocked::DisruptionBudget))
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
#[path = "inplace_tests.rs"]
mod tests;
