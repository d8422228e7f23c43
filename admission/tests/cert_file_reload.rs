//! Mounted certificate files with `--reload-cert`: the real admission controller (`run_until`,
//! against the in-memory API server) serves certificate A from the files; the files are replaced
//! the way kubelet updates a Secret volume (new directory, `..data` symlink swapped by rename);
//! new TLS connections then get certificate B within a bounded time, while a kept-alive
//! connection opened before the swap keeps answering requests.

#![cfg(unix)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use support::*;
use vpa_admission_controller::certs::CertBundle;
use vpa_admission_controller::config::{Args, CertSource};
use vpa_sim::{Sim, SimOptions};

const FILES: [&str; 3] = ["serverCert.pem", "serverKey.pem", "caCert.pem"];

/// Writes `bundle` into a fresh timestamped directory under `dir` and points `..data` at it by
/// renaming a temporary symlink over it, as kubelet's atomic writer does; the user-visible files
/// are symlinks through `..data`, so all three change in one rename.
fn publish(dir: &Path, version: &str, bundle: &CertBundle) {
    let data = dir.join(version);
    std::fs::create_dir(&data).unwrap();
    let texts = [
        bundle.server_cert_pem.as_str(),
        bundle.server_key_pem.as_str(),
        &bundle.ca_bundle(),
    ];
    for (name, text) in FILES.iter().zip(texts) {
        std::fs::write(data.join(name), text).unwrap();
    }
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(version, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for name in FILES {
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(name), link).unwrap();
        }
    }
}

/// Sends one AdmissionReview; returns the leaf certificate of the connection that answered.
async fn review(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(POD_CREATE)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    if !resp.status().is_success() {
        return Err(format!("status {}", resp.status()));
    }
    let peer = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .ok_or("no peer certificate")?;
    let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    if body["response"]["allowed"] != true {
        return Err(format!("not allowed: {body}"));
    }
    Ok(peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_files_are_served_without_restart_and_kept_alive_connections_survive() {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let (a, b) = (bundle(), bundle());
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "..2026_11_28_a", &a);

    let (port, admin) = (vpa_sim::free_port(), vpa_sim::free_port());
    let file = |name: &str| dir.path().join(name).display().to_string();
    let args = Args::try_parse_from([
        "vpa-admission-controller".to_string(),
        format!("--kubeconfig={}", sim.kubeconfig_path().display()),
        format!("--port={port}"),
        format!("--address=127.0.0.1:{admin}"),
        format!("--tls-cert-file={}", file("serverCert.pem")),
        format!("--tls-private-key={}", file("serverKey.pem")),
        format!("--client-ca-file={}", file("caCert.pem")),
        "--reload-cert".to_string(),
        "--register-webhook=false".to_string(),
    ])
    .unwrap();
    let mut config = args.into_config(true).unwrap();
    assert!(matches!(
        config.certs,
        CertSource::Files { reload: true, .. }
    ));
    let poll = Duration::from_millis(200);
    config.cert_file_poll = poll;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(vpa_admission_controller::run::run_until(config, async {
        let _ = stop_rx.await;
    }));

    let (a_leaf, b_leaf) = (leaf_der(&a.server_cert_pem), leaf_der(&b.server_cert_pem));
    let cas = [a.ca_bundle(), b.ca_bundle()];
    let cas: Vec<&str> = cas.iter().map(String::as_str).collect();
    let url = format!("https://localhost:{port}/");
    let fresh = tls_client(&cas, false);
    let started = Instant::now();
    let first = loop {
        match review(&fresh, &url).await {
            Ok(peer) => break peer,
            Err(e) if started.elapsed() > Duration::from_secs(10) => {
                panic!("webhook not serving: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert!(first == a_leaf, "certificate A from the files is served");

    // One kept-alive connection, opened on A, keeps sending requests through the swap.
    let kept = tls_client(&cas, true);
    assert!(review(&kept, &url).await.unwrap() == a_leaf);
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (kept, url, stop) = (kept.clone(), url.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut served, mut failures) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match review(&kept, &url).await {
                    Ok(peer) => served.push(peer),
                    Err(e) => failures.push(e),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (served, failures)
        })
    };

    publish(dir.path(), "..2026_11_28_b", &b);
    let swapped = Instant::now();
    let bound = Duration::from_secs(5);
    loop {
        let peer = review(&fresh, &url)
            .await
            .expect("new connections keep succeeding");
        if peer == b_leaf {
            break;
        }
        assert!(peer == a_leaf, "only A or B may be served");
        assert!(
            swapped.elapsed() < bound,
            "certificate B not served within {bound:?} (poll {poll:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = swapped.elapsed();
    eprintln!("certificate B served {took:?} after the swap (poll {poll:?})");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (served, failures) = load.await.unwrap();
    assert!(
        failures.is_empty(),
        "kept-alive requests failed: {failures:?}"
    );
    assert!(
        served.len() > 5,
        "too few kept-alive requests: {}",
        served.len()
    );
    assert!(
        served.iter().all(|peer| *peer == a_leaf),
        "the kept-alive connection was replaced: it must stay on A"
    );

    let _ = stop_tx.send(());
    controller.await.unwrap().unwrap();
}
