//! What a kubelet reads off a pod (pure): seconds since a timestamp, a container's spec (a
//! container or a native sidecar), the running sidecars, and a container's memory limit and
//! requests as numbers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::kubelet;

/// Seconds from the RFC 3339 `from` to `to` (0 when `from` does not parse).
pub(super) fn seconds_between(from: &str, to: DateTime<Utc>) -> f64 {
    DateTime::parse_from_rfc3339(from)
        .map(|t| (to - t.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// The spec of container `name`: a container, or a native sidecar (an init container with
/// `restartPolicy: Always`).
fn container_spec<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    let find = |list: &str| {
        pod.pointer(list)?
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
    };
    find("/spec/containers").or_else(|| find("/spec/initContainers"))
}

/// Statuses of the running native sidecars, whose usage a kubelet reports like a container's.
pub(super) fn running_sidecar_statuses(pod: &Value) -> Vec<Value> {
    pod.pointer("/status/initContainerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.pointer("/state/running").is_some())
        .filter(|s| {
            container_spec(pod, s["name"].as_str().unwrap_or_default())
                .is_some_and(kubelet::is_native_sidecar)
        })
        .cloned()
        .collect()
}

/// A container's memory limit in bytes.
pub(super) fn memory_limit(pod: &Value, container: &str) -> Option<f64> {
    let c = pod
        .pointer("/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let q = c.pointer("/resources/limits/memory")?.as_str()?;
    q.parse::<vpa_common::quantity::Quantity>()
        .ok()
        .map(|q| q.as_f64())
}

/// A container's (or native sidecar's) request of `resource` as a number.
pub(super) fn request(pod: &Value, container: &str, resource: &str) -> Option<f64> {
    let c = container_spec(pod, container)?;
    let q = c
        .pointer(&format!("/resources/requests/{resource}"))?
        .as_str()?;
    q.parse::<vpa_common::quantity::Quantity>()
        .ok()
        .map(|q| q.as_f64())
}
