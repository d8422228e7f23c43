//! Load benchmark of the webhook over TLS (HTTP/2 by ALPN, keep-alive), side by side with a bare
//! axum + rustls endpoint that reads the request and answers a fixed AdmissionReview (the
//! ceiling), in alternating rounds; the handler's own cost in process; and the idle RSS of the
//! real binary against `vpa-sim`.
//!
//! Run: `cargo bench -p vpa-admission-controller --bench admission_load`
//! (`ADMISSION_BENCH_SKIP_RSS=1` leaves out the idle RSS.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use axum_server::Handle;
use vpa_admission_controller::certs::{CertBundle, CertStore, TlsOptions, Validity, server_config};
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT, router};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::server::serve_webhook;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_bench::admission_workload::{CONTAINERS, review};
use vpa_bench::load::{Stats, client, merge, paced, saturate};
use vpa_common::controllers::Controllers;
use vpa_common::testutil::VpaBuilder;

fn state() -> AppState {
    let mut vpa = VpaBuilder::new("default", "app-vpa").target_ref("Deployment", "app");
    for c in CONTAINERS {
        vpa = vpa
            .container(c)
            .target("250m", "200Mi")
            .lower_bound("200m", "150Mi")
            .upper_bound("1", "1Gi");
    }
    let view = StaticView::new(
        vec![vpa.build()],
        Controllers::default().with_deployment("default", "app"),
    );
    AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates::default(),
        max_allowed_cpu_boost: None,
        body_timeout: DEFAULT_BODY_TIMEOUT,
    }
}

async fn start(app: Router, store: Arc<CertStore>) -> (u16, Handle<std::net::SocketAddr>) {
    let config = server_config(store, &TlsOptions::default()).unwrap();
    let handle = Handle::new();
    tokio::spawn(serve_webhook(
        "127.0.0.1:0".parse().unwrap(),
        app,
        config,
        handle.clone(),
    ));
    let port = handle.listening().await.unwrap().port();
    (port, handle)
}

/// Saturated rounds alternate between the endpoints, each this long.
const ROUNDS: usize = 3;

/// CPU time of the handler alone: the router called in process, back to back, microseconds per
/// request.
async fn handler_micros(body: &bytes::Bytes) -> f64 {
    use tower::ServiceExt;
    let app = router(state());
    let call = |app: Router| async move {
        let req = axum::http::Request::post("/")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
    };
    for _ in 0..1000 {
        call(app.clone()).await;
    }
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(call(app.clone()).await);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn row(name: &str, s: &Stats) {
    println!(
        "| {name} | {:.0} | {:.3} | {:.3} | {} |",
        s.rate,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.errors
    );
}

async fn idle_rss_kib() -> Option<u64> {
    let sim = vpa_sim::Sim::start(vpa_sim::SimOptions::default())
        .await
        .ok()?;
    let client = sim.client().await.ok()?;
    vpa_test_support::install_vpa_crds(&client).await.ok()?;
    vpa_test_support::create_namespaces(&client, &["kube-system"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vpa-admission-controller"))
        .args([
            format!("--kubeconfig={}", sim.kubeconfig_path().display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".into(),
            format!("--address=127.0.0.1:{admin}"),
            "--namespace=kube-system".into(),
        ])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let ready = format!("http://127.0.0.1:{admin}/readyz");
    for _ in 0..100 {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    let _ = child.kill().await;
    sim.shutdown().await;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    vpa_common::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let names = vec!["localhost".to_string()];
        let bundle =
            CertBundle::generate(&names, time::OffsetDateTime::now_utc(), Validity::default())
                .unwrap();
        let store = Arc::new(CertStore::new());
        store
            .install(
                &bundle.server_cert_pem,
                &bundle.server_key_pem,
                &bundle.ca_bundle(),
            )
            .unwrap();
        let body = bytes::Bytes::from(review("u").to_string());
        // The ceiling answers what the webhook answers, precomputed.
        let (wport, _wh) = start(router(state()), store.clone()).await;
        let wurl = format!("https://localhost:{wport}/");
        let first = client(&bundle.ca_cert_pem)
            .post(&wurl)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            first.version(),
            reqwest::Version::HTTP_2,
            "HTTP/2 negotiated"
        );
        let fixed = first.bytes().await.unwrap();
        // Like any webhook, the ceiling receives the whole request body before answering.
        let ceiling = Router::new().fallback(post(move |request: bytes::Bytes| {
            let fixed = fixed.clone();
            async move {
                std::hint::black_box(request);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    fixed,
                )
            }
        }));
        let (cport, _ch) = start(ceiling, store.clone()).await;
        let curl = format!("https://localhost:{cport}/");
        let ca = bundle.ca_cert_pem.clone();
        let (dur, paced_dur) = (Duration::from_secs(2), Duration::from_secs(3));
        // Warm up both.
        saturate(&wurl, &ca, &body, 2, 8, Duration::from_millis(500)).await;
        saturate(&curl, &ca, &body, 2, 8, Duration::from_millis(500)).await;
        println!("| endpoint (3-container pod, TLS, HTTP/2) | req/s | p50 ms | p99 ms | errors |");
        println!("| --- | --- | --- | --- | --- |");
        // Alternate the two endpoints so background load on the shared machine hits both alike.
        let (mut ceiling_runs, mut webhook_runs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ceiling_runs.push(saturate(&curl, &ca, &body, 4, 32, dur).await);
            webhook_runs.push(saturate(&wurl, &ca, &body, 4, 32, dur).await);
        }
        let ceiling_sat = merge(ceiling_runs);
        let webhook_sat = merge(webhook_runs);
        row("ceiling: fixed AdmissionReview, saturated", &ceiling_sat);
        row("webhook, saturated", &webhook_sat);
        row(
            "ceiling at 1000 req/s",
            &paced(&curl, &ca, &body, 1000, paced_dur).await,
        );
        row(
            "webhook at 1000 req/s",
            &paced(&wurl, &ca, &body, 1000, paced_dur).await,
        );
        println!(
            "\nwebhook / ceiling throughput: {:.2} (rounds: {})",
            webhook_sat.rate / ceiling_sat.rate,
            ceiling_sat
                .rounds
                .iter()
                .zip(&webhook_sat.rounds)
                .map(|(c, w)| format!("{:.2}", w / c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "webhook handler alone (in process, no TLS/HTTP, one thread): {:.1} µs/request",
            handler_micros(&body).await
        );
        if std::env::var_os("ADMISSION_BENCH_SKIP_RSS").is_some() {
            return;
        }
        match idle_rss_kib().await {
            Some(kib) => println!(
                "idle RSS of vpa-admission-controller against vpa-sim: {:.1} MiB",
                kib as f64 / 1024.0
            ),
            None => println!("idle RSS: could not start the binary against vpa-sim"),
        }
    });
}
