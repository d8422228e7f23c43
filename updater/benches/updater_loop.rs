//! Loop benchmark mirroring upstream's KWOK updater benchmark profiles, against an in-memory
//! cluster: each VPA targets its own Deployment → ReplicaSet with 2 running pods whose requests
//! are far below the recommendation, so every pod is a candidate.
//!
//! Prints the per-step table of one loop with the rate limit off (CPU cost of the loop), the
//! median and minimum `FilterPods` (matching + planning) over repeated runs (the minimum is the
//! run least disturbed by other load on a shared machine), and how many pods one loop
//! evicts with the default rate limit (time paused, so sleeping costs nothing).
//!
//! Run: `cargo bench -p vpa-updater --bench updater_loop` (optionally `-- small medium`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{LimitRange, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, Time};
use serde_json::Value;
use vpa_common::admin::Health;
use vpa_common::api::{UpdateMode, VerticalPodAutoscaler};
use vpa_common::controllers::{ControllerInfo, Controllers, Replicas};
use vpa_common::testutil::{PodBuilder, VpaBuilder, owner_ref};
use vpa_updater::cluster_api::{ActionError, ClusterApi, ClusterError, UpdaterEvent};
use vpa_updater::config::UpdaterConfig;
use vpa_updater::infeasible::InfeasibleAttempts;
use vpa_updater::logic::Updater;
use vpa_updater::metrics::Metrics;
use vpa_updater::plan;
use vpa_updater::pod::PodKey;
use vpa_updater::ratelimit::Rate;
use vpa_updater::resize::ResizeTimers;
use vpa_updater::snapshot::Snapshot;

const PROFILES: [(&str, usize, usize); 7] = [
    ("small", 25, 50),
    ("medium", 100, 200),
    ("large", 250, 500),
    ("xlarge", 500, 1000),
    ("xxlarge", 1000, 2000),
    ("10k", 5000, 10_000),
    ("50k", 25_000, 50_000),
];

struct MemoryCluster {
    vpas: Vec<Arc<VerticalPodAutoscaler>>,
    pods: Mutex<HashMap<PodKey, Arc<Pod>>>,
    controllers: Controllers,
    evictions: Mutex<usize>,
}

impl ClusterApi for MemoryCluster {
    async fn lease(&self, _: &str, _: &str) -> Result<Option<Lease>, ClusterError> {
        let now = vpa_updater::time::now();
        Ok(Some(Lease {
            metadata: Default::default(),
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime(now)),
                ..Default::default()
            }),
        }))
    }
    async fn list_vpas(&self) -> Result<Vec<Arc<VerticalPodAutoscaler>>, ClusterError> {
        Ok(self.vpas.clone())
    }
    async fn list_pods(&self) -> Result<Vec<Arc<Pod>>, ClusterError> {
        Ok(self.pods.lock().unwrap().values().cloned().collect())
    }
    async fn list_limit_ranges(&self) -> Result<Vec<LimitRange>, ClusterError> {
        Ok(Vec::new())
    }
    async fn controllers(&self) -> Result<Controllers, ClusterError> {
        Ok(self.controllers.clone())
    }
    async fn evict(&self, pod: &PodKey) -> Result<(), ActionError> {
        self.pods.lock().unwrap().remove(pod);
        *self.evictions.lock().unwrap() += 1;
        Ok(())
    }
    async fn resize(&self, _: &PodKey, _: &Value) -> Result<(), ActionError> {
        Ok(())
    }
    async fn patch_pod(&self, _: &PodKey, _: &Value) -> Result<(), ActionError> {
        Ok(())
    }
    async fn publish(&self, _: UpdaterEvent) {}
}

