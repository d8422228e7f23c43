use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSetStatus, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationControllerSpec};

use super::*;
use crate::matching::ControllerLookup;

fn owner(kind: &str, controller: bool) -> OwnerReference {
    OwnerReference {
        kind: kind.into(),
        name: "x".into(),
        controller: Some(controller),
        ..Default::default()
    }
}

fn labels(app: &str) -> BTreeMap<String, String> {
    [("app".to_string(), app.to_string())].into()
}

#[test]
fn records_stay_in_jemallocs_48_byte_class() {
    // With the Arc's two counters: 16 + 24 bytes.
    assert!(std::mem::size_of::<ControllerInfo>() <= 24);
}

#[test]
fn controllers_keep_their_controlling_owner_and_selector_only() {
    let mut rc = ReplicationController::default();
    rc.metadata.owner_references = Some(vec![owner("Thing", false), owner("Rollout", true)]);
    rc.spec = Some(ReplicationControllerSpec {
        template: Some(PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels("web")),
                ..Default::default()
            }),
            spec: None,
        }),
        ..Default::default()
    });
    let info = replication_controller(rc);
    assert_eq!(info.owner_references(), [owner("Rollout", true)]);
    let labels = info.selector.unwrap().match_labels.clone().unwrap();
    assert_eq!(
        labels["app"], "web",
        "an RC without selector selects its template's labels"
    );
    assert_eq!(deployment(Deployment::default()).selector, None);
}

#[test]
fn controllers_run_by_a_well_known_one_keep_no_selector() {
    let mut rs = ReplicaSet {
        spec: Some(ReplicaSetSpec {
            selector: selector_from_labels(&labels("web")),
            replicas: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(
        replica_set(rs.clone()).selector.is_some(),
        "a bare ReplicaSet"
    );
    let mut owned = rs.clone();
    owned.metadata.owner_references = Some(vec![owner("Deployment", true)]);
    let info = replica_set(owned);
    assert_eq!(info.owner_references(), [owner("Deployment", true)]);
    assert_eq!(info.selector, None);
    assert_eq!(
        info.replicas,
        Some(Replicas::Desired(3)),
        "its replicas still size the group"
    );
    rs.metadata.owner_references = Some(vec![owner("Rollout", true)]);
    assert!(
        replica_set(rs).selector.is_some(),
        "a custom owner may not be scalable: the ReplicaSet may still be the target"
    );
}

#[test]
fn a_daemon_set_counts_its_ready_pods_and_desires_none() {
    let ds = DaemonSet {
        status: Some(DaemonSetStatus {
            number_ready: 4,
            ..Default::default()
        }),
        ..Default::default()
    };
    let replicas = daemon_set(ds).replicas.unwrap();
    assert_eq!((replicas.count(), replicas.desired()), (4, None));
    assert_eq!(Replicas::Desired(2).desired(), Some(2));
    assert_eq!(job(Job::default()).replicas, None);
}

#[test]
fn the_index_answers_from_records_then_scale_targets() {
    let key = |kind: &str, name: &str| ControllerKey {
        kind: kind.into(),
        name: name.into(),
        api_version: String::new(),
    };
    let mut c = Controllers::default();
    c.insert(
        "ns",
        "Deployment",
        "web",
        ControllerInfo::new(None, Some(selector_from_labels(&labels("web"))), None),
    );
    c.insert_scale(
        "ns",
        "Rollout",
        "canary",
        Ok(selector_from_labels(&labels("canary"))),
    );
    c.insert_scale("ns", "Widget", "w", Err("no scale subresource".into()));
    assert_eq!(c.len(), 1);
    assert_eq!(
        c.selector("ns", &key("Deployment", "web")),
        Some(selector_from_labels(&labels("web")))
    );
    assert_eq!(
        c.owner_references("ns", &key("Deployment", "web")),
        Some(vec![])
    );
    assert_eq!(c.owner_references("ns", &key("Deployment", "gone")), None);
    assert_eq!(
        c.selector("ns", &key("Rollout", "canary")),
        Some(selector_from_labels(&labels("canary")))
    );
    assert_eq!(
        c.owner_references("ns", &key("Rollout", "canary")),
        Some(vec![])
    );
    assert!(c.is_scalable(&key("Rollout", "other")));
    assert!(!c.is_scalable(&key("Widget", "w")));
    assert_eq!(c.selector("ns", &key("Widget", "w")), None);
    assert_eq!(c.owner_references("ns", &key("Widget", "w")), None);
    assert!(
        c.scale()
            .answer("ns", "Widget", "w")
            .is_some_and(|a| a.is_err())
    );
}
