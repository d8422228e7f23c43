//! Deployment and ReplicaSet controllers' decisions (pure), after kube-controller-manager: a
//! Deployment owns one ReplicaSet per pod-template hash and rolls from old to new within
//! maxSurge/maxUnavailable (or all at once with `Recreate`); a ReplicaSet (or a
//! ReplicationController, its older twin) keeps `spec.replicas` active pods, replacing deleted or
//! evicted ones.

use serde_json::{Value, json};

use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{
    controller_ref, int_at, is_active, is_ready, meta, owned_by, pod_from_template, random_suffix,
    template_hash,
};

/// The label carrying the template hash on ReplicaSets and their pods.
pub const HASH_LABEL: &str = "pod-template-hash";

/// The rollout revision annotation on Deployments and their ReplicaSets (`kubectl rollout history`).
pub const REVISION: &str = "deployment.kubernetes.io/revision";

fn revision(o: &Value) -> i64 {
    o.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// An int-or-percent of `total`, rounding up or down.
fn int_or_percent(v: Option<&Value>, default: &str, total: i64, round_up: bool) -> i64 {
    let v = v.cloned().unwrap_or_else(|| json!(default));
    match v {
        Value::String(s) if s.ends_with('%') => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                (pct * total + 99) / 100
            } else {
                pct * total / 100
            }
        }
        Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_i64().unwrap_or(0),
    }
}

fn spec_replicas(o: &Value) -> i64 {
    int_at(o, "/spec/replicas", 1)
}

fn available(rs: &Value) -> i64 {
    int_at(rs, "/status/availableReplicas", 0)
}

fn new_replica_set(d: &Value, hash: &str, replicas: i64, revision: i64) -> Value {
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", meta(d, "name")), "namespace": meta(d, "namespace"),
            "labels": template["metadata"]["labels"], "ownerReferences": [controller_ref(d)],
            "annotations": {REVISION: revision.to_string()},
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    })
}

/// The writes that move Deployment `d` towards its spec, given every ReplicaSet in the cluster.
pub fn plan_deployment(d: &Value, all_rs: &[Value]) -> Vec<Action> {
    let desired = spec_replicas(d);
    let hash = template_hash(&d["spec"]["template"]);
    let owned = owned_by(d, all_rs);
    let (news, olds): (Vec<&Value>, Vec<&Value>) = owned.iter().partition(|rs| {
        rs.pointer(&format!("/metadata/labels/{HASH_LABEL}")) == Some(&json!(hash))
    });
    let new = news.first().copied();
    // The current ReplicaSet carries the highest revision (a rollback bumps an old one).
    let max_old = olds.iter().map(|r| revision(r)).max().unwrap_or(0);
    let new_revision = match new {
        Some(rs) if revision(rs) > max_old => revision(rs),
        _ => max_old + 1,
    };
    let recreate = d.pointer("/spec/strategy/type") == Some(&json!("Recreate"));
    let rolling = d.pointer("/spec/strategy/rollingUpdate");
    let max_surge = int_or_percent(
        rolling.and_then(|r| r.get("maxSurge")),
        "25%",
        desired,
        true,
    );
    let mut max_unavailable = int_or_percent(
        rolling.and_then(|r| r.get("maxUnavailable")),
        "25%",
        desired,
        false,
    );
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let old_total: i64 = olds.iter().map(|r| spec_replicas(r)).sum();
    let mut actions = Vec::new();
    let scale = |rs: &Value, replicas: i64| Action::Scale {
        namespace: meta(rs, "namespace").into(),
        name: meta(rs, "name").into(),
        replicas,
    };
    if recreate {
        let old_running: i64 = olds.iter().map(|r| int_at(r, "/status/replicas", 0)).sum();
        for rs in olds.iter().filter(|r| spec_replicas(r) > 0) {
            actions.push(scale(rs, 0));
        }
        let target = if old_total == 0 && old_running == 0 {
            desired
        } else {
            0
        };
        match new {
            None => actions.push(Action::Create(
                Kind::ReplicaSet,
                new_replica_set(d, &hash, target, new_revision),
            )),
            Some(rs) if spec_replicas(rs) != target && old_total == 0 => {
                actions.push(scale(rs, target))
            }
            Some(_) => {}
        }
    } else {
        let new_spec = new.map_or(0, spec_replicas);
        let total = old_total + new_spec;
        let target = if new_spec > desired {
            desired
        } else {
            (new_spec + (desired + max_surge - total).max(0)).min(desired)
        };
        match new {
            None => actions.push(Action::Create(
                Kind::ReplicaSet,
                new_replica_set(d, &hash, target, new_revision),
            )),
            Some(rs) if target != new_spec => actions.push(scale(rs, target)),
            Some(_) => {}
        }
        // Scale old ReplicaSets down while enough pods stay available.
        let min_available = desired - max_unavailable;
        let new_available = new.map_or(0, available);
        let all_available: i64 = olds.iter().map(|r| available(r)).sum::<i64>() + new_available;
        let new_unavailable = (new_spec - new_available).max(0);
        let mut budget = (total - min_available - new_unavailable).max(0);
        let mut by_age = olds.clone();
        by_age.sort_by_key(|r| meta(r, "creationTimestamp").to_string());
        let mut remaining: Vec<i64> = by_age.iter().map(|r| spec_replicas(r)).collect();
        // First drop old pods that are not available anyway.
        for (i, rs) in by_age.iter().enumerate() {
            let unhealthy = (remaining[i] - available(rs)).max(0).min(budget);
            remaining[i] -= unhealthy;
            budget -= unhealthy;
        }
        let mut budget = (all_available - min_available).max(0);
        for (i, rs) in by_age.iter().enumerate() {
            let down = remaining[i].min(budget).min(available(rs));
            remaining[i] -= down;
            budget -= down;
        }
        for (i, rs) in by_age.iter().enumerate() {
            if remaining[i] != spec_replicas(rs) {
                actions.push(scale(rs, remaining[i]));
            }
        }
    }
    let annotate = |kind: Kind, o: &Value| Action::Annotate {
        kind,
        namespace: meta(o, "namespace").into(),
        name: meta(o, "name").into(),
        key: REVISION.into(),
        value: new_revision.to_string(),
    };
    if let Some(rs) = new.filter(|rs| revision(rs) != new_revision) {
        actions.push(annotate(Kind::ReplicaSet, rs));
    }
    if new.is_some() && revision(d) != new_revision {
        actions.push(annotate(Kind::Deployment, d));
    }
    let status = deployment_status(d, new, &owned, desired - max_unavailable);
    if d.get("status") != Some(&status) {
        actions.push(Action::Status(
            Kind::Deployment,
            meta(d, "namespace").into(),
            meta(d, "name").into(),
            status,
        ));
    }
    actions
}

