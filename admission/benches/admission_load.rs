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
use serde_json::{Value, json};
use vpa_admission_controller::certs::{CertBundle, CertStore, TlsOptions, Validity, server_config};
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT, router};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::server::serve_webhook;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_common::testutil::{FakeControllers, VpaBuilder};

const CONTAINERS: [&str; 3] = ["app", "proxy", "log"];

fn review() -> Value {
    let containers: Vec<Value> = CONTAINERS
        .iter()
        .map(|c| json!({"name": c, "image": "i", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "200m", "memory": "200Mi"}}}))
        .collect();
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default", "operation": "CREATE", "userInfo": {"username": "bench"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "app-", "namespace": "default",
                "labels": {"app": "app"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-rs",
                "uid": "u", "controller": true}]}, "spec": {"containers": containers}}
        }
    })
}

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
        FakeControllers::new().deployment("default", "app"),
    );
    AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates: FeatureGates::default(),
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

fn client(ca: &str) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // Offer HTTP/2 by ALPN, as kube-apiserver's webhook client does; without it reqwest speaks
    // HTTP/1.1 over a preconfigured rustls client.
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// One request; whether it got a 2xx and a full body.
async fn send(c: &reqwest::Client, url: &str, body: bytes::Bytes) -> bool {
    match c
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

struct Stats {
    rate: f64,
    /// Rate of each round, for [`merge`]d stats.
    rounds: Vec<f64>,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

fn stats(mut lat: Vec<Duration>, elapsed: Duration, errors: usize) -> Stats {
    lat.sort();
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    Stats {
        rate,
        rounds: vec![rate],
        p50: pick(0.5),
        p99: pick(0.99),
        errors,
    }
}

/// Saturated rounds alternate between the endpoints, each this long.
const ROUNDS: usize = 3;

/// Several equally long rounds as one: mean rate, latency quantiles of the worst round.
fn merge(runs: Vec<Stats>) -> Stats {
    let rounds: Vec<f64> = runs.iter().map(|s| s.rate).collect();
    Stats {
        rate: rounds.iter().sum::<f64>() / rounds.len() as f64,
        p50: runs.iter().map(|s| s.p50).max().unwrap_or_default(),
        p99: runs.iter().map(|s| s.p99).max().unwrap_or_default(),
        errors: runs.iter().map(|s| s.errors).sum(),
        rounds,
    }
}

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

/// Closed loop: `workers` tasks on `conns` clients send back to back for `dur`.
async fn saturate(
    url: &str,
    ca: &str,
    body: &bytes::Bytes,
    conns: usize,
    workers: usize,
    dur: Duration,
) -> Stats {
    let clients: Vec<reqwest::Client> = (0..conns).map(|_| client(ca)).collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (c, url, body) = (clients[w % conns].clone(), url.to_string(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            while start.elapsed() < dur {
                let t = Instant::now();
                if send(&c, &url, body.clone()).await {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    stats(all, start.elapsed(), errors)
}

/// Open loop: one request every `1/rate` seconds for `dur`, latency from the scheduled time.
async fn paced(url: &str, ca: &str, body: &bytes::Bytes, rate: u32, dur: Duration) -> Stats {
    let c = client(ca);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut tasks = Vec::new();
    while start.elapsed() < dur {
        tick.tick().await;
        let (c, url, body) = (c.clone(), url.to_string(), body.clone());
        let t = Instant::now();
        tasks.push(tokio::spawn(async move {
            send(&c, &url, body).await.then(|| t.elapsed())
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Some(l) => lat.push(l),
            None => errors += 1,
        }
    }
    stats(lat, start.elapsed(), errors)
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
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&Default::default(), &crd).await.ok()?;
    }
    let ns: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    let _ = ns
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "kube-system"}})).unwrap(),
        )
        .await;
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
        let body = bytes::Bytes::from(review().to_string());
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
