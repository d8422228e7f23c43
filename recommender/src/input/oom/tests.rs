use serde_json::json;

use super::*;

fn pod(
    restarts: i32,
    state: serde_json::Value,
    last: serde_json::Value,
    request: &str,
) -> CachedPod {
    let wire: crate::input::pod::WirePod = serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "resources": {"requests": {"memory": request}}}]},
        "status": {"containerStatuses": [{
            "name": "app", "ready": false, "image": "x", "imageID": "", "restartCount": restarts,
            "state": state, "lastState": last
        }]}
    }))
    .unwrap();
    CachedPod::from_wire(wire, &mut Default::default())
}

fn running() -> serde_json::Value {
    json!({"running": {"startedAt": "2026-11-28T10:00:00Z"}})
}

fn oom_killed() -> serde_json::Value {
    json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-28T10:05:00Z"}})
}

#[test]
fn termination_by_the_oom_killer_is_seen() {
    let old = pod(0, running(), json!({}), "1000Mi");
    let new = pod(0, oom_killed(), json!({}), "1000Mi");
    let events = ooms_in_pod_update(Some(&old), &new);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].container, "app");
    assert_eq!(events[0].memory_bytes, 1000 * 1024 * 1024);
    assert_eq!(
        events[0].timestamp,
        "2026-11-28T10:05:00Z"
            .parse::<k8s_openapi::jiff::Timestamp>()
            .unwrap()
            .as_second()
    );
}

#[test]
fn restart_after_an_oom_kill_is_seen_once() {
    let old = pod(0, running(), json!({}), "500Mi");
    let new = pod(1, running(), oom_killed(), "500Mi");
    assert_eq!(ooms_in_pod_update(Some(&old), &new).len(), 1);
    // The same status seen again is not a new kill.
    assert!(ooms_in_pod_update(Some(&new), &new).is_empty());
}

#[test]
fn other_terminations_are_ignored() {
    let old = pod(0, running(), json!({}), "500Mi");
    let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
    assert!(ooms_in_pod_update(Some(&old), &pod(0, done, json!({}), "500Mi")).is_empty());
}

#[test]
fn memory_pressure_evictions_become_ooms() {
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "e1", "namespace": "shop", "annotations": {
            "offending_containers": "app,sidecar",
            "offending_containers_usage": "800Mi,10m",
            "starved_resource": "memory,cpu"
        }},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
        "reason": "Evicted",
        "lastTimestamp": "2026-11-28T10:05:00Z"
    }))
    .unwrap();
    let ooms = ooms_in_eviction_event(&event);
    assert_eq!(ooms.len(), 1);
    assert_eq!(ooms[0].container, "app");
    assert_eq!(ooms[0].memory_bytes, 800 * 1024 * 1024);
}