fn build(vpas: usize, pods: usize) -> MemoryCluster {
    let per_vpa = pods / vpas;
    let mut controllers = Controllers::default();
    let mut vpa_list = Vec::with_capacity(vpas);
    let mut pod_map = HashMap::with_capacity(pods);
    for v in 0..vpas {
        let app = format!("app-{v}");
        let rs = format!("{app}-rs");
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), app.clone())].into()),
            ..Default::default()
        };
        controllers.insert(
            "bench",
            "Deployment",
            &app,
            ControllerInfo::new(
                None,
                Some(selector.clone()),
                Some(Replicas::Desired(per_vpa as i32)),
            ),
        );
        controllers.insert(
            "bench",
            "ReplicaSet",
            &rs,
            ControllerInfo::new(
                Some(owner_ref("Deployment", &app)),
                Some(selector),
                Some(Replicas::Desired(per_vpa as i32)),
            ),
        );
        let vpa = VpaBuilder::new("bench", &format!("{app}-vpa"))
            .mode(UpdateMode::Recreate)
            .created(v as i64)
            .container("app")
            .target("500m", "200Mi")
            .lower_bound("400m", "150Mi")
            .upper_bound("1", "400Mi")
            .build();
        vpa_list.push(Arc::new(vpa));
        for p in 0..per_vpa {
            let mut pod = PodBuilder::new("bench", &format!("{app}-{p}"))
                .label("app", &app)
                .owner("ReplicaSet", &rs)
                .container("app")
                .requests("100m", "50Mi")
                .build();
            pod.status = Some(PodStatus {
                phase: Some("Running".into()),
                start_time: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
                ..Default::default()
            });
            pod_map.insert(PodKey::of(&pod), Arc::new(pod));
        }
    }
    MemoryCluster {
        vpas: vpa_list,
        pods: Mutex::new(pod_map),
        controllers,
        evictions: Mutex::new(0),
    }
}

fn unlimited() -> UpdaterConfig {
    UpdaterConfig {
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn filter_pods_times(cluster: &MemoryCluster, runs: usize) -> (Duration, Duration) {
    let snapshot = Snapshot {
        vpas: cluster.vpas.clone(),
        pods: cluster.pods.lock().unwrap().values().cloned().collect(),
        limit_ranges: Vec::new(),
        controllers: cluster.controllers.clone(),
    };
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
            let planned = plan::plan(&snapshot, history, vpa_updater::time::now(), &config);
            std::hint::black_box(&planned);
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let profiles: Vec<_> = PROFILES
        .iter()
        .filter(|(name, _, _)| wanted.is_empty() || wanted.iter().any(|w| w == name))
        .collect();
    println!("One loop, rate limit off (milliseconds):\n");
    println!(
        "| profile | VPAs | pods | ListVPAs | ListPods | AdmissionInit | FilterPods | EvictPods | total | evicted | FilterPods median of 5 | FilterPods min of 5 |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, vpas, pods) in &profiles {
        let cluster = build(*vpas, *pods);
        let (filter_median, filter_min) = filter_pods_times(&cluster, 5);
        let config = unlimited();
        let health = Health::new(config.interval);
        let mut updater = Updater::new(cluster, config, Arc::new(Metrics::default()), health);
        let report = runtime.block_on(updater.run_once());
        let step = |s: &str| {
            report
                .steps
                .iter()
                .find(|(n, _)| *n == s)
                .map_or("-".to_string(), |(_, d)| ms(*d))
        };
        println!(
            "| {name} | {vpas} | {pods} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
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
    }

    println!(
        "\nOne loop with the default rate limit (0.5/s, burst 1, 60 s loop deadline; time paused):\n"
    );
    println!("| profile | candidates | evicted in first loop |");
    println!("| --- | ---: | ---: |");
    for (name, vpas, pods) in &profiles {
        let paused = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let cluster = build(*vpas, *pods);
        let config = UpdaterConfig::default();
        let health = Health::new(config.interval);
        let report = paused.block_on(async move {
            let mut updater = Updater::new(cluster, config, Arc::new(Metrics::default()), health);
            updater.run_once().await
        });
        println!("| {name} | {vpas} | {} |", report.evicted.len());
    }
}
