//! Shared helpers of the TLS and handler tests: the hamster example state, a webhook on a random
//! local port, external tools.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum_server::Handle;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use vpa_admission_controller::certs::{CertBundle, CertStore, TlsOptions, Validity, server_config};
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT, router};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::server::serve_webhook;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_common::testutil::{FakeControllers, VpaBuilder};

pub const POD_CREATE: &str = include_str!("../reviews/pod-create.json");

pub fn names() -> Vec<String> {
    vec!["localhost".to_string(), "127.0.0.1".to_string()]
}

pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

pub fn bundle() -> CertBundle {
    CertBundle::generate(&names(), now(), Validity::default()).unwrap()
}

/// The handler's state for the hamster example: VPA `hamster-vpa` (target 250m / 200Mi for
/// container `hamster`) over Deployment `hamster` and its ReplicaSet `hamster-5d7c6c6b5f`.
pub fn hamster_state() -> AppState {
    let view = StaticView::new(
        vec![
            VpaBuilder::new("default", "hamster-vpa")
                .container("hamster")
                .target("250m", "200Mi")
                .build(),
        ],
        FakeControllers::new()
            .add(
                "default",
                "Deployment",
                "hamster",
                None,
                &[("app", "hamster")],
            )
            .add(
                "default",
                "ReplicaSet",
                "hamster-5d7c6c6b5f",
                Some(("Deployment", "hamster")),
                &[],
            ),
    );
    AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates::default(),
        body_timeout: DEFAULT_BODY_TIMEOUT,
    }
}

/// Starts the webhook with `bundle` on 127.0.0.1 and returns its address, store and handle.
pub async fn start(
    bundle: &CertBundle,
    options: TlsOptions,
) -> (SocketAddr, Arc<CertStore>, Handle<SocketAddr>) {
    vpa_admission_controller::install_crypto();
    let store = Arc::new(CertStore::new());
    store
        .install(
            &bundle.server_cert_pem,
            &bundle.server_key_pem,
            &bundle.ca_bundle(),
        )
        .unwrap();
    let state = hamster_state();
    let config = server_config(store.clone(), &options).unwrap();
    let handle = Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        serve_webhook("127.0.0.1:0".parse().unwrap(), router(state), config, h).await
    });
    let addr = handle.listening().await.expect("server listens");
    (addr, store, handle)
}

/// A reqwest client over rustls trusting `ca_pems`, reporting the peer certificate
/// (`TlsInfo`) and never resuming sessions, so each new connection shows the certificate served
/// at that time. Without `keep_alive` every request opens a new connection.
pub fn tls_client(ca_pems: &[&str], keep_alive: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .tls_info(true);
    if !keep_alive {
        b = b.pool_max_idle_per_host(0);
    }
    b.build().unwrap()
}

/// DER of the first certificate of a PEM chain (the leaf a server sends).
pub fn leaf_der(chain_pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .expect("a certificate")
        .unwrap()
        .to_vec()
}

/// Whether `tool` runs; when it does not, prints why the test is skipped, or panics under CI.
pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("version").output().is_ok();
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{tool} is required under CI=true but was not found");
        }
        eprintln!("skipping: {tool} not found on PATH");
    }
    ok
}

pub fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
