//! Outdated and hostile clients against the webhook's TLS port, with real peers (`openssl
//! s_client`, `curl`, raw sockets): old protocol versions and weak cipher suites get an alert from
//! the server, and hundreds of connections that never finish their TLS handshake neither starve a real client nor stay open past
//! the handshake timeout (axum-server's 10 s). Skipped with a reason where a tool is missing, failing
//! under CI=true.

mod support;

use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vpa_admission_controller::certs::TlsOptions;

/// Connections that stall in the handshake.
const STALLED: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_protocols_and_weak_ciphers_get_an_alert_from_the_server() {
    if !have("openssl") {
        return;
    }
    let webhook = TlsWebhook::start(TlsOptions::default()).await;
    // SECLEVEL=0 lets this OpenSSL offer what it would refuse by itself, so a failure is the
    // server's answer (an alert it sends), not the client's own policy. The suites: CBC with SHA-1
    // and static-RSA key exchange (no forward secrecy), even with GCM.
    let cases: [(&[&str], &str); 5] = [
        (
            &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
            "alert handshake failure",
        ),
        (
            &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
            "alert handshake failure",
        ),
        (
            &["-tls1_2", "-cipher", "AES128-SHA@SECLEVEL=0"],
            "alert handshake failure",
        ),
        (
            &[
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-SHA@SECLEVEL=0:ECDHE-RSA-AES128-SHA@SECLEVEL=0",
            ],
            "alert handshake failure",
        ),
        (
            &["-tls1_2", "-cipher", "AES256-GCM-SHA384@SECLEVEL=0"],
            "alert handshake failure",
        ),
    ];
    for (args, alert) in cases {
        let out = webhook.s_client(args).await;
        assert!(
            out.contains(alert)
                && out.contains("SSL alert number")
                && out.contains("Cipher is (NONE)"),
            "{args:?} must end in `{alert}` from the server: {out}"
        );
    }
    // The same client with a modern suite is served, so the refusals above are about the suites.
    let ok = webhook
        .s_client(&[
            "-tls1_2",
            "-cipher",
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
        ])
        .await;
    assert!(ok.contains("Verify return code: 0 (ok)"), "{ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_neither_starve_a_real_client_nor_stay_open() {
    let webhook = TlsWebhook::start(TlsOptions::default()).await;
    let addr = webhook.addr;
    // Half send nothing, half the first bytes of a TLS record and then nothing.
    let mut stalled = Vec::new();
    for i in 0..STALLED {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
        }
        stalled.push(s);
    }
    let client = tls_client(&[&webhook.bundle.ca_bundle()], false);
    let started = Instant::now();
    let answer = client
        .post(webhook.url())
        .header("Content-Type", "application/json")
        .body(POD_CREATE)
        .send()
        .await
        .unwrap();
    let served_in = started.elapsed();
    assert!(answer.status().is_success(), "{}", answer.status());
    assert!(
        served_in < Duration::from_secs(2),
        "with {STALLED} stalled handshakes a real client waited {served_in:?}"
    );
    // Every stalled connection is closed by the server after its handshake timeout.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut open = 0;
    for s in &mut stalled {
        // Closed means end of stream or a reset; an alert's bytes may come first.
        let closed = tokio::time::timeout_at(deadline.into(), async {
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
        if closed.is_err() {
            open += 1;
        }
    }
    eprintln!(
        "real client served in {served_in:?} beside {STALLED} stalled handshakes; {open} still open after 20 s"
    );
    assert_eq!(open, 0, "stalled connections must be closed by the server");
}
