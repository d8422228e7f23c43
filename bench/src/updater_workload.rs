//! The updater's benchmark workload (updater's `updater_sim` bench and versus-upstream): upstream's
//! KWOK benchmark profiles plus 10k and 50k pods, each VPA targeting its own Deployment →
//! ReplicaSet with 2 running pods far below the recommendation (100m / 50Mi against 500m / 200Mi),
//! so every pod is a candidate, seeded straight into the sim's store; and the admission
//! controller's status Lease the updater requires. Edge (writes the store).

use serde_json::json;
use vpa_sim::GroupResource;
use vpa_sim::Store;
use vpa_sim::seed::{DeploymentSeed, create};

/// `(name, VPAs, pods)`: upstream's KWOK profiles (small .. xxlarge), then 10k and 50k pods.
pub const PROFILES: [(&str, usize, usize); 7] = [
    ("small", 25, 50),
    ("medium", 100, 200),
    ("large", 250, 500),
    ("xlarge", 500, 1000),
    ("xxlarge", 1000, 2000),
    ("10k", 5000, 10_000),
    ("50k", 25_000, 50_000),
];

/// The namespace of every workload.
pub const NS: &str = "bench";

/// Where the admission controller's status Lease lives (both updaters' default).
const LEASE_NAMESPACE: &str = "kube-system";
const LEASE_NAME: &str = "vpa-admission-controller";

fn leases() -> GroupResource {
    GroupResource::new("coordination.k8s.io", "leases")
}

/// Seeds the namespace, workloads, pods, VPAs with a recommendation and a fresh admission
/// controller Lease straight into the store (no HTTP).
pub fn seed(store: &Store, vpas: usize, pods: usize) {
    let per_vpa = pods / vpas;
    vpa_sim::seed::namespace(store, NS);
    let vpa_resource = GroupResource::new("autoscaling.k8s.io", "verticalpodautoscalers");
    let container = json!([{"name": "app", "image": "app:1",
        "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]);
    for v in 0..vpas {
        let app = format!("app-{v}");
        vpa_sim::seed::deployment(
            store,
            &DeploymentSeed {
                namespace: NS,
                name: &app,
                pods: per_vpa,
                containers: &container,
                node: &format!("node-{}", v % 100),
                started_at: "2020-01-01T00:00:00Z",
            },
        );
        create(
            store,
            &vpa_resource,
            json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                "metadata": {"name": format!("{app}-vpa"), "namespace": NS},
                "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                    "updatePolicy": {"updateMode": "Recreate"}},
                "status": {"recommendation": {"containerRecommendations": [{"containerName": "app",
                    "target": {"cpu": "500m", "memory": "200Mi"}, "lowerBound": {"cpu": "400m", "memory": "150Mi"},
                    "upperBound": {"cpu": "1", "memory": "400Mi"}}]}}}),
        );
    }
    create(store, &leases(), lease(store));
}

fn lease(store: &Store) -> serde_json::Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": LEASE_NAME, "namespace": LEASE_NAMESPACE},
        "spec": {"holderIdentity": "bench", "renewTime": store.now().replace('Z', ".000000Z")}})
}

/// Renews the admission controller's status Lease (as a running admission controller does every
/// 10 s), for a loop that starts more than a minute after seeding.
pub fn renew_admission_lease(store: &Store) {
    let renewed = lease(store);
    if let Err(e) = store.update(&leases(), LEASE_NAMESPACE, LEASE_NAME, renewed, None, false) {
        eprintln!("renewing the admission controller Lease: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_seeds_its_vpas_pods_and_a_fresh_lease() {
        // A clock a minute further on every read, so the renewal is a later time.
        let minutes = std::sync::atomic::AtomicI64::new(0);
        let clock = move || {
            let m = minutes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            chrono::DateTime::UNIX_EPOCH + chrono::Duration::minutes(m)
        };
        let store = Store::new(1000, std::sync::Arc::new(clock));
        vpa_sim::seed::namespace(&store, LEASE_NAMESPACE);
        seed(&store, 3, 6);
        let count =
            |gr: GroupResource, ns: &str| store.list(&gr, Some(ns), None, 0, |_| true).items.len();
        let vpas = GroupResource::new("autoscaling.k8s.io", "verticalpodautoscalers");
        assert_eq!(count(vpas, NS), 3);
        assert_eq!(count(GroupResource::new("", "pods"), NS), 6);
        let before = store.get(&leases(), LEASE_NAMESPACE, LEASE_NAME).unwrap();
        renew_admission_lease(&store);
        let after = store.get(&leases(), LEASE_NAMESPACE, LEASE_NAME).unwrap();
        assert!(after.rv > before.rv, "the renewal is a new version");
        assert_ne!(
            after.value["spec"]["renewTime"],
            before.value["spec"]["renewTime"]
        );
    }
}
