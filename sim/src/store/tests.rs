use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

fn store() -> Store {
    store_keeping(100)
}

/// A store with the `default` namespace, keeping `history` events per resource.
fn store_keeping(history: usize) -> Store {
    let s = Store::new(history, Arc::new(Utc::now));
    s.create(
        &ns_gr(),
        false,
        json!({"metadata": {"name": "default"}}),
        false,
    )
    .unwrap();
    s
}

fn ns_gr() -> GroupResource {
    GroupResource::new("", "namespaces")
}

fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {"x": 1}})
}

#[test]
fn create_sets_server_metadata_and_rejects_duplicates() {
    let s = store();
    let p = s.create(&pods(), true, pod("a"), false).unwrap();
    assert_eq!(p.value["metadata"]["generation"], 1);
    assert_eq!(p.value["metadata"]["resourceVersion"], p.rv.to_string());
    assert_eq!(p.uid().len(), 36);
    assert_eq!(
        s.create(&pods(), true, pod("a"), false).unwrap_err().code,
        409
    );
    let missing_ns = json!({"metadata": {"name": "b", "namespace": "nope"}});
    assert_eq!(
        s.create(&pods(), true, missing_ns, false).unwrap_err().code,
        404
    );
}

#[test]
fn resource_version_is_cluster_wide_and_monotonic() {
    let s = store();
    let a = s.create(&pods(), true, pod("a"), false).unwrap();
    let cm = s
        .create(&GroupResource::new("", "configmaps"), true, pod("c"), false)
        .unwrap();
    let b = s.create(&pods(), true, pod("b"), false).unwrap();
    assert!(a.rv < cm.rv && cm.rv < b.rv);
}

#[test]
fn update_checks_resource_version_and_bumps_generation_on_spec_only() {
    let s = store();
    let a = s.create(&pods(), true, pod("a"), false).unwrap();
    let mut v = a.value.clone();
    v["metadata"]["labels"] = json!({"x": "y"});
    let b = s
        .update(&pods(), "default", "a", v.clone(), Some(a.rv), false)
        .unwrap();
    assert_eq!(b.value["metadata"]["generation"], 1);
    assert_eq!(
        s.update(&pods(), "default", "a", v.clone(), Some(a.rv), false)
            .unwrap_err()
            .code,
        409
    );
    v["spec"]["x"] = json!(2);
    let c = s
        .update(&pods(), "default", "a", v.clone(), None, false)
        .unwrap();
    assert_eq!(c.value["metadata"]["generation"], 2);
    let same = s
        .update(&pods(), "default", "a", c.value.clone(), None, false)
        .unwrap();
    assert_eq!(same.rv, c.rv, "a no-op update writes nothing");
}

#[test]
fn finalizers_hold_a_delete_until_removed() {
    let s = store();
    let mut p = pod("a");
    p["metadata"]["finalizers"] = json!(["x/y"]);
    s.create(&pods(), true, p, false).unwrap();
    let Deleted::Pending(held) = s
        .delete(&pods(), "default", "a", &DeleteOptions::default())
        .unwrap()
    else {
        panic!("should be pending")
    };
    assert!(held.value["metadata"]["deletionTimestamp"].is_string());
    let mut v = held.value.clone();
    v["metadata"]["finalizers"] = json!([]);
    s.update(&pods(), "default", "a", v, None, false).unwrap();
    assert!(s.get(&pods(), "default", "a").is_none());
}

#[test]
fn deleting_an_owner_cascades_unless_orphaned() {
    let s = store();
    let deploys = GroupResource::new("apps", "deployments");
    let rs = GroupResource::new("apps", "replicasets");
    for (name, policy) in [("d1", Propagation::Background), ("d2", Propagation::Orphan)] {
        let d = s.create(&deploys, true, pod(name), false).unwrap();
        let mut r = pod(&format!("{name}-rs"));
        r["metadata"]["ownerReferences"] =
            json!([{"uid": d.uid(), "name": name, "kind": "Deployment", "apiVersion": "apps/v1"}]);
        let r = s.create(&rs, true, r, false).unwrap();
        let mut p = pod(&format!("{name}-pod"));
        p["metadata"]["ownerReferences"] = json!([{"uid": r.uid(), "name": r.name(), "kind": "ReplicaSet", "apiVersion": "apps/v1"}]);
        s.create(&pods(), true, p, false).unwrap();
        s.delete(
            &deploys,
            "default",
            name,
            &DeleteOptions {
                propagation: policy,
                ..Default::default()
            },
        )
        .unwrap();
    }
    assert!(s.get(&rs, "default", "d1-rs").is_none());
    assert!(s.get(&pods(), "default", "d1-pod").is_none());
    let orphan = s.get(&rs, "default", "d2-rs").unwrap();
    assert!(orphan.value["metadata"].get("ownerReferences").is_none());
    assert!(s.get(&pods(), "default", "d2-pod").is_some());
}

