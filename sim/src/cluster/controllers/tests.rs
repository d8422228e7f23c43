//! Tests of the Deployment and ReplicaSet controllers' decisions (`workloads`).

use serde_json::{Value, json};

use super::workloads::*;
use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{controller_ref, meta, template_hash};

fn deployment(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "uid": "d1", "generation": 2},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

fn rs_of(d: &Value, name: &str, hash: &str, spec: i64, available: i64, created: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "ns", "uid": name, "creationTimestamp": created,
            "labels": {"app": "web", HASH_LABEL: hash}, "ownerReferences": [controller_ref(d)]},
        "spec": {"replicas": spec, "template": {"metadata": {"labels": {"app": "web", HASH_LABEL: hash}}, "spec": {}}},
        "status": {"replicas": spec, "readyReplicas": available, "availableReplicas": available}})
}

fn scales(actions: &[Action]) -> Vec<(String, i64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Scale { name, replicas, .. } => Some((name.clone(), *replicas)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_deployment_gets_a_hashed_replica_set_with_all_replicas() {
    let d = deployment(3, "app:1");
    let actions = plan_deployment(&d, &[]);
    let Action::Create(Kind::ReplicaSet, rs) = &actions[0] else {
        panic!("{actions:?}")
    };
    let hash = template_hash(&d["spec"]["template"]);
    assert_eq!(meta(rs, "name"), format!("web-{hash}"));
    assert_eq!(rs["spec"]["replicas"], 3);
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"][HASH_LABEL],
        json!(hash)
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"][HASH_LABEL],
        json!(hash)
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
}

#[test]
fn a_template_change_rolls_within_surge_and_unavailability() {
    let d = deployment(4, "app:2");
    let hash = template_hash(&d["spec"]["template"]);
    let old = rs_of(&d, "web-old", "old", 4, 4, "2026-01-01T00:00:00Z");
    // Surge 25% of 4 = 1: the new ReplicaSet starts at 1; 1 old pod may go (maxUnavailable 1).
    let actions = plan_deployment(&d, std::slice::from_ref(&old));
    let Action::Create(Kind::ReplicaSet, new) = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(new["spec"]["replicas"], 1);
    assert_eq!(scales(&actions), vec![("web-old".to_string(), 3)]);
    // Once the new pod is available, the rollout continues.
    let new = rs_of(
        &d,
        &format!("web-{hash}"),
        &hash,
        1,
        1,
        "2026-01-02T00:00:00Z",
    );
    let old = rs_of(&d, "web-old", "old", 3, 3, "2026-01-01T00:00:00Z");
    let actions = plan_deployment(&d, &[old, new.clone()]);
    assert_eq!(
        scales(&actions),
        vec![(format!("web-{hash}"), 2), ("web-old".to_string(), 2)]
    );
    // Finished: old at 0, new at 4, status complete.
    let new = rs_of(
        &d,
        &format!("web-{hash}"),
        &hash,
        4,
        4,
        "2026-01-02T00:00:00Z",
    );
    let old = rs_of(&d, "web-old", "old", 0, 0, "2026-01-01T00:00:00Z");
    let actions = plan_deployment(&d, &[old, new]);
    assert!(scales(&actions).is_empty(), "{actions:?}");
    let Some(Action::Status(_, _, _, status)) = actions.last() else {
        panic!("{actions:?}")
    };
    assert_eq!(status["updatedReplicas"], 4);
    assert_eq!(status["availableReplicas"], 4);
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(status["conditions"][1]["reason"], "NewReplicaSetAvailable");
}

#[test]
fn recreate_scales_old_to_zero_before_starting_new_pods() {
    let mut d = deployment(2, "app:2");
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    let old = rs_of(&d, "web-old", "old", 2, 2, "2026-01-01T00:00:00Z");
    let actions = plan_deployment(&d, &[old]);
    assert_eq!(scales(&actions), vec![("web-old".to_string(), 0)]);
    assert!(
        matches!(&actions[1], Action::Create(Kind::ReplicaSet, rs) if rs["spec"]["replicas"] == 0)
    );
}

#[test]
fn replica_sets_replace_missing_pods_and_trim_extra_ones() {
    let d = deployment(2, "app:1");
    let rs = rs_of(&d, "web-h", "h", 3, 0, "2026-01-01T00:00:00Z");
    let pod = |name: &str, node: &str, phase: &str| {
        json!({"metadata": {"name": name, "namespace": "ns", "ownerReferences": [controller_ref(&rs)]},
            "spec": {"nodeName": node}, "status": {"phase": phase}})
    };
    let pods = vec![pod("a", "n1", "Running"), pod("gone", "n1", "Failed")];
    let actions = plan_replica_set(&rs, &pods);
    let created: Vec<&Value> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Create(Kind::Pod, p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 2, "a failed pod is replaced: {actions:?}");
    assert!(meta(created[0], "name").starts_with("web-h-"));
    assert_eq!(created[0]["metadata"]["labels"][HASH_LABEL], "h");

    let mut rs = rs.clone();
    rs["spec"]["replicas"] = json!(1);
    let pods = vec![pod("a", "n1", "Running"), pod("pending", "", "Pending")];
    let actions = plan_replica_set(&rs, &pods);
    assert!(
        actions.contains(&Action::Delete(Kind::Pod, "ns".into(), "pending".into())),
        "{actions:?}"
    );
}

#[test]
fn new_replica_sets_take_the_next_revision_and_the_deployment_follows() {
    let d = deployment(2, "app:2");
    let mut old = rs_of(&d, "web-old", "old", 2, 2, "2026-01-01T00:00:00Z");
    old["metadata"]["annotations"] = json!({REVISION: "4"});
    let actions = plan_deployment(&d, &[old.clone()]);
    let Action::Create(Kind::ReplicaSet, new) = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(new["metadata"]["annotations"][REVISION], "5");
    let mut new = new.clone();
    new["metadata"]["uid"] = json!("n");
    let actions = plan_deployment(&d, &[old, new]);
    assert!(
        actions.contains(&Action::Annotate {
            kind: Kind::Deployment,
            namespace: "ns".into(),
            name: "web".into(),
            key: REVISION.into(),
            value: "5".into()
        }),
        "{actions:?}"
    );
}

#[test]
fn replication_controllers_create_their_own_pods_and_report_their_own_status() {
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "legacy", "namespace": "ns", "uid": "rc-uid"},
        "spec": {"replicas": 2, "selector": {"app": "legacy"},
            "template": {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": []}}}});
    let actions = plan_replica_set(&rc, &[]);
    let created: Vec<&Value> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Create(Kind::Pod, p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 2, "{actions:?}");
    let owner = &created[0]["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["apiVersion"], &owner["uid"]),
        (
            &json!("ReplicationController"),
            &json!("v1"),
            &json!("rc-uid")
        )
    );
    assert_eq!(created[0]["metadata"]["labels"], json!({"app": "legacy"}));
    assert!(
        matches!(actions.last(), Some(Action::Status(Kind::ReplicationController, ns, name, _)) if ns == "ns" && name == "legacy"),
        "{actions:?}"
    );
}
