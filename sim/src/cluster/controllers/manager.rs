//! The controller manager of the simulated cluster (edge): every tick it lists the workload kinds
//! through the API as a kube-controller-manager would, asks the pure planners what to change,
//! and executes their [`Action`]s with the same client.

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{cron, endpoint_slices, endpoints, sets, workloads};
use crate::cluster::actions::{Action, Kind};
use crate::store::Clock;
use chrono::{DateTime, Utc};

/// Lists every object of `kind` in all namespaces as JSON.
pub async fn list_all(client: &Client, kind: Kind) -> Result<Vec<Value>, kube::Error> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.api_resource());
    let list = api.list(&ListParams::default()).await?;
    let ar = kind.api_resource();
    Ok(list
        .items
        .into_iter()
        .map(|o| {
            let mut v = serde_json::to_value(o).unwrap_or_default();
            v["apiVersion"] = json!(ar.api_version);
            v["kind"] = json!(ar.kind);
            v
        })
        .collect())
}

fn api(client: &Client, kind: Kind, namespace: &str) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    if namespace.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), namespace, &ar)
    }
}

/// Executes one action.
pub async fn execute(client: &Client, action: Action) -> Result<(), kube::Error> {
    let pp = PatchParams::default();
    match action {
        Action::Create(kind, object) => {
            let ns = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let obj: DynamicObject =
                serde_json::from_value(object).map_err(kube::Error::SerdeError)?;
            tracing::debug!(?kind, namespace = %ns, name = ?obj.metadata.name, "Creating");
            api(client, kind, &ns)
                .create(&PostParams::default(), &obj)
                .await?;
        }
        Action::Scale {
            namespace,
            name,
            replicas,
        } => {
            tracing::debug!(%namespace, %name, replicas, "Scaling ReplicaSet");
            api(client, Kind::ReplicaSet, &namespace)
                .patch(
                    &name,
                    &pp,
                    &Patch::Merge(json!({"spec": {"replicas": replicas}})),
                )
                .await?;
        }
        Action::Delete(kind, namespace, name) => {
            tracing::debug!(?kind, %namespace, %name, "Deleting");
            api(client, kind, &namespace)
                .delete(&name, &DeleteParams::default())
                .await?;
        }
        Action::Status(kind, namespace, name, status) => {
            api(client, kind, &namespace)
                .patch_status(&name, &pp, &Patch::Merge(json!({"status": status})))
                .await?;
        }
        Action::Annotate {
            kind,
            namespace,
            name,
            key,
            value,
        } => {
            let patch = json!({"metadata": {"annotations": {key: value}}});
            api(client, kind, &namespace)
                .patch(&name, &pp, &Patch::Merge(patch))
                .await?;
        }
        Action::Replace(kind, object) => {
            let ns = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut obj: DynamicObject =
                serde_json::from_value(object).map_err(kube::Error::SerdeError)?;
            obj.metadata.resource_version = None;
            api(client, kind, &ns)
                .replace(&name, &PostParams::default(), &obj)
                .await?;
        }
    }
    Ok(())
}

/// Runs every planner once over a fresh listing at simulated time `now` and executes the result.
pub async fn reconcile_once(client: &Client, now: DateTime<Utc>) -> Result<(), kube::Error> {
    let deployments = list_all(client, Kind::Deployment).await?;
    let replica_sets = list_all(client, Kind::ReplicaSet).await?;
    let pods = list_all(client, Kind::Pod).await?;
    let mut actions = Vec::new();
    for d in &deployments {
        actions.extend(workloads::plan_deployment(d, &replica_sets));
    }
    for rs in &replica_sets {
        actions.extend(workloads::plan_replica_set(rs, &pods));
    }
    for rc in &list_all(client, Kind::ReplicationController).await? {
        actions.extend(workloads::plan_replica_set(rc, &pods));
    }
    let nodes = list_all(client, Kind::Node).await?;
    for s in &list_all(client, Kind::StatefulSet).await? {
        actions.extend(sets::plan_stateful_set(s, &pods));
    }
    for ds in &list_all(client, Kind::DaemonSet).await? {
        actions.extend(sets::plan_daemon_set(ds, &pods, &nodes));
    }
    let jobs = list_all(client, Kind::Job).await?;
    for job in &jobs {
        actions.extend(sets::plan_job(
            job,
            &pods,
            &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
    }
    for cj in &list_all(client, Kind::CronJob).await? {
        actions.extend(cron::plan_cron_job(cj, &jobs, now));
    }
    let services = list_all(client, Kind::Service).await?;
    let current = list_all(client, Kind::Endpoints).await?;
    let slices = list_all(client, Kind::EndpointSlice).await?;
    for svc in &services {
        actions.extend(endpoints::plan_endpoints(svc, &pods, &current));
        actions.extend(endpoint_slices::plan_endpoint_slices(svc, &pods, &slices));
    }
    for action in actions {
        if let Err(error) = execute(client, action.clone()).await {
            // Conflicts and races with deletions settle on the next tick.
            tracing::debug!(%error, ?action, "Controller write failed");
        }
    }
    Ok(())
}

/// Reconciles every `interval` (real time) until `stop` turns true; `clock` gives simulated time.
pub async fn run(
    client: Client,
    interval: Duration,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = reconcile_once(&client, clock()).await {
            tracing::warn!(%error, "Controller pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
