//! Loop benchmark against the in-memory API server (`vpa-sim`, in this process), with the same
//! profiles as `updater_loop`: the real `KubeApi` (watch caches over HTTPS, Eviction API,
//! events) drives `Updater::run_once`, so ListVPAs / ListPods / AdmissionInit read the synced
//! caches exactly as in the binary and EvictPods pays for every eviction and event request.
//!
//! Each VPA targets its own Deployment → ReplicaSet with 2 running pods far below the
//! recommendation (100m / 50Mi against 500m / 200Mi), seeded straight into the sim's store.
//! Prints, per profile: the time until the caches synced, upstream's step table of one loop with
//! the rate limit off, and the median and minimum of 5 `FilterPods` runs (the pure plan) over the
//! caches' snapshot; the minimum is the run least disturbed by other load on a shared machine.
//!
//! Run: `cargo bench -p vpa-updater --bench updater_sim` (optionally `-- small xxlarge`).
//! `VPA_BENCH_PLAN_RUNS` (default 5) sets how many plans the median and minimum are taken over, e.g. 500 to
//! profile the plan with `perf`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vpa_bench::updater_workload::{PROFILES, seed};
use vpa_common::admin::Health;
use vpa_sim::{Sim, SimOptions};
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::infeasible::InfeasibleAttempts;
use vpa_updater::kube_api::KubeApi;
use vpa_updater::logic::Updater;
use vpa_updater::metrics::Metrics;
use vpa_updater::plan;
use vpa_updater::ratelimit::Rate;
use vpa_updater::resize::ResizeTimers;
use vpa_updater::snapshot::Snapshot;

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn unlimited() -> UpdaterConfig {
    UpdaterConfig {
        // Long enough that no loop of the largest profile hits its deadline.
        interval: Duration::from_secs(600),
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    }
}

async fn snapshot(cluster: &KubeApi) -> Snapshot {
    Snapshot {
        vpas: cluster.list_vpas().await.unwrap(),
        pods: cluster.list_pods().await.unwrap(),
        limit_ranges: cluster.list_limit_ranges().await.unwrap(),
        controllers: cluster.controllers().await.unwrap(),
    }
}

fn filter_pods_times(snapshot: &Snapshot, runs: usize) -> (Duration, Duration) {
    let config = unlimited();
    let timers = ResizeTimers::default();
    let infeasible = InfeasibleAttempts::default();
    let history = plan::PodHistory {
        timers: &timers,
        infeasible: &infeasible,
    };
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let planned = plan::plan(snapshot, history, vpa_updater::time::now(), &config);
            std::hint::black_box(&planned);
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

/// One profile: a fresh sim, seeded; the updater's caches; repeated plans; one loop.
async fn run_profile(name: &str, vpas: usize, pods: usize) -> anyhow::Result<String> {
    let sim = Sim::start(SimOptions {
        // Room for the events and deletions of one loop, so no watch resumes into a 410.
        history_window: 4 * pods + 100_000,
        ..SimOptions::default()
    })
    .await?;
    let admin = sim.client().await?;
    vpa_test_support::install_vpa_crds(&admin).await?;
    let t = Instant::now();
    seed(sim.store(), vpas, pods);
    let seeded = t.elapsed();

    let kubeconfig = kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let client = vpa_common::client::build(config, None)?;
    let t = Instant::now();
    let cluster = KubeApi::start(client, None);
    cluster
        .wait_ready(Duration::from_secs(60))
        .await
        .map_err(|e| anyhow::anyhow!("caches: {e}"))?;
    let synced = t.elapsed();

    let snap = snapshot(&cluster).await;
    anyhow::ensure!(
        snap.pods.len() == pods && snap.vpas.len() == vpas,
        "caches hold {} pods and {} VPAs",
        snap.pods.len(),
        snap.vpas.len()
    );
    let runs = std::env::var("VPA_BENCH_PLAN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (filter_median, filter_min) = filter_pods_times(&snap, runs);
    drop(snap);

    let config = unlimited();
    let health = Health::new(config.interval);
    let mut updater = Updater::new(cluster, config, Arc::new(Metrics::default()), health);
    let report = updater.run_once().await;
    anyhow::ensure!(report.skipped.is_none(), "loop skipped: {report:?}");
    anyhow::ensure!(
        report.failed_evictions.is_empty(),
        "{} evictions failed",
        report.failed_evictions.len()
    );
    let step = |s: &str| {
        report
            .steps
            .iter()
            .find(|(n, _)| *n == s)
            .map_or("-".to_string(), |(_, d)| ms(*d))
    };
    let row = format!(
        "| {name} | {vpas} | {pods} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        seeded.as_secs_f64() * 1000.0,
        synced.as_secs_f64() * 1000.0,
        step("ListVPAs"),
        step("ListPods"),
        step("AdmissionInit"),
        step("FilterPods"),
        step("EvictPods"),
        step("total"),
        report.evicted.len(),
        ms(filter_median),
        ms(filter_min),
    );
    drop(updater);
    sim.shutdown().await;
    Ok(row)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!("One loop against vpa-sim, rate limit off (milliseconds):\n");
    println!(
        "| profile | VPAs | pods | seed | caches synced | ListVPAs | ListPods | AdmissionInit | FilterPods | EvictPods | total | evicted | FilterPods median of 5 | FilterPods min of 5 |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (name, vpas, pods) in PROFILES
        .iter()
        .filter(|(name, _, _)| wanted.is_empty() || wanted.iter().any(|w| w == name))
    {
        println!("{}", run_profile(name, *vpas, *pods).await?);
    }
    Ok(())
}
