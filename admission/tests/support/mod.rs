//! Shared helpers of the TLS and handler tests: the hamster example state, a webhook on a random
//! local port, external tools.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use vpa_admission_controller::certs::{CertBundle, CertStore, TlsOptions, Validity, server_config};
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT, router};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::server::{HEADER_READ_TIMEOUT, serve_webhook_with};
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_test_support::hamster::{hamster_controllers, hamster_vpa};

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
/// container `hamster`) over the hamster's Deployment and ReplicaSet.
pub fn hamster_state() -> AppState {
    let view = StaticView::new(vec![hamster_vpa().build()], hamster_controllers());
    AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates::default(),
        max_allowed_cpu_boost: None,
        body_timeout: DEFAULT_BODY_TIMEOUT,
    }
}

/// Starts the webhook with `bundle` on 127.0.0.1 and returns its address, store and handle.
pub async fn start(
    bundle: &CertBundle,
    options: TlsOptions,
) -> (SocketAddr, Arc<CertStore>, Handle<SocketAddr>) {
    start_with(bundle, options, HEADER_READ_TIMEOUT).await
}

/// [`start`] with another header-read timeout.
pub async fn start_with(
    bundle: &CertBundle,
    options: TlsOptions,
    header_read_timeout: Duration,
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
        serve_webhook_with(
            "127.0.0.1:0".parse().unwrap(),
            router(state),
            config,
            h,
            header_read_timeout,
        )
        .await
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

/// A webhook on 127.0.0.1 over a fresh [`bundle`] with the hamster state, and its CA bundle in a
/// file, for the tests that talk to it with real TLS clients (curl, `openssl s_client`). The
/// server shuts down when this is dropped.
pub struct TlsWebhook {
    /// The certificates it serves.
    pub bundle: CertBundle,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The CA bundle (`ca.pem` in [`TlsWebhook::dir`]).
    pub ca: PathBuf,
    /// Scratch files of the test.
    pub dir: tempfile::TempDir,
    handle: Handle<SocketAddr>,
}

impl TlsWebhook {
    /// Starts the webhook with `options`.
    pub async fn start(options: TlsOptions) -> Self {
        let bundle = bundle();
        let (addr, _, handle) = start(&bundle, options).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = write(dir.path(), "ca.pem", &bundle.ca_bundle());
        Self {
            bundle,
            addr,
            ca,
            dir,
            handle,
        }
    }

    /// The webhook's URL, by the name its certificate holds.
    pub fn url(&self) -> String {
        format!("https://localhost:{}/", self.addr.port())
    }

    /// Writes `text` into the scratch file `name`.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        write(self.dir.path(), name, text)
    }

    /// `curl -sS --cacert <ca> <args> <url>`, run off the runtime; its output.
    pub async fn curl(&self, ca: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new("curl");
        cmd.arg("-sS")
            .arg("--cacert")
            .arg(ca)
            .args(args)
            .arg(self.url());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// POSTs the file `body` as JSON with [`TlsWebhook::curl`] trusting the webhook's CA, with
    /// `extra` arguments; curl's output.
    pub async fn post_file(&self, body: &Path, extra: &[&str]) -> Output {
        let data = format!("@{}", body.display());
        let mut args = extra.to_vec();
        args.extend([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &data,
        ]);
        self.curl(&self.ca, &args).await
    }

    /// [`s_client`] against the webhook trusting its CA, with `extra` arguments, run off the
    /// runtime.
    pub async fn s_client(&self, extra: &[&str]) -> String {
        let (port, ca) = (self.addr.port(), self.ca.clone());
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            s_client(port, &ca, &extra)
        })
        .await
        .unwrap()
    }
}

impl Drop for TlsWebhook {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// `openssl s_client` against 127.0.0.1:`port` (SNI localhost) trusting `ca`, with `extra`
/// arguments; its stdout and stderr together.
pub fn s_client(port: u16, ca: &Path, extra: &[&str]) -> String {
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

/// Writes `text` into `dir`/`name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
