//! OOM kills seen in pod status changes and in eviction events (pure).
//!
//! A container was OOM-killed when (a) it is now terminated with reason `OOMKilled` and was not
//! terminated before (or its restart count grew), or (b) it is running again, its restart count
//! grew, and its last termination was `OOMKilled`. The memory it needed is at least its memory
//! request at the time; the engine bumps that by the OOM rule. Node-pressure evictions carry the
//! offending containers and their usage in event annotations; memory entries become OOM kills too.

use k8s_openapi::api::core::v1::Event;

use super::pod::{CachedPod, RunState, Termination};

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

fn unix(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> i64 {
    t.0.as_second()
}

/// OOM kills that happened between `old` and `new` versions of one pod.
pub fn ooms_in_pod_update(old: Option<&CachedPod>, new: &CachedPod) -> Vec<OomEvent> {
    let mut out = Vec::new();
    for status in new.containers.iter() {
        let before = old.and_then(|o| o.container(&status.name));
        let restarted = before.is_some_and(|b| status.restart_count > b.restart_count);
        let event = |t: &Termination, memory_bytes: i64| OomEvent {
            namespace: new.namespace.to_string(),
            pod: new.name.to_string(),
            container: status.name.to_string(),
            timestamp: t.finished_at,
            memory_bytes,
        };
        match status.state {
            // (a) terminated now by the OOM killer.
            RunState::Terminated(t) if t.oom_killed => {
                let was_terminated =
                    before.is_some_and(|b| matches!(b.state, RunState::Terminated(_)));
                if !was_terminated || restarted {
                    out.push(event(&t, status.memory_request_bytes));
                }
            }
            // (b) running again after an OOM kill.
            RunState::Running => {
                let was_running = before.is_some_and(|b| b.state == RunState::Running);
                if let (true, true, Some(t)) = (was_running, restarted, status.last_termination)
                    && t.oom_killed
                {
                    out.push(event(&t, before.map_or(0, |b| b.memory_request_bytes)));
                }
            }
            _ => {}
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
