//! The CA rotation as the running controller does it, in the in-memory API server: with a CA
//! that is due at once and a two-second propagation delay, the refresh loop stages the next CA
//! (Secret and registered `caBundle` carry both), waits until it has been registered for the
//! delay, and only then serves a certificate the new CA signed, keeping the old CA in the bundle.
//! A client that trusts only what is registered at the moment it connects (as kube-apiserver
//! does) completes every handshake throughout.

mod sim_support;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sim_support::url_registered_args;
use vpa_admission_controller::certs::Validity;
use vpa_sim::free_port;
use vpa_test_support::sim_cluster::sim_with_vpa_crds;

/// A TLS handshake with `127.0.0.1:port` for `vpa-webhook.kube-system.svc`, trusting only the
/// CAs in `bundle`: the leaf certificate served, or why the handshake failed.
fn handshake(port: u16, bundle: &[u8]) -> Result<CertificateDer<'static>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bundle) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("vpa-webhook.kube-system.svc").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    Ok(conn.peer_certificates().unwrap()[0].clone().into_owned())
}

fn registered_bundle(config: &MutatingWebhookConfiguration) -> Vec<u8> {
    config.webhooks.as_ref().unwrap()[0]
        .client_config
        .ca_bundle
        .as_ref()
        .map(|b| b.0.clone())
        .unwrap_or_default()
}

fn key(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret.data.as_ref()?.get(key).map(|b| b.0.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_controller_stages_registers_and_only_then_promotes_the_next_ca() {
    let (sim, client) = sim_with_vpa_crds(&["kube-system"]).await;

    let (port, admin) = (free_port(), free_port());
    let args = url_registered_args(&sim, port, admin, &["--cert-refresh-interval=200ms"]);
    let mut config = args.into_config(false).unwrap();
    let v = Validity::default();
    config.cert_validity = Validity {
        // Due for a CA rotation from the start; a staged CA may sign 1 s after registration.
        ca_renew_before: v.ca + time::Duration::days(1),
        // Whole seconds are stored, so this is at least 1 s of real time.
        ca_propagation: time::Duration::seconds(2),
        ..v
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(vpa_admission_controller::run::run_until(config, async {
        let _ = stop_rx.await;
    }));

    let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
    let mut first: Option<(Vec<u8>, CertificateDer<'static>)> = None;
    let mut staged_registered: Option<Instant> = None;
    let mut handshakes = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let promoted = loop {
        assert!(Instant::now() < deadline, "no CA promotion within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(registered) = webhooks.get_opt("vpa-webhook-config").await.unwrap() else {
            continue;
        };
        let bundle = registered_bundle(&registered);
        // What kube-apiserver trusts at this moment must be enough for what is served.
        let leaf = tokio::task::spawn_blocking({
            let bundle = bundle.clone();
            move || handshake(port, &bundle)
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("handshake with the registered caBundle failed: {e}"));
        handshakes += 1;
        let secret = secrets.get("vpa-tls-certs").await.unwrap();
        let (first_ca, first_leaf) =
            first.get_or_insert_with(|| (key(&secret, "caCert.pem").unwrap(), leaf.clone()));
        let current_ca = key(&secret, "caCert.pem");
        if let Some(next) = key(&secret, "nextCaCert.pem")
            && current_ca.as_ref() == Some(first_ca)
        {
            assert_ne!(&next, first_ca);
            // Staged, not signing: the served certificate is still the first one.
            assert_eq!(&leaf, first_leaf, "a staged CA must not sign yet");
            let pem = String::from_utf8(next).unwrap();
            if staged_registered.is_none() && String::from_utf8_lossy(&bundle).contains(pem.trim())
            {
                staged_registered = Some(Instant::now());
            }
        }
        if current_ca.as_ref() != Some(first_ca) {
            break (secret, first_ca.clone(), first_leaf.clone());
        }
    };
    let (secret, first_ca, first_leaf) = promoted;
    let registered_at = staged_registered.expect("the next CA was staged and registered first");
    assert!(
        registered_at.elapsed() >= Duration::from_millis(900),
        "promoted {:?} after registration, before the propagation delay",
        registered_at.elapsed()
    );
    assert!(handshakes > 3, "handshakes were made throughout");
    assert_eq!(
        key(&secret, "previousCaCert.pem").as_deref(),
        Some(first_ca.as_slice()),
        "the replaced CA is kept as the previous one"
    );
    let registered = webhooks.get("vpa-webhook-config").await.unwrap();
    let bundle = String::from_utf8(registered_bundle(&registered)).unwrap();
    assert!(
        bundle.contains(String::from_utf8(first_ca).unwrap().trim()),
        "the old CA stays in the registered caBundle"
    );
    // Once promoted the new CA signs what is served (installed right after the Secret write).
    let bundle = registered_bundle(&registered);
    let served = tokio::task::spawn_blocking(move || handshake(port, &bundle))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        served, first_leaf,
        "the promoted CA's certificate is served"
    );

    stop_tx.send(()).unwrap();
    controller.await.unwrap().unwrap();
    sim.shutdown().await;
}
