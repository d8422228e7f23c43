//! The real `vpa-updater` binary against the in-memory API server: flags, kubeconfig, watch
//! caches, the loop, `/healthz` and `/metrics` on `--address`, and a clean exit on SIGTERM.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{drifted_app, pod_names, sim};

/// A plain HTTP/1.0 GET; `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_evicts_serves_health_and_metrics_and_exits_on_sigterm() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
    let port = vpa_sim::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpa-updater"))
        .args([
            "--kubeconfig",
            sim.kubeconfig_path().to_str().unwrap(),
            "--updater-interval=1s",
            "--eviction-rate-limit=-1",
            &format!("--address=127.0.0.1:{port}"),
        ])
        .env("NAMESPACE", "kube-system")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The caches wait up to 10 s for kinds the sim does not serve, then loops run every second.
    let deadline = Instant::now() + Duration::from_secs(40);
    while pod_names(&client).await.len() == 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if pod_names(&client).await.len() != 1 {
        let _ = child.kill();
        let _ = child.wait();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        panic!("no eviction; updater log:\n{stderr}");
    }

    let health = get(port, "/healthz").expect("admin server listens");
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    let metrics = get(port, "/metrics").unwrap();
    assert!(
        metrics.contains("vpa_updater_evicted_pods_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("vpa_updater_execution_latency_seconds_bucket"));

    let status = match Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
    {
        Ok(status) => status,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping the SIGTERM check: cannot run `kill` ({e})");
            let _ = child.kill();
            let _ = child.wait();
            sim.shutdown().await;
            return;
        }
        Err(e) => panic!("`kill` is required under CI=true: {e}"),
    };
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert!(stderr.contains("Termination signal received"), "{stderr}");
    sim.shutdown().await;
}

#[test]
fn the_binary_takes_upstreams_klog_flags_and_warns_once_about_those_without_effect() {
    let output = Command::new(env!("CARGO_BIN_EXE_vpa-updater"))
        .args([
            "--kubeconfig=/nonexistent/kubeconfig",
            "--address=127.0.0.1:0",
            "--v=4",
            "--stderrthreshold=info",
            "--logtostderr=false",
            "--log_dir=/var/log/vpa",
            "--skip-headers",
            "--vmodule=updater.go=5",
        ])
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // clap exits with 2 on a flag it does not know; the missing kubeconfig fails later, with 1.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr
            .matches("Accepted klog flags that have no effect here")
            .count(),
        1,
        "{stderr}"
    );
    let warning = stderr
        .lines()
        .find(|l| l.contains("no effect here"))
        .unwrap();
    for named in ["--logtostderr", "--log-dir", "--skip-headers", "updater.go"] {
        assert!(warning.contains(named), "{named} missing: {warning}");
    }
    assert!(!warning.contains("--stderrthreshold"), "{warning}");
}
