//! The webhook over real TLS, checked by real clients: `curl --cacert` and `openssl s_client`
//! against the generated CA (skipped with a reason when missing, failing under CI=true).

mod support;

use support::*;
use vpa_admission_controller::certs::TlsOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_trusts_the_generated_ca_and_gets_a_patch_over_http2() {
    if !have("curl") {
        return;
    }
    let webhook = TlsWebhook::start(TlsOptions::default()).await;
    let review = webhook.file("review.json", POD_CREATE);
    let out = webhook
        .post_file(&review, &["--http2", "-w", "\n%{http_version}"])
        .await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_rejects_a_server_not_signed_by_its_ca() {
    if !have("curl") {
        return;
    }
    let webhook = TlsWebhook::start(TlsOptions::default()).await;
    let other_ca = webhook.file("other.pem", &bundle().ca_cert_pem);
    let status = webhook.curl(&other_ca, &["-o", "/dev/null"]).await.status;
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_verifies_the_chain_and_only_tls12_and_13_are_offered() {
    if !have("openssl") {
        return;
    }
    let webhook = TlsWebhook::start(TlsOptions::default()).await;
    let tls13 = webhook.s_client(&[]).await;
    let tls12 = webhook.s_client(&["-tls1_2"]).await;
    let tls11 = webhook.s_client(&["-tls1_1"]).await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_tls_version_13_refuses_tls12() {
    if !have("openssl") {
        return;
    }
    let options = TlsOptions {
        tls13_only: true,
        ..Default::default()
    };
    let webhook = TlsWebhook::start(options).await;
    let tls12 = webhook.s_client(&["-tls1_2"]).await;
    assert!(tls12.contains("no peer certificate available"), "{tls12}");
}
