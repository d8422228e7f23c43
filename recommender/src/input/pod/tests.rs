use vpa_common::testutil::PodBuilder;

use super::*;

#[test]
fn keeps_what_the_recommender_reads_and_shares_label_sets() {
    let pod = |name: &str| {
        PodBuilder::new("ns", name)
            .label("app", "web")
            .owner("ReplicaSet", "web-rs")
            .container("app")
            .requests("100m", "50Mi")
            .build()
    };
    let mut labels = LabelInterner::default();
    let first = CachedPod::from_wire(WirePod::from(&pod("web-1")), &mut labels);
    let second = CachedPod::from_wire(WirePod::from(&pod("web-2")), &mut labels);
    assert_eq!((&*first.namespace, &*first.name), ("ns", "web-1"));
    assert_eq!(first.labels.get("app").map(String::as_str), Some("web"));
    assert!(Arc::ptr_eq(&first.labels, &second.labels));
    let controller = first.controller.as_ref().unwrap();
    assert_eq!(
        (controller.kind.as_str(), controller.name.as_str()),
        ("ReplicaSet", "web-rs")
    );
    assert_eq!(&*first.containers[0].name, "app");
    assert_eq!(first.containers[0].memory_request_bytes, 50 << 20);
    assert!(std::mem::size_of::<CachedPod>() * 8 < std::mem::size_of::<Pod>());
}

#[test]
fn label_sets_no_pod_holds_are_dropped_as_the_interner_grows() {
    let mut labels = LabelInterner::default();
    let kept = labels.intern([("app".to_string(), "kept".to_string())].into());
    for i in 0..5000 {
        labels.intern([("app".to_string(), i.to_string())].into());
    }
    assert!(labels.sets.len() < 1100, "{} sets kept", labels.sets.len());
    let again = labels.intern([("app".to_string(), "kept".to_string())].into());
    assert!(Arc::ptr_eq(&kept, &again));
}

#[test]
fn native_sidecars_are_kept_with_the_gate_and_plain_init_containers_never() {
    let wire: WirePod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-1", "namespace": "ns"},
        "spec": {
            "containers": [{"name": "app"}],
            "initContainers": [
                {"name": "setup", "resources": {"requests": {"memory": "1Gi"}}},
                {"name": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"memory": "64Mi"}}}
            ]
        },
        "status": {"initContainerStatuses": [
            {"name": "setup", "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "proxy", "restartCount": 3, "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
        ]}
    }))
    .unwrap();
    let names = |pod: &CachedPod| -> Vec<String> {
        pod.containers.iter().map(|c| c.name.to_string()).collect()
    };
    let mut labels = LabelInterner::default();
    let without = CachedPod::from_wire(wire.clone(), &mut labels);
    assert_eq!(names(&without), ["app"]);
    let with = CachedPod::reduce(
        wire,
        &mut labels,
        PodReduction {
            native_sidecars: true,
        },
    );
    assert_eq!(names(&with), ["app", "proxy"]);
    let proxy = with.container("proxy").unwrap();
    assert_eq!(proxy.memory_request_bytes, 64 << 20);
    assert_eq!(proxy.restart_count, 3, "read from initContainerStatuses");
    assert_eq!(proxy.state, RunState::Running);
    assert!(proxy.last_termination.is_some_and(|t| t.oom_killed));
}

#[test]
fn decodes_statuses_from_api_json() {
    let wire: WirePod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-1", "namespace": "ns"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}], "nodeName": "n1"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 2,
            "ready": true, "image": "app:1", "imageID": "",
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
    }))
    .unwrap();
    let pod = CachedPod::from_wire(wire, &mut LabelInterner::default());
    let app = &pod.containers[0];
    assert_eq!(app.restart_count, 2);
    assert_eq!(app.state, RunState::Other);
    assert_eq!(
        app.last_termination,
        Some(Termination {
            oom_killed: true,
            finished_at: 0
        })
    );
    assert_eq!(app.memory_request_bytes, 0);
}
