//! Container status transitions of process-backed containers (pure): waiting in CrashLoopBackOff
//! after an exit, starting again from there, and readiness following the readiness probe (the
//! pod's `Ready` and `ContainersReady` conditions follow its containers).

use serde_json::{Value, json};

use super::kubelet::{self, running_status, set_condition};
use super::probes::crash_backoff;

/// Reason of a container waiting to be restarted after exits.
pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";

fn spec_of(pod: &Value, container: &str) -> Value {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .cloned()
        .unwrap_or(json!({}))
}

fn with_container(status: &mut Value, container: &str, f: impl FnOnce(&mut Value)) {
    if let Some(s) = status["containerStatuses"]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|s| s["name"] == container))
    {
        f(s)
    }
}

/// Sets the pod conditions from the containers' `ready` (keeping the transition time of
/// conditions that do not change).
fn derive_ready(status: &mut Value, now: &str) {
    let all = status["containerStatuses"]
        .as_array()
        .is_some_and(|cs| cs.iter().all(|c| c["ready"] == true));
    for kind in ["ContainersReady", "Ready"] {
        let current = status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            .map(|c| c["status"] == if all { "True" } else { "False" });
        if current == Some(true) {
            continue;
        }
        let mut cond = json!({"type": kind, "status": if all { "True" } else { "False" }, "lastTransitionTime": now});
        if !all {
            cond["reason"] = json!("ContainersNotReady");
        }
        set_condition(status, kind, Some(cond));
    }
}

/// The pod status after `container` ended (`reason`, `exit_code`) and waits `backoff_seconds`
/// before its next start: `waiting` CrashLoopBackOff, the termination in `lastState`, not ready.
pub fn back_off(
    pod: &Value,
    container: &str,
    reason: &str,
    exit_code: i64,
    backoff_seconds: f64,
    now: &str,
) -> Value {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    let pod_ref = format!(
        "{}_{}({})",
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["uid"].as_str().unwrap_or_default()
    );
    with_container(&mut status, container, |s| {
        let started = s
            .pointer("/state/running/startedAt")
            .cloned()
            .unwrap_or(json!(now));
        s["lastState"] = json!({"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started,
            "finishedAt": now, "containerID": s["containerID"]}});
        s["state"] = json!({"waiting": {"reason": CRASH_LOOP_BACK_OFF,
            "message": format!("back-off {backoff_seconds}s restarting failed container={container} pod={pod_ref}")}});
        s["ready"] = json!(false);
        s["started"] = json!(false);
    });
    derive_ready(&mut status, now);
    status
}

/// The pod status after `container` starts again (restartCount + 1), not ready until its
/// readiness probe passes when it has one.
pub fn restart(pod: &Value, container: &str, has_readiness_probe: bool, now: &str) -> Value {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    let spec = spec_of(pod, container);
    with_container(&mut status, container, |s| {
        let restarts = s["restartCount"].as_i64().unwrap_or(0) + 1;
        let mut next = running_status(&spec, now, restarts, s.get("lastState").cloned());
        next["resources"] = s["resources"].clone();
        next["allocatedResources"] = s["allocatedResources"].clone();
        next["ready"] = json!(!has_readiness_probe);
        *s = next;
    });
    derive_ready(&mut status, now);
    status
}

/// The pod status after the process of `container` exited with `exit_code`, and whether it now
/// waits in CrashLoopBackOff. Under its restart policy it restarts at once the first time, then
/// after [`crash_backoff`] of its restart count; otherwise it stays terminated.
pub fn after_exit(
    pod: &Value,
    container: &str,
    exit_code: i64,
    has_readiness_probe: bool,
    now: &str,
) -> (Value, bool) {
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    if !kubelet::restarts(pod, exit_code) {
        return (
            kubelet::terminate(pod, container, reason, exit_code, now, false),
            false,
        );
    }
    let restarts = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["restartCount"].as_i64())
        .unwrap_or(0);
    let wait = crash_backoff(restarts);
    let mut p = pod.clone();
    p["status"] = back_off(pod, container, reason, exit_code, wait, now);
    if wait > 0.0 {
        return (p["status"].clone(), true);
    }
    (restart(&p, container, has_readiness_probe, now), false)
}

