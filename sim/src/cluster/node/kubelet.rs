//! The simulated kubelet's status transitions (pure): start a bound pod, resize it in place the
//! way Kubernetes 1.33+ reports it (`PodResizePending`/`PodResizeInProgress` conditions, allocated
//! resources in `containerStatuses[].resources`), OOM-kill or finish a container. Timestamps are
//! RFC 3339 strings on the simulation clock, passed in.

use serde_json::{Value, json};

use super::scheduling::Amounts;

/// Reason of a container killed for exceeding its memory limit.
pub const OOM_KILLED: &str = "OOMKilled";

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn resources_of(c: &Value) -> Value {
    let mut r = json!({});
    for k in ["requests", "limits"] {
        if let Some(v) = c
            .pointer(&format!("/resources/{k}"))
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        {
            r[k] = v.clone();
        }
    }
    r
}

fn qos_class(pod: &Value) -> &'static str {
    let mut guaranteed = true;
    let mut any = false;
    for c in containers(pod) {
        let r = resources_of(c);
        for res in ["cpu", "memory"] {
            let (req, lim) = (&r["requests"][res], &r["limits"][res]);
            any |= !req.is_null() || !lim.is_null();
            guaranteed &= !lim.is_null() && (req.is_null() || req == lim);
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

pub(super) fn running_status(
    c: &Value,
    started_at: &str,
    restarts: i64,
    last: Option<Value>,
) -> Value {
    let name = c["name"].as_str().unwrap_or_default();
    let mut s = json!({
        "name": name, "image": c["image"], "imageID": format!("sim://{}", c["image"].as_str().unwrap_or_default()),
        "containerID": format!("sim://{name}-{restarts}"), "ready": true, "started": true,
        "restartCount": restarts, "state": {"running": {"startedAt": started_at}},
        "allocatedResources": c.pointer("/resources/requests").cloned().unwrap_or(json!({})),
        "resources": resources_of(c),
    });
    s["lastState"] = last.unwrap_or_else(|| json!({}));
    s
}

fn condition(kind: &str, now: &str) -> Value {
    json!({"type": kind, "status": "True", "lastTransitionTime": now})
}

/// Whether init container `c` is a native sidecar (`restartPolicy: Always`): it keeps running
/// beside the containers instead of completing before them.
pub fn is_native_sidecar(c: &Value) -> bool {
    c["restartPolicy"] == "Always"
}

/// The status of init container `c` once the pod runs: a native sidecar runs (and is started), any
/// other init container has completed, as kwok's `pod-ready` stage reports them.
fn init_status(c: &Value, now: &str) -> Value {
    if is_native_sidecar(c) {
        return running_status(c, now, 0, None);
    }
    let name = c["name"].as_str().unwrap_or_default();
    json!({
        "name": name, "image": c["image"], "imageID": format!("sim://{}", c["image"].as_str().unwrap_or_default()),
        "containerID": format!("sim://{name}-0"), "ready": true, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}},
        "lastState": {},
    })
}

/// The status of a pod the kubelet has just started on `node_ip`, with address `pod_ip`.
pub fn start(pod: &Value, now: &str, pod_ip: &str, node_ip: &str) -> Value {
    let statuses: Vec<Value> = containers(pod)
        .map(|c| running_status(c, now, 0, None))
        .collect();
    let init: Vec<Value> = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| init_status(c, now))
        .collect();
    let conditions: Vec<Value> = [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "PodScheduled",
        "Ready",
    ]
    .iter()
    .map(|k| condition(k, now))
    .collect();
    let mut status = json!({
        "phase": "Running", "startTime": now, "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "qosClass": qos_class(pod),
        "conditions": conditions,
        "containerStatuses": statuses,
    });
    if !init.is_empty() {
        status["initContainerStatuses"] = Value::Array(init);
    }
    status
}

/// What the kubelet does about the difference between desired and allocated resources.
#[derive(Clone, Debug, PartialEq)]
pub enum ResizeStep {
    /// Spec and allocation agree (and no resize condition is left).
    Idle,
    /// The node cannot fit the new requests: `PodResizePending` reason `Infeasible`.
    Infeasible(String),
    /// Accept the resize: `PodResizeInProgress` and allocate.
    Start,
    /// The resize is actuated: update `resources`, drop the conditions.
    Finish,
}