#[test]
fn deleting_a_namespace_deletes_its_contents() {
    let s = store();
    s.create(&ns_gr(), false, json!({"metadata": {"name": "t"}}), false)
        .unwrap();
    let mut p = pod("a");
    p["metadata"]["namespace"] = json!("t");
    s.create(&pods(), true, p, false).unwrap();
    s.delete(&ns_gr(), "", "t", &DeleteOptions::default())
        .unwrap();
    assert!(s.get(&pods(), "t", "a").is_none());
}

#[test]
fn list_pages_in_order_and_filters_by_namespace() {
    let s = store();
    for i in 0..5 {
        s.create(&pods(), true, pod(&format!("p{i}")), false)
            .unwrap();
    }
    let first = s.list(&pods(), Some("default"), None, 2, |_| true);
    assert_eq!(
        first.items.iter().map(|o| o.name()).collect::<Vec<_>>(),
        ["p0", "p1"]
    );
    assert_eq!(first.remaining, 3);
    let next = s.list(&pods(), Some("default"), first.next.as_ref(), 0, |_| true);
    assert_eq!(next.items.len(), 3);
    assert!(
        s.list(&pods(), Some("other"), None, 0, |_| true)
            .items
            .is_empty()
    );
}

#[test]
fn watch_replays_history_and_410s_after_compaction() {
    let s = store();
    let a = s.create(&pods(), true, pod("a"), false).unwrap();
    s.create(&pods(), true, pod("b"), false).unwrap();
    let w = s.watch(&pods(), Some(a.rv)).unwrap();
    assert_eq!(w.backlog.len(), 1);
    assert_eq!(w.backlog[0].object.name(), "b");
    let all = s.watch(&pods(), None).unwrap();
    assert_eq!(all.backlog.len(), 2);
    s.compact();
    assert_eq!(s.watch(&pods(), Some(a.rv)).err().unwrap().code, 410);
}

#[test]
fn history_window_is_bounded() {
    let s = store_keeping(3);
    let first = s.create(&pods(), true, pod("a"), false).unwrap();
    for i in 0..5 {
        s.create(&pods(), true, pod(&format!("x{i}")), false)
            .unwrap();
    }
    assert!(s.watch(&pods(), Some(first.rv)).is_err());
    assert!(s.watch(&pods(), Some(s.resource_version() - 1)).is_ok());
}

#[test]
fn a_watch_is_fed_only_its_own_resource() {
    let s = store();
    let mut w = s.watch(&pods(), None).unwrap();
    let things = GroupResource::new("x.io", "things");
    s.create(&things, true, pod("t"), false).unwrap();
    assert!(
        w.rx.try_recv().is_err(),
        "another resource's write reached a pod watch"
    );
    let b = s.create(&pods(), true, pod("b"), false).unwrap();
    let ev = w.rx.try_recv().expect("the pod's own event");
    assert_eq!((ev.rv, ev.object.name()), (b.rv, "b"));
}

#[test]
fn one_resource_churning_keeps_another_resumable() {
    let s = store_keeping(3);
    let a = s.create(&pods(), true, pod("a"), false).unwrap();
    let b = s.create(&pods(), true, pod("b"), false).unwrap();
    let things = GroupResource::new("x.io", "things");
    for i in 0..10 {
        s.create(&things, true, pod(&format!("t{i}")), false)
            .unwrap();
    }
    // Ten newer events of another resource: the pods' history still reaches back to `a`.
    let w = s.watch(&pods(), Some(a.rv)).unwrap();
    assert_eq!(w.backlog.len(), 1);
    assert_eq!(w.backlog[0].rv, b.rv);
    // The churning resource itself lost its oldest events.
    let first_thing = b.rv + 1;
    assert_eq!(s.watch(&things, Some(first_thing)).err().unwrap().code, 410);
    assert!(s.is_compacted(&things, first_thing));
    assert!(!s.is_compacted(&pods(), a.rv));
}

#[test]
fn status_counts_for_generation_only_where_configured() {
    let s = store();
    let cr = GroupResource::new("x.io", "things");
    let a = s.create(&cr, true, pod("a"), false).unwrap();
    let mut v = a.value.clone();
    v["status"] = json!({"n": 1});
    let b = s
        .update(&cr, "default", "a", v.clone(), None, false)
        .unwrap();
    assert_eq!(b.value["metadata"]["generation"], 1);
    s.set_status_in_generation([cr.clone()].into());
    v["status"] = json!({"n": 2});
    let c = s.update(&cr, "default", "a", v, None, false).unwrap();
    assert_eq!(c.value["metadata"]["generation"], 2);
}
