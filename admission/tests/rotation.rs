//! Certificate rotation under load: clients keep sending AdmissionReviews (new connections and
//! kept-alive ones) while the CA and the serving certificate are replaced; no request fails, and
//! new connections see the new certificate.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use support::*;
use vpa_admission_controller::certs::{TlsOptions, Validity};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_loses_no_request() {
    let first = bundle();
    let (addr, store, handle) = start(&first, TlsOptions::default()).await;
    // The CA rotation: a new CA, the old one kept in the bundle.
    let v = Validity::default();
    let ca_due = Validity {
        ca_renew_before: v.ca + time::Duration::days(1),
        ..v
    };
    let rotated = first.renewal(&names(), now(), ca_due).unwrap().unwrap();
    assert!(rotated.previous_ca_cert_pem.is_some());
    // Clients trust the bundle as published after the rotation (old and new CA).
    let bundle_pem = rotated.ca_bundle();
    let url = format!("https://localhost:{}/", addr.port());
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let client = tls_client(&[&bundle_pem], i % 2 == 0);
        let (url, stop, ok) = (url.clone(), stop.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = HashSet::new();
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(POD_CREATE)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => {
                        if let Some(info) = r.extensions().get::<reqwest::tls::TlsInfo>() {
                            seen.insert(
                                info.peer_certificate().expect("peer certificate").to_vec(),
                            );
                        }
                        let body: serde_json::Value = r.json().await.unwrap();
                        assert_eq!(body["response"]["allowed"], true);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => failures.push(format!("status {}", r.status())),
                    Err(e) => failures.push(format!("{e:?}")),
                }
            }
            (seen, failures)
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    store
        .install(
            &rotated.server_cert_pem,
            &rotated.server_key_pem,
            &rotated.ca_bundle(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let renewed = rotated
        .renewal(
            &names(),
            now(),
            Validity {
                server_renew_before: v.server + time::Duration::days(1),
                ..v
            },
        )
        .unwrap()
        .unwrap();
    store
        .install(
            &renewed.server_cert_pem,
            &renewed.server_key_pem,
            &renewed.ca_bundle(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all_seen = HashSet::new();
    for t in tasks {
        let (seen, failures) = t.await.unwrap();
        assert!(
            failures.is_empty(),
            "failed requests during rotation: {failures:?}"
        );
        all_seen.extend(seen);
    }
    assert!(
        ok.load(Ordering::Relaxed) > 30,
        "too little load: {}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(
        all_seen.len(),
        3,
        "new connections must see each of the three certificates"
    );
    handle.shutdown();
}