/// The pod status with `container` ready or not (None when that is already so).
pub fn set_ready(pod: &Value, container: &str, ready: bool, now: &str) -> Option<Value> {
    let mut status = pod.get("status").cloned().unwrap_or(json!({}));
    let mut changed = false;
    with_container(&mut status, container, |s| {
        changed = s["ready"] != ready;
        s["ready"] = json!(ready);
    });
    let before = status["conditions"].clone();
    derive_ready(&mut status, now);
    (changed || before != status["conditions"]).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-01-01T00:01:00Z";

    fn pod() -> Value {
        let p = json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
            "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]}});
        let status = super::kubelet::start(&p, T0, "127.1.0.1", "10.0.0.1");
        let mut p = p;
        p["status"] = status;
        p
    }

    fn condition(status: &Value, kind: &str) -> Value {
        status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap()["status"]
            .clone()
    }

    #[test]
    fn a_crashed_container_waits_in_crash_loop_back_off_and_then_runs_again() {
        let mut p = pod();
        p["status"] = back_off(&p, "a", "Error", 3, 10.0, T1);
        let a = &p["status"]["containerStatuses"][0];
        assert_eq!(a["state"]["waiting"]["reason"], CRASH_LOOP_BACK_OFF);
        assert_eq!(
            a["state"]["waiting"]["message"],
            "back-off 10s restarting failed container=a pod=p_ns(u1)"
        );
        assert_eq!(a["lastState"]["terminated"]["exitCode"], 3);
        assert_eq!(
            (a["ready"].clone(), a["restartCount"].clone()),
            (json!(false), json!(0))
        );
        assert_eq!(condition(&p["status"], "Ready"), "False");
        p["status"] = restart(&p, "a", false, T1);
        let a = &p["status"]["containerStatuses"][0];
        assert_eq!(a["state"]["running"]["startedAt"], T1);
        assert_eq!(a["lastState"]["terminated"]["exitCode"], 3);
        assert_eq!(
            (a["ready"].clone(), a["restartCount"].clone()),
            (json!(true), json!(1))
        );
        assert_eq!(condition(&p["status"], "Ready"), "True");
    }

    #[test]
    fn exits_restart_at_once_then_back_off_unless_the_policy_says_never() {
        let p = pod();
        let (status, waits) = after_exit(&p, "a", 1, false, T1);
        assert!(!waits);
        assert_eq!(status["containerStatuses"][0]["restartCount"], 1);
        assert_eq!(
            status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
            1
        );
        let mut again = p.clone();
        again["status"] = status;
        let (status, waits) = after_exit(&again, "a", 1, false, T1);
        assert!(waits);
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            CRASH_LOOP_BACK_OFF
        );
        assert_eq!(status["containerStatuses"][0]["restartCount"], 1);
        let mut never = pod();
        never["spec"]["restartPolicy"] = json!("Never");
        let (status, waits) = after_exit(&never, "a", 0, false, T1);
        assert!(!waits);
        assert_eq!(
            status["containerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
    }

    #[test]
    fn pod_readiness_needs_every_container_ready() {
        let mut p = pod();
        p["status"] = set_ready(&p, "b", false, T1).unwrap();
        assert_eq!(condition(&p["status"], "Ready"), "False");
        assert_eq!(condition(&p["status"], "ContainersReady"), "False");
        assert_eq!(set_ready(&p, "b", false, T1), None, "nothing changes");
        p["status"] = set_ready(&p, "b", true, T1).unwrap();
        assert_eq!(condition(&p["status"], "Ready"), "True");
        let restarted = restart(&p, "a", true, T1);
        assert_eq!(restarted["containerStatuses"][0]["ready"], false);
        assert_eq!(condition(&restarted, "Ready"), "False");
    }
}
