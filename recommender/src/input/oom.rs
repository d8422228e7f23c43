//! OOM kills seen in pod status changes and in eviction events (pure).
//!
//! A container was OOM-killed when (a) it is now terminated with reason `OOMKilled` and was not
//! terminated before (or its restart count grew), or (b) it is running again, its restart count
//! grew, and its last termination was `OOMKilled`. The memory it needed is at least its memory
//! request at the time; the engine bumps that by the OOM rule. Node-pressure evictions carry the
//! offending containers and their usage in event annotations; memory entries become OOM kills too.

use k8s_openapi::api::core::v1::Event;

use super::pod::{CachedContainerStatus, CachedPod};

/// One OOM kill of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OomEvent {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// When it was killed, unix seconds.
    pub timestamp: i64,
    /// Memory the container used or had requested when killed, bytes.
    pub memory_bytes: i64,
}

fn memory_request(pod: &CachedPod, container: &str) -> i64 {
    let spec = pod.spec.as_ref();
    let from_spec = spec
        .and_then(|s| s.containers.iter().find(|c| c.name == container))
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("memory"));
    // Kubernetes 1.33+ reports the allocated requests in the container status after a resize.
    let from_status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container))
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("memory"));
    from_status
        .or(from_spec)
        .and_then(|q| vpa_common::resources::amount("memory", q).ok())
        .unwrap_or(0)
}

fn statuses(pod: &CachedPod) -> &[CachedContainerStatus] {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
}

fn unix(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> i64 {
    t.0.as_second()
}

/// OOM kills that happened between `old` and `new` versions of one pod.
pub fn ooms_in_pod_update(old: Option<&CachedPod>, new: &CachedPod) -> Vec<OomEvent> {
    let namespace = new.metadata.namespace.clone().unwrap_or_default();
    let pod = new.metadata.name.clone().unwrap_or_default();
    let mut out = Vec::new();
    for status in statuses(new) {
        let before = old.and_then(|o| statuses(o).iter().find(|s| s.name == status.name));
        let restarted = before.is_some_and(|b| status.restart_count > b.restart_count);
        let state = status.state.as_ref();
        // (a) terminated now by the OOM killer.
        if let Some(t) = state
            .and_then(|s| s.terminated.as_ref())
            .filter(|t| t.reason.as_deref() == Some("OOMKilled"))
        {
            let was_terminated = before
                .and_then(|b| b.state.as_ref())
                .is_some_and(|s| s.terminated.is_some());
            if !was_terminated || restarted {
                out.push(OomEvent {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    container: status.name.clone(),
                    timestamp: t.finished_at.as_ref().map(unix).unwrap_or_default(),
                    memory_bytes: memory_request(new, &status.name),
                });
            }
            continue;
        }
        // (b) running again after an OOM kill.
        let running_now = state.is_some_and(|s| s.running.is_some());
        let was_running = before
            .and_then(|b| b.state.as_ref())
            .is_some_and(|s| s.running.is_some());
        let last = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        if let (true, true, true, Some(t)) = (running_now, was_running, restarted, last)
            && t.reason.as_deref() == Some("OOMKilled")
        {
            out.push(OomEvent {
                namespace: namespace.clone(),
                pod: pod.clone(),
                container: status.name.clone(),
                timestamp: t.finished_at.as_ref().map(unix).unwrap_or_default(),
                memory_bytes: old
                    .map(|o| memory_request(o, &status.name))
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// OOM kills described by a node-pressure eviction event (`reason=Evicted` on a Pod).
pub fn ooms_in_eviction_event(event: &Event) -> Vec<OomEvent> {
    if event.reason.as_deref() != Some("Evicted")
        || event.involved_object.kind.as_deref() != Some("Pod")
    {
        return Vec::new();
    }
    let annotations = event.metadata.annotations.clone().unwrap_or_default();
    let list = |key: &str| {
        annotations
            .get(key)
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let (containers, usages, starved) = (
        list("offending_containers"),
        list("offending_containers_usage"),
        list("starved_resource"),
    );
    if containers.len() != usages.len() || containers.len() != starved.len() {
        return Vec::new();
    }
    let timestamp = event
        .last_timestamp
        .as_ref()
        .or(event.first_timestamp.as_ref())
        .map(unix)
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_second()))
        .unwrap_or_default();
    containers
        .iter()
        .zip(&usages)
        .zip(&starved)
        .filter(|(_, resource)| resource.as_str() == "memory")
        .filter_map(|((container, usage), _)| {
            let bytes = vpa_common::resources::amount(
                "memory",
                &k8s_openapi::apimachinery::pkg::api::resource::Quantity(usage.clone()),
            )
            .ok()?;
            Some(OomEvent {
                namespace: event.involved_object.namespace.clone().unwrap_or_default(),
                pod: event.involved_object.name.clone().unwrap_or_default(),
                container: container.clone(),
                timestamp,
                memory_bytes: bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
