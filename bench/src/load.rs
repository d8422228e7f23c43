//! The HTTPS load generator of the webhook benchmarks (admission's `admission_load` and
//! versus-upstream): reqwest over rustls, offering HTTP/2 by ALPN as kube-apiserver's webhook client
//! does, keep-alive; closed-loop saturation and open-loop pacing; latency quantiles. Edge.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A client trusting only `ca` (PEM), offering `h2` and `http/1.1`.
pub fn client(ca: &str) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("CA certificate");
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    // Offer HTTP/2 by ALPN, as kube-apiserver's webhook client does; without it reqwest speaks
    // HTTP/1.1 over a preconfigured rustls client.
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("reqwest client")
}

/// One request; whether it got a 2xx and a full body.
pub async fn send(c: &reqwest::Client, url: &str, body: bytes::Bytes) -> bool {
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

/// Throughput and latency of one run (or of several, [`merge`]d).
#[derive(Clone, Debug)]
pub struct Stats {
    /// Successful requests per second.
    pub rate: f64,
    /// Rate of each round, for [`merge`]d stats.
    pub rounds: Vec<f64>,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Failed requests.
    pub errors: usize,
}

/// Stats of the latencies of the successful requests of a run that took `elapsed`.
pub fn stats(mut lat: Vec<Duration>, elapsed: Duration, errors: usize) -> Stats {
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

/// Several equally long rounds as one: mean rate, latency quantiles of the worst round.
pub fn merge(runs: Vec<Stats>) -> Stats {
    let rounds: Vec<f64> = runs.iter().map(|s| s.rate).collect();
    Stats {
        rate: rounds.iter().sum::<f64>() / rounds.len().max(1) as f64,
        p50: runs.iter().map(|s| s.p50).max().unwrap_or_default(),
        p99: runs.iter().map(|s| s.p99).max().unwrap_or_default(),
        errors: runs.iter().map(|s| s.errors).sum(),
        rounds,
    }
}

/// Closed loop: `workers` tasks on `conns` clients send back to back for `dur`.
pub async fn saturate(
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
        let (l, e) = t.await.expect("load task");
        all.extend(l);
        errors += e;
    }
    stats(all, start.elapsed(), errors)
}

/// Open loop: one request every `1/rate` seconds for `dur`, latency from the scheduled time.
pub async fn paced(url: &str, ca: &str, body: &bytes::Bytes, rate: u32, dur: Duration) -> Stats {
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
        match t.await.expect("load task") {
            Some(l) => lat.push(l),
            None => errors += 1,
        }
    }
    stats(lat, start.elapsed(), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_pick_quantiles_of_sorted_latencies() {
        let lat: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = stats(lat, Duration::from_secs(2), 3);
        assert_eq!(s.rate, 50.0);
        assert_eq!(s.p50, Duration::from_millis(51));
        assert_eq!(s.p99, Duration::from_millis(100));
        assert_eq!(s.errors, 3);
    }

    #[test]
    fn merged_rounds_average_the_rate_and_keep_the_worst_latency() {
        let a = stats(vec![Duration::from_millis(1)], Duration::from_secs(1), 0);
        let b = stats(vec![Duration::from_millis(5); 3], Duration::from_secs(1), 1);
        let m = merge(vec![a, b]);
        assert_eq!(m.rate, 2.0);
        assert_eq!(m.rounds, vec![1.0, 3.0]);
        assert_eq!(m.p99, Duration::from_millis(5));
        assert_eq!(m.errors, 1);
    }
}
