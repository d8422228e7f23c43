//! The recommender's benchmark workload (recommender's `service_scale` bench and versus-upstream):
//! namespaces, Deployments, ReplicaSets, pods and VPAs written straight into the sim's store, and
//! PodMetrics refreshed as metrics-server would. Edge (writes the store).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vpa_sim::GroupResource;
use vpa_sim::Shared;
use vpa_sim::seed::DeploymentSeed;

/// Namespaces the workloads are spread over.
pub const NAMESPACES: usize = 100;
/// Pods per Deployment (so 50k pods for 10k VPAs).
pub const PODS_PER_WORKLOAD: usize = 5;

/// Namespace of workload `workload`.
pub fn namespace(workload: usize) -> String {
    format!("bench-{}", workload % NAMESPACES)
}

/// Containers per pod of workload `workload`: 1, 2 or 3.
pub fn containers(workload: usize) -> usize {
    1 + workload % 3
}

/// Usage of one container: millicores and MiB, varying by workload, container and round.
pub fn usage(workload: usize, container: usize, round: usize) -> (String, String) {
    let cpu = 20 + (workload * 37 + container * 11) % 900 + (round % 4) * 5;
    let mem = 32 + (workload * 13 + container * 7) % 700 + round % 3;
    (format!("{cpu}m"), format!("{mem}Mi"))
}

/// Creates the namespaces and `workloads` Deployments, ReplicaSets, pod sets and VPAs straight
/// in the store (no HTTP); returns the number of pods.
pub fn seed(store: &vpa_sim::Store, workloads: usize) -> usize {
    for n in 0..NAMESPACES.min(workloads) {
        vpa_sim::seed::namespace(store, &namespace(n));
    }
    let vpas = GroupResource::new("autoscaling.k8s.io", "verticalpodautoscalers");
    let mut pod_count = 0;
    for w in 0..workloads {
        let (ns, app) = (namespace(w), format!("app-{w}"));
        let specs: Vec<Value> = (0..containers(w))
            .map(|c| {
                json!({"name": format!("c{c}"), "image": "app:1",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}})
            })
            .collect();
        vpa_sim::seed::deployment(
            store,
            &DeploymentSeed {
                namespace: &ns,
                name: &app,
                pods: PODS_PER_WORKLOAD,
                containers: &Value::Array(specs),
                node: &format!("node-{}", w % 200),
                started_at: "2026-11-28T00:00:00Z",
            },
        );
        pod_count += PODS_PER_WORKLOAD;
        vpa_sim::seed::create(
            store,
            &vpas,
            json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "metadata": {"name": format!("vpa-{w}"), "namespace": ns},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "updatePolicy": {"updateMode": "Recreate"}}}),
        );
    }
    pod_count
}

/// Writes every pod's PodMetrics with a fresh timestamp.
pub fn put_metrics(shared: &Shared, workload: usize, round: usize) {
    let gr = GroupResource::new("metrics.k8s.io", "pods");
    let store = &shared.store;
    let ns = namespace(workload);
    for p in 0..PODS_PER_WORKLOAD {
        let pod = format!("app-{workload}-rs-{p}");
        let cs: Vec<Value> = (0..containers(workload))
            .map(|c| {
                let (cpu, memory) = usage(workload, c, round);
                json!({"name": format!("c{c}"), "usage": {"cpu": cpu, "memory": memory}})
            })
            .collect();
        let obj = json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": ns}, "timestamp": store.now(), "window": "30s",
            "containers": cs});
        let done = match store.get(&gr, &ns, &pod) {
            Some(_) => store.update(&gr, &ns, &pod, obj, None, false).map(|_| ()),
            None => store.create(&gr, true, obj, false).map(|_| ()),
        };
        done.expect("PodMetrics");
    }
}

/// Refreshes all PodMetrics once per `interval`, spread over 80 % of it in 100 ms slices (as
/// metrics-server scrapes nodes at different times), until `stop`.
pub fn refresh_metrics(
    shared: Arc<Shared>,
    workloads: usize,
    interval: Duration,
    stop: Arc<AtomicBool>,
) {
    let slices = ((interval.as_millis() * 8 / 10 / 100) as usize).max(1);
    let per_slice = workloads.div_ceil(slices);
    for round in 1.. {
        let started = Instant::now();
        for (i, chunk) in (0..workloads)
            .collect::<Vec<_>>()
            .chunks(per_slice)
            .enumerate()
        {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            chunk.iter().for_each(|&w| put_metrics(&shared, w, round));
            let due = started + Duration::from_millis(100 * (i as u64 + 1));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        std::thread::sleep((started + interval).saturating_duration_since(Instant::now()));
    }
}
