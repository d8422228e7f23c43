//! Certificate rotation under load: clients keep sending AdmissionReviews (new connections and
//! kept-alive ones) while the CA and the serving certificate are replaced step by step, as the
//! refresh loop does it. Like kube-apiserver, the clients trust only the caBundle registered
//! before the rotation and switch only to each bundle as registered, some time after the server
//! started serving that step; no request fails, and new connections see each new certificate.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use support::*;
use vpa_admission_controller::certs::{CertBundle, Published, TlsOptions, Validity};

/// Time between serving a step and registering its bundle, and between registering and the
/// next step.
const LAG: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_loses_no_request() {
    let v = Validity::default();
    // The CA is due for rotation at once; a staged CA may sign 300 ms after it is registered.
    let rotating = Validity {
        ca_renew_before: v.ca + time::Duration::days(1),
        ca_propagation: time::Duration::milliseconds(300),
        ..v
    };
    let renewing_leaf = Validity {
        server_renew_before: v.server + time::Duration::days(1),
        ..v
    };
    let first = CertBundle::generate(&names(), now(), rotating).unwrap();
    let (addr, store, handle) = start(&first, TlsOptions::default()).await;
    // What kube-apiserver trusts: the pre-rotation registration, then each one as it is made.
    let (trust, _) = tokio::sync::watch::channel(first.ca_bundle());
    let url = format!("https://localhost:{}/", addr.port());
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let keep_alive = i % 2 == 0;
        let mut trusted = trust.subscribe();
        let (url, stop, ok) = (url.clone(), stop.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = tls_client(&[trusted.borrow_and_update().as_str()], keep_alive);
            let mut seen = HashSet::new();
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if trusted.has_changed().unwrap() {
                    client = tls_client(&[trusted.borrow_and_update().as_str()], keep_alive);
                }
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
    tokio::time::sleep(LAG).await;

    // The refresh loop, step by step: renew, serve, then register when the bundle changed.
    let mut bundle = first.clone();
    let mut registered = first.ca_bundle();
    let mut served = vec![leaf_der(&first.server_cert_pem)];
    let steps = [
        ("stage the next CA", rotating),
        ("see it registered", rotating),
        ("promote it", rotating),
        ("renew the serving certificate", renewing_leaf),
    ];
    for (what, validity) in steps {
        let next = bundle
            .renewal(&names(), now(), validity, Published::Bundle(&registered))
            .unwrap()
            .unwrap_or_else(|| panic!("no renewal at step {what:?}"));
        store
            .install(
                &next.server_cert_pem,
                &next.server_key_pem,
                &next.ca_bundle(),
            )
            .unwrap();
        let leaf = leaf_der(&next.server_cert_pem);
        if served.last() != Some(&leaf) {
            served.push(leaf);
        }
        tokio::time::sleep(LAG).await;
        if next.ca_bundle() != registered {
            registered = next.ca_bundle();
            trust.send_replace(registered.clone());
        }
        tokio::time::sleep(LAG).await;
        bundle = next;
    }
    assert_eq!(
        bundle.previous_ca_cert_pem.as_deref(),
        Some(first.ca_cert_pem.as_str()),
        "the CA was rotated"
    );
    assert_eq!(served.len(), 3, "first, promoted and renewed certificates");

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
        all_seen,
        served.into_iter().collect::<HashSet<_>>(),
        "new connections must see each of the three certificates"
    );
    handle.shutdown();
}
