//! The admission controller comparison: both webhook binaries run against one sim holding the
//! pod's Deployment and a VPA recommending its 3 containers, serving the same TLS certificate; the
//! same load generator sends the same AdmissionReview to each in turn (saturated, then paced),
//! alternating which goes first every round. Idle RSS is read once both have synced and idled.
//! The webhook makes no API request per review, so there is no client-throttle row. Edge.

use std::path::Path;
use std::time::{Duration, Instant};

use vpa_bench::admission_workload::{self, TlsFiles};
use vpa_bench::child::{Measured, Stderr};
use vpa_bench::load::{self, Stats};
use vpa_bench::report::{Group, Metric, PeerRow, Table};
use vpa_bench::stats::median;
use vpa_sim::{Sim, SimOptions};

use crate::args::{Args, Component};
use crate::peers::{self, Binaries, Kind, Peer};

/// The columns.
pub fn metrics() -> Vec<Metric> {
    vec![
        Metric::throughput("saturated req/s", 0),
        Metric::cost("saturated p50 (ms)", 3),
        Metric::cost("saturated p99 (ms)", 3),
        Metric::cost("p50 at the paced rate (ms)", 3),
        Metric::cost("p99 at the paced rate (ms)", 3),
        Metric::cost("errors", 0),
        Metric::cost("idle RSS (MiB)", 1),
        Metric::cost("RSS after the load (MiB)", 1),
    ]
}

/// A running webhook.
struct Webhook {
    child: Measured,
    url: String,
    idle_rss_mib: f64,
    http: String,
}

fn flags(peer: &Peer, kubeconfig: &Path, tls: &TlsFiles, port: u16, admin: u16) -> Vec<String> {
    let mut f = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--port={port}"),
        format!("--address=127.0.0.1:{admin}"),
        format!("--client-ca-file={}", tls.ca_file.display()),
        format!("--tls-cert-file={}", tls.cert_file.display()),
        format!("--tls-private-key={}", tls.key_file.display()),
        "--register-webhook=false".into(),
    ];
    if peer.kind == Kind::Ours {
        // Upstream listens on every interface and has no such flag.
        f.push("--bind-address=127.0.0.1".into());
    }
    f.extend(peer.flags.iter().cloned());
    f
}

/// Starts `peer` and waits until it patches the review (so it has synced the VPA).
async fn start(
    peer: &Peer,
    kubeconfig: &Path,
    tls: &TlsFiles,
    body: &bytes::Bytes,
    log: &Path,
) -> anyhow::Result<Webhook> {
    let (port, admin) = (vpa_sim::free_port(), vpa_sim::free_port());
    let env = [("NAMESPACE", "kube-system"), ("RUST_LOG", "warn")];
    let mut child = Measured::start(
        &peer.binary,
        &flags(peer, kubeconfig, tls, port, admin),
        &env,
        log,
        Stderr::Log,
    )?;
    let url = format!("https://localhost:{port}/");
    let client = load::client(&tls.ca_pem);
    let deadline = Instant::now() + Duration::from_secs(60);
    let http = loop {
        child.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} did not patch the pod in 60 s; log:\n{}",
            peer.label,
            child.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(resp) = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
        else {
            continue;
        };
        let version = format!("{:?}", resp.version());
        let Ok(review) = resp.json::<serde_json::Value>().await else {
            continue;
        };
        if review["response"]["patch"].is_string() {
            break version;
        }
    };
    // Idle: synced, one review answered, then nothing for 3 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss_mib = child.stats().rss_mib;
    Ok(Webhook {
        child,
        url,
        idle_rss_mib,
        http,
    })
}

/// Runs the comparison and returns the table.
pub async fn compare(args: &Args, bins: &Binaries, logs: &Path) -> anyhow::Result<Table> {
    let sim = Sim::start(SimOptions::default()).await?;
    vpa_test_support::install_vpa_crds(&sim.client().await?).await?;
    let owner = admission_workload::seed(sim.store());
    let body = bytes::Bytes::from(admission_workload::review(&owner).to_string());
    let kubeconfig = logs.join("admission.kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_for(sim.admin_token()))?;
    let tls = admission_workload::write_tls_files(logs)?;
    let peers = peers::peers(bins, Component::Admission, args, false);
    let mut hooks = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        hooks.push(
            start(
                p,
                &kubeconfig,
                &tls,
                &body,
                &logs.join(format!("admission-{i}.log")),
            )
            .await?,
        );
    }
    for (p, h) in peers.iter().zip(&hooks) {
        eprintln!(
            "[admission] {} answers over {}, idle RSS {:.1} MiB",
            p.label, h.http, h.idle_rss_mib
        );
        // Warm up.
        load::saturate(&h.url, &tls.ca_pem, &body, 2, 8, Duration::from_millis(500)).await;
    }
    let (sat, paced) = (
        Duration::from_secs_f64(args.admission_saturate_seconds),
        Duration::from_secs_f64(args.admission_paced_seconds),
    );
    let mut rounds: Vec<Vec<(Stats, Stats)>> = peers.iter().map(|_| Vec::new()).collect();
    for round in 0..args.rounds {
        for peer in peers::round_order(&peers, round) {
            let slot = peers
                .iter()
                .position(|p| p.label == peer.label)
                .unwrap_or(0);
            let url = &hooks[slot].url;
            let s = load::saturate(url, &tls.ca_pem, &body, 4, 32, sat).await;
            let p = load::paced(url, &tls.ca_pem, &body, args.admission_rate, paced).await;
            eprintln!(
                "[admission] round {} {}: saturated {:.0} req/s (p99 {:.2} ms), at {} req/s p50 {:.3} ms p99 {:.3} ms",
                round + 1,
                peer.label,
                s.rate,
                s.p99.as_secs_f64() * 1e3,
                args.admission_rate,
                p.p50.as_secs_f64() * 1e3,
                p.p99.as_secs_f64() * 1e3
            );
            rounds[slot].push((s, p));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |i: usize| {
        let col = |f: &dyn Fn(&(Stats, Stats)) -> f64| {
            median(&rounds[i].iter().map(f).collect::<Vec<_>>())
        };
        PeerRow {
            peer: peers[i].label.to_string(),
            values: vec![
                col(&|(s, _)| s.rate),
                col(&|(s, _)| ms(s.p50)),
                col(&|(s, _)| ms(s.p99)),
                col(&|(_, p)| ms(p.p50)),
                col(&|(_, p)| ms(p.p99)),
                col(&|(s, p)| (s.errors + p.errors) as f64),
                Some(hooks[i].idle_rss_mib),
                Some(hooks[i].child.stats().rss_mib),
            ],
            rounds: rounds[i].len(),
        }
    };
    let group = Group {
        label: format!(
            "3-container pod, TLS ({}), paced at {} req/s",
            hooks[0].http, args.admission_rate
        ),
        ours: row(0),
        peers: (1..peers.len()).map(row).collect(),
    };
    drop(hooks);
    sim.shutdown().await;
    Ok(Table {
        title: "Admission controller".into(),
        metrics: metrics(),
        groups: vec![group],
    })
}
