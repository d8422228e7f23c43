//! Seeding the store straight, without HTTP: namespaces and Deployment → ReplicaSet → Running
//! pod chains with real owner uids, for benchmarks that need tens of thousands of objects in
//! seconds.

use serde_json::{Value, json};

use crate::resource::GroupResource;
use crate::store::Store;

/// Creates `gr`'s namespaced object `obj`; returns its uid. Panics on a refused object: seeds
/// are fixed data, and a benchmark on a half-seeded store would measure nothing useful.
pub fn create(store: &Store, gr: &GroupResource, obj: Value) -> String {
    store
        .create(gr, true, obj, false)
        .unwrap_or_else(|e| panic!("seeding {gr:?}: {e}"))
        .uid()
        .to_string()
}

/// Creates the `Active` namespace `name`.
pub fn namespace(store: &Store, name: &str) {
    store
        .create(
            &GroupResource::new("", "namespaces"),
            false,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                "status": {"phase": "Active"}}),
            false,
        )
        .unwrap_or_else(|e| panic!("seeding namespace {name}: {e}"));
}

/// One Deployment with its ReplicaSet and pods, as [`deployment`] creates it.
#[derive(Clone, Copy, Debug)]
pub struct DeploymentSeed<'a> {
    /// Namespace (must exist).
    pub namespace: &'a str,
    /// Deployment name; also the pods' `app` label.
    pub name: &'a str,
    /// Replicas: Running pods named `{name}-rs-{i}`.
    pub pods: usize,
    /// The pod template's containers (a JSON array of container specs).
    pub containers: &'a Value,
    /// `spec.nodeName` of the pods.
    pub node: &'a str,
    /// RFC 3339 time the pods and their containers started.
    pub started_at: &'a str,
}

fn owner(kind: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}])
}

/// Creates Deployment `seed.name`, ReplicaSet `{name}-rs` owned by it, and `seed.pods` Running
/// pods `{name}-rs-{i}` owned by the ReplicaSet, each container ready and running since
/// `seed.started_at`.
pub fn deployment(store: &Store, seed: &DeploymentSeed) {
    let DeploymentSeed {
        namespace,
        name,
        pods,
        containers,
        node,
        started_at,
    } = *seed;
    let statuses: Vec<Value> = containers
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true,
                "restartCount": 0, "state": {"running": {"startedAt": started_at}}})
        })
        .collect();
    let selector = json!({"matchLabels": {"app": name}});
    let template =
        json!({"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}});
    let deployment_uid = create(
        store,
        &GroupResource::new("apps", "deployments"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": pods, "selector": selector, "template": template}}),
    );
    let rs = format!("{name}-rs");
    let rs_uid = create(
        store,
        &GroupResource::new("apps", "replicasets"),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs, "namespace": namespace,
                "ownerReferences": owner("Deployment", name, &deployment_uid)},
            "spec": {"replicas": pods, "selector": selector, "template": template}}),
    );
    let pod_resource = GroupResource::new("", "pods");
    for p in 0..pods {
        create(
            store,
            &pod_resource,
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{rs}-{p}"), "namespace": namespace,
                    "labels": {"app": name}, "ownerReferences": owner("ReplicaSet", &rs, &rs_uid)},
                "spec": {"nodeName": node, "containers": containers},
                "status": {"phase": "Running", "startTime": started_at,
                    "containerStatuses": statuses}}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_seed_is_a_chain_of_owned_running_pods() {
        let store = Store::new(100, std::sync::Arc::new(chrono::Utc::now));
        namespace(&store, "ns");
        let containers =
            json!([{"name": "app", "image": "app:1"}, {"name": "side", "image": "s:2"}]);
        deployment(
            &store,
            &DeploymentSeed {
                namespace: "ns",
                name: "web",
                pods: 2,
                containers: &containers,
                node: "node-1",
                started_at: "2026-01-01T00:00:00Z",
            },
        );
        let rs = store
            .get(&GroupResource::new("apps", "replicasets"), "ns", "web-rs")
            .expect("ReplicaSet");
        let deployment = store
            .get(&GroupResource::new("apps", "deployments"), "ns", "web")
            .expect("Deployment");
        assert_eq!(
            rs.value["metadata"]["ownerReferences"][0]["uid"],
            deployment.value["metadata"]["uid"]
        );
        for p in 0..2 {
            let pod = store
                .get(
                    &GroupResource::new("", "pods"),
                    "ns",
                    &format!("web-rs-{p}"),
                )
                .expect("pod");
            assert_eq!(
                pod.value["metadata"]["ownerReferences"][0]["uid"],
                rs.value["metadata"]["uid"]
            );
            assert_eq!(pod.value["status"]["phase"], "Running");
            let statuses = pod.value["status"]["containerStatuses"].as_array().unwrap();
            assert_eq!(statuses.len(), 2);
            assert_eq!(statuses[1]["name"], "side");
            assert_eq!(statuses[1]["image"], "s:2");
        }
    }
}