fn deployment_status(
    d: &Value,
    new: Option<&Value>,
    owned: &[&Value],
    min_available: i64,
) -> Value {
    let sum = |p: &str| owned.iter().map(|r| int_at(r, p, 0)).sum::<i64>();
    let desired = spec_replicas(d);
    let (replicas, ready, avail) = (
        sum("/status/replicas"),
        sum("/status/readyReplicas"),
        sum("/status/availableReplicas"),
    );
    let updated = new.map_or(0, |r| int_at(r, "/status/replicas", 0));
    let complete = updated == desired && replicas == desired && avail == desired;
    let available_cond = if avail >= min_available {
        json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."})
    } else {
        json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."})
    };
    let rs_name = new.map(|r| meta(r, "name")).unwrap_or_default();
    let progressing = if complete {
        json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{rs_name}\" has successfully progressed.")})
    } else {
        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{rs_name}\" is progressing.")})
    };
    json!({
        "observedGeneration": int_at(d, "/metadata/generation", 1),
        "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
        "availableReplicas": avail, "unavailableReplicas": (desired - avail).max(0),
        "conditions": [available_cond, progressing],
    })
}

/// The writes that keep ReplicaSet or ReplicationController `rs` (told apart by its `kind`) at
/// `spec.replicas` active pods, given every pod.
pub fn plan_replica_set(rs: &Value, all_pods: &[Value]) -> Vec<Action> {
    let kind = if rs["kind"] == "ReplicationController" {
        Kind::ReplicationController
    } else {
        Kind::ReplicaSet
    };
    let desired = spec_replicas(rs);
    let mut pods: Vec<&Value> = owned_by(rs, all_pods)
        .into_iter()
        .filter(|p| is_active(p))
        .collect();
    let mut actions = Vec::new();
    let have = pods.len() as i64;
    let labels = json!({});
    for _ in have..desired {
        let name = format!("{}-{}", meta(rs, "name"), random_suffix());
        actions.push(Action::Create(
            Kind::Pod,
            pod_from_template(rs, &rs["spec"]["template"], &name, &labels),
        ));
    }
    if have > desired {
        // Unscheduled first, then not ready, then the newest (as the ReplicaSet controller ranks).
        pods.sort_by_key(|p| {
            let scheduled = p
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            (
                scheduled,
                is_ready(p),
                std::cmp::Reverse(meta(p, "creationTimestamp").to_string()),
            )
        });
        for p in pods.iter().take((have - desired) as usize) {
            actions.push(Action::Delete(
                Kind::Pod,
                meta(p, "namespace").into(),
                meta(p, "name").into(),
            ));
        }
    }
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "observedGeneration": int_at(rs, "/metadata/generation", 1),
        "replicas": have, "fullyLabeledReplicas": have,
        "readyReplicas": ready, "availableReplicas": ready,
    });
    if rs.get("status") != Some(&status) {
        actions.push(Action::Status(
            kind,
            meta(rs, "namespace").into(),
            meta(rs, "name").into(),
            status,
        ));
    }
    actions
}
