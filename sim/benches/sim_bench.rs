//! vpa-sim scale benchmark: loads 50k pods and 10k VPAs, lists the pods over HTTPS (raw and
//! typed through kube-rs, whole and paged), and fans 1k pod updates/s out to 10 watchers.
//! Run: `cargo bench -p vpa-sim --bench sim_bench` (short: about half a minute).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use vpa_sim::GroupResource;
use vpa_sim::{Sim, SimOptions};

const PODS: usize = 50_000;
const VPAS: usize = 10_000;
const NAMESPACES: usize = 50;
const WATCHERS: usize = 10;
const RATE: u64 = 1_000;
const SECONDS: u64 = 5;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn pod(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("ns-{}", i % NAMESPACES), "labels": {"app": format!("app-{}", i % 1000)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("app-{}-rs", i % 1000), "uid": format!("uid-{}", i % 1000), "controller": true}]},
        "spec": {"nodeName": format!("node-{}", i % 200), "containers": [{"name": "app", "image": "registry.k8s.io/app:1",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "registry.k8s.io/app:1", "imageID": "", "state": {"running": {}}}]}})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p) as usize)
        .copied()
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await?;
    let store = sim.store();
    let rss0 = rss_mib();

    let t = Instant::now();
    let ns = GroupResource::new("", "namespaces");
    for n in 0..NAMESPACES {
        store
            .create(
                &ns,
                false,
                json!({"metadata": {"name": format!("ns-{n}")}}),
                false,
            )
            .map_err(anyhow::Error::msg)?;
    }
    let pods_gr = GroupResource::new("", "pods");
    for i in 0..PODS {
        store
            .create(&pods_gr, true, pod(i), false)
            .map_err(anyhow::Error::msg)?;
    }
    let crds = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/crds/vpa-v1-crd.yaml"
    ))?;
    let admin = vpa_sim::UserInfo::new("admin", &[vpa_sim::MASTERS]);
    let reg = sim.shared().registry();
    let crd_info = reg
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .expect("CRDs are served");
    for doc in crds
        .split("\n---")
        .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
        .filter(Value::is_object)
    {
        sim.shared()
            .create(&admin, &crd_info, "", doc, &Default::default())
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let vpa_gr = GroupResource::new("autoscaling.k8s.io", "verticalpodautoscalers");
    for i in 0..VPAS {
        let vpa = json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "metadata": {"name": format!("vpa-{i}"), "namespace": format!("ns-{}", i % NAMESPACES)},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{i}")}, "updatePolicy": {"updateMode": "Recreate"}}});
        store
            .create(&vpa_gr, true, vpa, false)
            .map_err(anyhow::Error::msg)?;
    }
    println!(
        "load: {PODS} pods + {VPAS} VPAs in {:.2?}; RSS {:.0} MiB -> {:.0} MiB",
        t.elapsed(),
        rss0,
        rss_mib()
    );

    let client = sim.client().await?;
    let pods: Api<Pod> = Api::all(client.clone());
    for round in 0..3 {
        let t = Instant::now();
        let req = http_request("/api/v1/pods");
        let body = client.request_text(req).await?;
        let raw = t.elapsed();
        let t = Instant::now();
        let typed = pods.list(&ListParams::default()).await?;
        let typed_t = t.elapsed();
        let t = Instant::now();
        let mut n = 0;
        let mut lp = ListParams::default().limit(500);
        loop {
            let page = pods.list(&lp).await?;
            n += page.items.len();
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
                _ => break,
            }
        }
        println!(
            "list {PODS} pods (round {round}): raw {:.2?} ({:.0} MiB), kube-rs typed {:.2?} ({} items), paged by 500 {:.2?} ({n} items)",
            raw,
            body.len() as f64 / 1048576.0,
            typed_t,
            typed.items.len(),
            t.elapsed()
        );
    }

    // Watch fan-out: WATCHERS watches of all pods; a writer updates RATE pods per second.
    let rv = store.resource_version().to_string();
    let sent: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..WATCHERS {
        let pods = pods.clone();
        let sent = sent.clone();
        let rv = rv.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut stream = pods
                .watch(&WatchParams::default().timeout(SECONDS as u32 + 3), &rv)
                .await
                .expect("watch")
                .boxed();
            while let Some(Ok(ev)) = stream.next().await {
                if let WatchEvent::Modified(p) = ev {
                    let seq: usize = p
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("seq"))
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let at = sent.lock().unwrap()[seq];
                    lat.push(at.elapsed());
                    if lat.len() as u64 == RATE * SECONDS {
                        break;
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for seq in 0..(RATE * SECONDS) as usize {
        if seq % (RATE as usize / 100) == 0 {
            tick.tick().await;
        }
        let i = (seq * 7919) % PODS;
        let cur = store
            .get(
                &pods_gr,
                &format!("ns-{}", i % NAMESPACES),
                &format!("app-{i}"),
            )
            .expect("pod");
        let mut v = cur.value.clone();
        v["metadata"]["annotations"] = json!({"seq": seq.to_string()});
        sent.lock().unwrap().push(Instant::now());
        store
            .update(&pods_gr, cur.namespace(), cur.name(), v, None, false)
            .map_err(anyhow::Error::msg)?;
    }
    let write_t = t.elapsed();
    let mut all = Vec::new();
    let mut counts = Vec::new();
    for task in tasks {
        let lat = task.await?;
        counts.push(lat.len());
        all.extend(lat);
    }
    all.sort();
    println!(
        "watch fan-out: {} updates in {:.2?} ({:.0}/s) to {WATCHERS} watchers; received {:?}; latency p50 {:.2?} p99 {:.2?} max {:.2?}; RSS {:.0} MiB",
        RATE * SECONDS,
        write_t,
        (RATE * SECONDS) as f64 / write_t.as_secs_f64(),
        counts,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or_default(),
        rss_mib()
    );
    sim.shutdown().await;
    Ok(())
}

fn http_request(path: &str) -> axum::http::Request<Vec<u8>> {
    axum::http::Request::get(path)
        .body(Vec::new())
        .expect("valid request")
}
