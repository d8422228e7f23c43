//! The webhook over real TLS, checked by real clients: `curl --cacert` and `openssl s_client`
//! against the generated CA (skipped with a reason when missing, failing under CI=true).

mod support;

use std::process::Command;

use support::*;
use vpa_admission_controller::certs::TlsOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_trusts_the_generated_ca_and_gets_a_patch_over_http2() {
    if !have("curl") {
        return;
    }
    let b = bundle();
    let (addr, _, handle) = start(&b, TlsOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &b.ca_bundle());
    let review = write(dir.path(), "review.json", POD_CREATE);
    let url = format!("https://localhost:{}/", addr.port());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--http2", "-w", "\n%{http_version}", "--cacert"])
            .arg(&ca)
            .args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(format!("@{}", review.display()))
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, version) = text.rsplit_once('\n').unwrap();
    assert_eq!(version, "2");
    let review: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(review["response"]["allowed"], true);
    assert!(review["response"]["patch"].is_string());
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_rejects_a_server_not_signed_by_its_ca() {
    if !have("curl") {
        return;
    }
    let (addr, _, handle) = start(&bundle(), TlsOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let other_ca = write(dir.path(), "other.pem", &bundle().ca_cert_pem);
    let url = format!("https://localhost:{}/", addr.port());
    let status = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--cacert"])
            .arg(&other_ca)
            .arg(url)
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!status.success());
    handle.shutdown();
}

fn s_client(port: u16, ca: &std::path::Path, extra: &[&str]) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-CAfile",
        ])
        .arg(ca)
        .args(extra)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_verifies_the_chain_and_only_tls12_and_13_are_offered() {
    if !have("openssl") {
        return;
    }
    let b = bundle();
    let (addr, _, handle) = start(&b, TlsOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &b.ca_bundle());
    let port = addr.port();
    let (tls13, tls12, tls11) = tokio::task::spawn_blocking(move || {
        (
            s_client(port, &ca, &[]),
            s_client(port, &ca, &["-tls1_2"]),
            s_client(port, &ca, &["-tls1_1"]),
        )
    })
    .await
    .unwrap();
    assert!(
        tls13.contains("Verify return code: 0 (ok)") && tls13.contains("BEGIN CERTIFICATE"),
        "{tls13}"
    );
    assert!(tls13.contains("TLSv1.3"), "{tls13}");
    assert!(
        tls12.contains("Verify return code: 0 (ok)") && tls12.contains("TLSv1.2"),
        "{tls12}"
    );
    assert!(
        tls11.contains("no peer certificate available"),
        "TLS 1.1 must fail: {tls11}"
    );
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_tls_version_13_refuses_tls12() {
    if !have("openssl") {
        return;
    }
    let b = bundle();
    let options = TlsOptions {
        tls13_only: true,
        ..Default::default()
    };
    let (addr, _, handle) = start(&b, options).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &b.ca_bundle());
    let port = addr.port();
    let tls12 = tokio::task::spawn_blocking(move || s_client(port, &ca, &["-tls1_2"]))
        .await
        .unwrap();
    assert!(tls12.contains("no peer certificate available"), "{tls12}");
    handle.shutdown();
}
