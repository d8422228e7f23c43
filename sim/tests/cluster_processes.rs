//! Pods whose image is one of ours run a local process (stand-in scripts here): on a loopback
//! address of their own, with the container's args (listen addresses moved there) and env, a
//! kubeconfig carrying the pod's ServiceAccount token, a log file, the process exit as the
//! container exit (restartCount), and no process left after stop.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;
use vpa_sim::cluster::Launcher;
use vpa_sim::cluster::{Cluster, ClusterOptions};
use vpa_sim::{Sim, SimOptions};

use vpa_test_support::eventually;

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn pod(name: &str, image: &str, sa: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"serviceAccountName": sa, "containers": [{"name": "main", "image": image, "args": ["--address=:18942", "--v=2"],
            "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}, {"name": "RUST_LOG", "value": "info"}]}]}
    }))
    .unwrap()
}

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[tokio::test]
async fn our_images_run_as_local_processes_with_service_account_credentials() {
    vpa_common::install_crypto_provider();
    let bin = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let pidfile = work.path().join("recommender.pid");
    script(
        bin.path(),
        "vpa-recommender",
        &format!(
            "echo \"args=$*\"\necho \"ns=$NAMESPACE\"\necho \"kubeconfig=$KUBECONFIG\"\necho $$ > {}\nexec sleep 30",
            pidfile.display()
        ),
    );
    script(bin.path(), "vpa-updater", "echo failing\nexit 3");
    script(bin.path(), "vpa-admission-controller", "exec sleep 30");
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let launcher = Launcher {
        bin_dir: bin.path().to_path_buf(),
        work_dir: work.path().to_path_buf(),
    };
    let opts = ClusterOptions {
        nodes: vec!["n1:4:8Gi".parse().unwrap()],
        interval: Duration::from_millis(50),
        processes: Some(launcher.clone()),
        ..Default::default()
    };
    let cluster = Cluster::start(&sim, opts).await.unwrap();
    let pods: Api<Pod> = Api::default_namespaced(sim.client().await.unwrap());
    pods.create(
        &PostParams::default(),
        &pod(
            "rec",
            "registry.example.com/vpa-rs/vpa-recommender:0.1.0",
            "vpa-recommender",
        ),
    )
    .await
    .unwrap();
    pods.create(
        &PostParams::default(),
        &pod("upd", "vpa-rs/vpa-updater", "default"),
    )
    .await
    .unwrap();

    let log_path = launcher.log_path("default", "rec", "main");
    let log = eventually("the recommender's log", || async {
        let log = std::fs::read_to_string(&log_path).ok()?;
        log.contains("kubeconfig=").then_some(log)
    })
    .await;
    let ip = pods
        .get("rec")
        .await
        .unwrap()
        .status
        .unwrap()
        .pod_ip
        .unwrap();
    assert!(
        ip.starts_with("127.1."),
        "a loopback address of its own: {ip}"
    );
    assert!(
        log.contains(&format!("args=--address={ip}:18942 --v=2")),
        "the bind-all address moves to the pod address: {log}"
    );
    assert!(log.contains("ns=default"), "{log}");
    let kubeconfig_path = log
        .lines()
        .find_map(|l| l.strip_prefix("kubeconfig="))
        .unwrap()
        .to_string();
    let kubeconfig = std::fs::read_to_string(&kubeconfig_path).unwrap();
    assert!(
        kubeconfig.contains(&sim.service_account_token("default", "vpa-recommender")),
        "authenticates as the pod's ServiceAccount"
    );
    assert!(kubeconfig.contains(&sim.url()));

    let served = pods.logs("rec", &Default::default()).await.unwrap();
    assert!(
        served.contains("ns=default"),
        "pods/rec/log serves the process output: {served}"
    );
    if let Some(kubectl) = vpa_e2e::require_tool("kubectl", &["/usr/bin/kubectl", "kubectl"]) {
        let out = tokio::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(sim.kubeconfig_path())
            .args(["logs", "rec"])
            .output()
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("args=--address={ip}:18942")),
            "{out:?}"
        );
    }

    let status = eventually("the updater's exit as a restart", || async {
        let c = pods
            .get("upd")
            .await
            .ok()?
            .status?
            .container_statuses?
            .pop()?;
        (c.restart_count >= 1).then_some(c)
    })
    .await;
    let last = status.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));

    let pid = eventually("the recommender's pid", || async {
        std::fs::read_to_string(&pidfile).ok()
    })
    .await;
    let pid = pid.trim().to_string();
    assert!(alive(&pid));
    cluster.stop().await;
    eventually("the process gone after stop", || async {
        (!alive(&pid)).then_some(())
    })
    .await;
    sim.shutdown().await;
}
