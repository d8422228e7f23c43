//! Tests of the kubelet's status transitions (`kubelet`).

use serde_json::{Value, json};

use super::kubelet::*;
use super::scheduling::Amounts;

const T0: &str = "2026-01-01T00:00:00Z";
const T1: &str = "2026-01-01T00:01:00Z";

fn pod(cpu: &str) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "img",
        "resources": {"requests": {"cpu": cpu, "memory": "50Mi"}, "limits": {"memory": "100Mi"}}}]}})
}

fn amounts(cpu_millis: i64, memory_mi: i64) -> Amounts {
    Amounts {
        cpu_millis,
        memory_bytes: memory_mi << 20,
    }
}

#[test]
fn started_pods_are_running_and_ready_with_allocated_resources() {
    let p = pod("100m");
    let status = start(&p, T0, "10.244.0.5", "10.0.0.1");
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["startTime"], T0);
    assert_eq!(status["qosClass"], "Burstable");
    let c = &status["containerStatuses"][0];
    assert_eq!(
        (
            c["ready"].clone(),
            c["started"].clone(),
            c["restartCount"].clone()
        ),
        (json!(true), json!(true), json!(0))
    );
    assert_eq!(c["state"]["running"]["startedAt"], T0);
    assert_eq!(c["resources"]["requests"]["cpu"], "100m");
    let mut with_status = p.clone();
    with_status["status"] = status;
    assert!(crate::cluster::objects::is_ready(&with_status));
}

#[test]
fn native_sidecars_run_and_other_init_containers_have_completed() {
    let mut p = pod("100m");
    p["spec"]["initContainers"] = json!([
        {"name": "setup", "image": "setup"},
        {"name": "proxy", "image": "proxy", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "10m"}}}
    ]);
    let status = start(&p, T0, "ip", "nip");
    let init = &status["initContainerStatuses"];
    assert_eq!(init[0]["name"], "setup");
    assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
    assert_eq!(init[1]["name"], "proxy");
    assert_eq!(init[1]["state"]["running"]["startedAt"], T0);
    assert_eq!(init[1]["started"], true);
    assert_eq!(init[1]["resources"]["requests"]["cpu"], "10m");
    assert!(
        start(&pod("100m"), T0, "ip", "nip")
            .get("initContainerStatuses")
            .is_none()
    );
}

#[test]
fn resize_goes_through_in_progress_then_updates_allocated_resources() {
    let mut p = pod("100m");
    p["status"] = start(&p, T0, "ip", "nip");
    assert_eq!(
        resize_step(&p, amounts(100, 50), amounts(1000, 1024), amounts(900, 974)),
        ResizeStep::Idle
    );
    p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("300m");
    let step = resize_step(&p, amounts(300, 50), amounts(1000, 1024), amounts(900, 974));
    assert_eq!(step, ResizeStep::Start);
    p["status"] = apply_resize(&p, &step, T1).unwrap();
    assert!(crate::cluster::objects::condition_true(
        &p,
        "PodResizeInProgress"
    ));
    assert_eq!(
        p["status"]["containerStatuses"][0]["allocatedResources"]["cpu"],
        "300m"
    );
    let step = resize_step(&p, amounts(300, 50), amounts(1000, 1024), amounts(900, 974));
    assert_eq!(step, ResizeStep::Finish);
    p["status"] = apply_resize(&p, &step, T1).unwrap();
    assert!(!crate::cluster::objects::condition_true(
        &p,
        "PodResizeInProgress"
    ));
    assert_eq!(
        p["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"],
        "300m"
    );
}

#[test]
fn resize_beyond_the_node_is_infeasible() {
    let mut p = pod("100m");
    p["status"] = start(&p, T0, "ip", "nip");
    p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("5");
    let step = resize_step(
        &p,
        amounts(5000, 50),
        amounts(1000, 1024),
        amounts(900, 974),
    );
    let ResizeStep::Infeasible(message) = &step else {
        panic!("{step:?}")
    };
    assert!(
        message.contains("cpu, requested: 5000, capacity: 1000"),
        "{message}"
    );
    p["status"] = apply_resize(&p, &step, T1).unwrap();
    let cond = p["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "PodResizePending")
        .unwrap()
        .clone();
    assert_eq!(cond["reason"], "Infeasible");
    assert_eq!(
        apply_resize(&p, &step, T1),
        None,
        "no rewrite while still infeasible"
    );
}

#[test]
fn oom_kill_restarts_the_container_and_records_the_termination() {
    let mut p = pod("100m");
    p["status"] = start(&p, T0, "ip", "nip");
    let status = terminate(&p, "c", OOM_KILLED, 137, T1, restarts(&p, 137));
    let c = &status["containerStatuses"][0];
    assert_eq!(c["restartCount"], 1);
    assert_eq!(c["lastState"]["terminated"]["reason"], OOM_KILLED);
    assert_eq!(c["lastState"]["terminated"]["startedAt"], T0);
    assert_eq!(c["lastState"]["terminated"]["finishedAt"], T1);
    assert_eq!(c["state"]["running"]["startedAt"], T1);
    assert_eq!(status["phase"], "Running");
}

#[test]
fn a_never_restarting_pod_succeeds_when_its_container_exits_zero() {
    let mut p = pod("100m");
    p["spec"]["restartPolicy"] = json!("Never");
    p["status"] = start(&p, T0, "ip", "nip");
    let status = terminate(&p, "c", "Completed", 0, T1, restarts(&p, 0));
    assert_eq!(status["phase"], "Succeeded");
    assert_eq!(
        status["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
}
