//! Probes and restarts of process-backed containers (Python stand-ins): readiness follows the
//! readiness probe, a failing liveness probe restarts the process, and a process that keeps exiting
//! waits in CrashLoopBackOff with a doubling back-off (one probe second = 50 ms here).

#![cfg(unix)]

mod stand_in;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use vpa_sim::Sim;
use vpa_sim::cluster::Launcher;
use vpa_sim::cluster::{Cluster, ClusterOptions};

use stand_in::{python_stand_in, script};
use vpa_sim::free_port;
use vpa_test_support::{eventually, sim_cluster::sim_with_cluster_from};

const SECOND: Duration = Duration::from_millis(50);

async fn start(bin: &Path, work: &Path) -> (Sim, Cluster, Api<Pod>) {
    let (sim, cluster, client) = sim_with_cluster_from(
        &["n1:4:8Gi"],
        Default::default(),
        ClusterOptions {
            processes: Some(Launcher {
                bin_dir: bin.to_path_buf(),
                work_dir: work.join("pods"),
            }),
            process_second: SECOND,
            ..Default::default()
        },
    )
    .await;
    (sim, cluster, Api::default_namespaced(client))
}

fn pod(name: &str, image: &str, control: &Path, probes: Value) -> Pod {
    let admin = free_port();
    let mut c = json!({"name": "main", "image": image,
        "args": [format!("--port={}", free_port()), format!("--address=:{admin}")],
        "env": [{"name": "CONTROL_DIR", "value": control}],
        "ports": [{"name": "metrics", "containerPort": admin}]});
    for (k, v) in probes.as_object().unwrap() {
        c[k] = v.clone();
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [c]}}))
        .unwrap()
}

async fn container(pods: &Api<Pod>, name: &str) -> Option<(Pod, ContainerStatus)> {
    let p = pods.get(name).await.ok()?;
    let c = p
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .clone();
    Some((p, c))
}

fn pod_ready(p: &Pod) -> Option<String> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

#[tokio::test]
async fn readiness_follows_the_readiness_probe() {
    let (bin, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    if python_stand_in(bin.path(), "vpa-admission-controller").is_none() {
        return;
    }
    let (sim, cluster, pods) = start(bin.path(), work.path()).await;
    let probes = json!({"readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"},
        "periodSeconds": 1, "failureThreshold": 2}});
    let p = pod(
        "web",
        "vpa-rs/vpa-admission-controller",
        work.path(),
        probes,
    );
    pods.create(&PostParams::default(), &p).await.unwrap();
    let log = work.path().join("pods/default_web_main.log");
    eventually("the process serving", || async {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("serving")
            .then_some(())
    })
    .await;
    // Ten probe periods with /readyz failing.
    tokio::time::sleep(SECOND * 10).await;
    let (p, c) = container(&pods, "web").await.unwrap();
    assert!(!c.ready, "not ready while the probe fails: {c:?}");
    assert_eq!(pod_ready(&p).as_deref(), Some("False"));
    assert!(c.state.unwrap().running.is_some(), "still running");

    std::fs::write(work.path().join("ready"), "").unwrap();
    eventually("ready once the probe passes", || async {
        let (p, c) = container(&pods, "web").await?;
        (c.ready && pod_ready(&p).as_deref() == Some("True")).then_some(())
    })
    .await;
    std::fs::remove_file(work.path().join("ready")).unwrap();
    let (_, c) = eventually("unready again", || async {
        let (p, c) = container(&pods, "web").await?;
        (!c.ready && pod_ready(&p).as_deref() == Some("False")).then_some((p, c))
    })
    .await;
    assert_eq!(c.restart_count, 0, "readiness never restarts");
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_liveness_probe_restarts_the_process() {
    let (bin, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    if python_stand_in(bin.path(), "vpa-admission-controller").is_none() {
        return;
    }
    let (sim, cluster, pods) = start(bin.path(), work.path()).await;
    // The initial delay (2 s real) covers the stand-in's start.
    let probes = json!({"livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"},
        "initialDelaySeconds": 40, "periodSeconds": 1, "failureThreshold": 3}});
    let p = pod(
        "live",
        "vpa-rs/vpa-admission-controller",
        work.path(),
        probes,
    );
    pods.create(&PostParams::default(), &p).await.unwrap();
    let log = work.path().join("pods/default_live_main.log");
    eventually("the process serving", || async {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("serving")
            .then_some(())
    })
    .await;
    tokio::time::sleep(SECOND * 50).await;
    let (_, c) = container(&pods, "live").await.unwrap();
    assert_eq!(c.restart_count, 0, "healthy: not restarted");

    std::fs::write(work.path().join("sick"), "").unwrap();
    let (_, c) = eventually("a restart after the liveness probe fails", || async {
        let (p, c) = container(&pods, "live").await?;
        (c.restart_count >= 1).then_some((p, c))
    })
    .await;
    std::fs::remove_file(work.path().join("sick")).unwrap();
    let last = c.last_state.unwrap().terminated.unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (137, Some("Error"))
    );
    let events: Api<Event> = Api::default_namespaced(sim.client().await.unwrap());
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(
        reasons.iter().any(|r| r == "Killing") && reasons.iter().any(|r| r == "Unhealthy"),
        "{reasons:?}"
    );
    eventually("the restarted process serving", || async {
        let (_, c) = container(&pods, "live").await?;
        c.state?.running.is_some().then_some(())
    })
    .await;
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_process_that_keeps_exiting_waits_in_crash_loop_back_off() {
    let (bin, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let starts = work.path().join("starts");
    let Some(python) = vpa_e2e::require_tool("python3", &["python3", "/usr/bin/python3"]) else {
        return;
    };
    script(
        bin.path(),
        "vpa-updater",
        &format!(
            "{} -c 'import time; print(time.time())' >> {}\nexit 1",
            python.display(),
            starts.display()
        ),
    );
    let (sim, cluster, pods) = start(bin.path(), work.path()).await;
    let p = pod("crash", "vpa-rs/vpa-updater", work.path(), json!({}));
    pods.create(&PostParams::default(), &p).await.unwrap();
    let (_, c) = eventually("CrashLoopBackOff", || async {
        let (p, c) = container(&pods, "crash").await?;
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        (waiting.reason.as_deref() == Some("CrashLoopBackOff")).then_some((p, c))
    })
    .await;
    assert!(c.restart_count >= 1, "{c:?}");
    assert!(!c.ready);
    let last = c.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    if let Some(kubectl) = vpa_e2e::require_tool("kubectl", &["/usr/bin/kubectl", "kubectl"]) {
        let kubeconfig = sim.kubeconfig_path().to_path_buf();
        eventually("kubectl showing CrashLoopBackOff", || async {
            let out = tokio::process::Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["get", "pods", "crash"])
                .output()
                .await
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("CrashLoopBackOff")
                .then_some(())
        })
        .await;
    }
    let times: Vec<f64> = eventually("four starts", || async {
        let text = std::fs::read_to_string(&starts).ok()?;
        let times: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (times.len() >= 4).then_some(times)
    })
    .await;
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let second = SECOND.as_secs_f64();
    // The first restart comes without the back-off: measured against the next gap (which has the
    // same process start-up cost plus 10 s), so a loaded machine's slow starts do not count.
    assert!(
        gaps[0] + 5.0 * second < gaps[1],
        "the first restart is at once: {gaps:?}"
    );
    assert!(gaps[1] >= 10.0 * second, "then 10 s: {gaps:?}");
    assert!(gaps[2] >= 20.0 * second, "then 20 s: {gaps:?}");
    cluster.stop().await;
    sim.shutdown().await;
}