/// Decides the next resize step. `requested` are the pod's new effective requests, `free` what the
/// node has left without this pod (millicores, bytes).
pub fn resize_step(
    pod: &Value,
    requested: Amounts,
    allocatable: Amounts,
    free: Amounts,
) -> ResizeStep {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let differs = containers(pod).any(|c| {
        let current = statuses
            .and_then(|s| s.iter().find(|s| s["name"] == c["name"]))
            .map(|s| s.get("resources").cloned().unwrap_or(json!({})));
        current.is_some_and(|r| r != resources_of(c))
    });
    let in_progress = crate::cluster::objects::condition_true(pod, "PodResizeInProgress");
    let pending = crate::cluster::objects::condition_true(pod, "PodResizePending");
    if !differs {
        return if in_progress || pending {
            ResizeStep::Finish
        } else {
            ResizeStep::Idle
        };
    }
    if in_progress {
        return ResizeStep::Finish;
    }
    let mut short = Vec::new();
    if requested.cpu_millis > free.cpu_millis {
        short.push(format!(
            "cpu, requested: {}, capacity: {}",
            requested.cpu_millis, allocatable.cpu_millis
        ));
    }
    if requested.memory_bytes > free.memory_bytes {
        short.push(format!(
            "memory, requested: {}, capacity: {}",
            requested.memory_bytes, allocatable.memory_bytes
        ));
    }
    if short.is_empty() {
        ResizeStep::Start
    } else {
        ResizeStep::Infeasible(format!(
            "Node didn't have enough capacity: {}",
            short.join("; ")
        ))
    }
}

pub(super) fn set_condition(status: &mut Value, kind: &str, cond: Option<Value>) {
    let mut cs: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    cs.retain(|c| c["type"] != kind);
    cs.extend(cond);
    status["conditions"] = json!(cs);
}

/// The pod status after `step` (None when nothing changes).
pub fn apply_resize(pod: &Value, step: &ResizeStep, now: &str) -> Option<Value> {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    match step {
        ResizeStep::Idle => return None,
        ResizeStep::Infeasible(message) => {
            let cond = json!({"type": "PodResizePending", "status": "True", "reason": "Infeasible", "message": message, "lastTransitionTime": now});
            if pod
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "PodResizePending" && c["message"] == json!(message))
                })
            {
                return None;
            }
            set_condition(&mut status, "PodResizePending", Some(cond));
        }
        ResizeStep::Start => {
            set_condition(&mut status, "PodResizePending", None);
            set_condition(
                &mut status,
                "PodResizeInProgress",
                Some(condition("PodResizeInProgress", now)),
            );
            for (s, c) in statuses_with_specs(&mut status, pod) {
                s["allocatedResources"] = c
                    .pointer("/resources/requests")
                    .cloned()
                    .unwrap_or(json!({}));
            }
        }
        ResizeStep::Finish => {
            set_condition(&mut status, "PodResizePending", None);
            set_condition(&mut status, "PodResizeInProgress", None);
            for (s, c) in statuses_with_specs(&mut status, pod) {
                s["resources"] = resources_of(&c);
                s["allocatedResources"] = c
                    .pointer("/resources/requests")
                    .cloned()
                    .unwrap_or(json!({}));
            }
        }
    }
    Some(status)
}

fn statuses_with_specs<'a>(status: &'a mut Value, pod: &Value) -> Vec<(&'a mut Value, Value)> {
    let specs: Vec<Value> = containers(pod).cloned().collect();
    status["containerStatuses"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let c = specs.iter().find(|c| c["name"] == s["name"])?.clone();
            Some((s, c))
        })
        .collect()
}

/// The pod status after `container` terminated with `reason` and `exit_code` at `now`. With
/// `restart` the container runs again at once (restartCount + 1, the termination in `lastState`);
/// otherwise it stays terminated and the pod ends (Succeeded when every container exited 0).
pub fn terminate(
    pod: &Value,
    container: &str,
    reason: &str,
    exit_code: i64,
    now: &str,
    restart: bool,
) -> Value {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    let spec = containers(pod)
        .find(|c| c["name"] == container)
        .cloned()
        .unwrap_or(json!({}));
    for s in status["containerStatuses"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if s["name"] != container {
            continue;
        }
        let started = s
            .pointer("/state/running/startedAt")
            .cloned()
            .unwrap_or(json!(now));
        let terminated = json!({"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": now,
            "containerID": s["containerID"]});
        let restarts = s["restartCount"].as_i64().unwrap_or(0);
        if restart {
            let mut next = running_status(
                &spec,
                now,
                restarts + 1,
                Some(json!({"terminated": terminated})),
            );
            next["resources"] = s["resources"].clone();
            next["allocatedResources"] = s["allocatedResources"].clone();
            *s = next;
        } else {
            s["state"] = json!({"terminated": terminated});
            s["ready"] = json!(false);
            s["started"] = json!(false);
        }
    }
    if !restart {
        let all_done = status["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s.pointer("/state/terminated").is_some());
        if all_done {
            let ok = status["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|s| s.pointer("/state/terminated/exitCode") == Some(&json!(0)));
            status["phase"] = json!(if ok { "Succeeded" } else { "Failed" });
        }
        for kind in ["Ready", "ContainersReady"] {
            set_condition(
                &mut status,
                kind,
                Some(
                    json!({"type": kind, "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}),
                ),
            );
        }
    }
    status
}

/// Whether a container that exits with `exit_code` restarts under the pod's `restartPolicy`.
pub fn restarts(pod: &Value, exit_code: i64) -> bool {
    match pod
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always")
    {
        "Never" => false,
        "OnFailure" => exit_code != 0,
        _ => true,
    }
}
