//! kube-rs against vpa-sim: CRUD semantics, selectors, pagination, subresources, server-side
//! apply, garbage collection, RBAC, faults, and watcher/reflector resumption after a dropped
//! watch and after a 410.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{
    Api, DeleteParams, DynamicObject, EvictParams, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;
use vpa_sim::{FaultConfig, Sim, SimOptions};

/// A client that does not retry 429/503 itself (kube's default does, with long backoffs).
async fn client_without_retries(sim: &Sim) -> kube::Client {
    let mut cfg = sim.config_for(sim.admin_token()).await.unwrap();
    cfg.default_retry = false;
    kube::Client::try_from(cfg).unwrap()
}

async fn sim() -> Sim {
    vpa_common::install_crypto_provider();
    Sim::start(SimOptions {
        bookmark_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

fn code(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("not an API error: {other}"),
    }
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    }))
    .unwrap()
}

fn pod(name: &str, labels: serde_json::Value, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn crud_conflicts_and_status_errors_are_like_kubernetes() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    let created = cms
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(
        code(
            cms.create(&PostParams::default(), &cm("a", json!({})))
                .await
                .unwrap_err()
        ),
        (409, "AlreadyExists".into())
    );
    assert_eq!(
        code(cms.get("missing").await.unwrap_err()),
        (404, "NotFound".into())
    );

    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = cms
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert!(
        updated
            .metadata
            .resource_version
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > created
                .metadata
                .resource_version
                .clone()
                .unwrap()
                .parse()
                .unwrap()
    );
    stale.data = Some([("k".to_string(), "x".to_string())].into());
    assert_eq!(
        code(
            cms.replace("a", &PostParams::default(), &stale)
                .await
                .unwrap_err()
        ),
        (409, "Conflict".into())
    );

    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&dry, &cm("dry", json!({}))).await.unwrap();
    assert_eq!(code(cms.get("dry").await.unwrap_err()).0, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn generation_moves_with_spec_only_and_scale_subresource_works() {
    let sim = sim().await;
    let deploys: Api<Deployment> = Api::default_namespaced(sim.client().await.unwrap());
    deploys
        .create(&PostParams::default(), &deployment("d", 1))
        .await
        .unwrap();
    let labelled = deploys
        .patch(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let scaled = deploys
        .patch_scale(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(4));
    let d = deploys.get("d").await.unwrap();
    assert_eq!(
        (d.spec.unwrap().replicas, d.metadata.generation),
        (Some(4), Some(2))
    );
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "status": {"replicas": 4, "readyReplicas": 3}});
    let pp = PatchParams::apply("test-controller").force();
    let after = deploys
        .patch_status("d", &pp, &Patch::Apply(status))
        .await
        .unwrap();
    assert_eq!(after.status.unwrap().ready_replicas, Some(3));
    assert_eq!(
        after.metadata.generation,
        Some(2),
        "status writes do not bump generation"
    );
    let ignored = deploys
        .patch(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 0}})),
        )
        .await
        .unwrap();
    assert_eq!(
        ignored.status.unwrap().ready_replicas,
        Some(3),
        "the main resource ignores status"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn custom_resource_scale_follows_the_crd_scale_paths() {
    let sim = sim().await;
    let client = sim.client().await.unwrap();
    let crds = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let crd: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                    "statusReplicasPath": ".status.count", "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"count": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]}
    }))
    .unwrap();
    Api::<DynamicObject>::all_with(client.clone(), &crds)
        .create(&PostParams::default(), &crd)
        .await
        .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::default_namespaced_with(client, &ar);
    let w: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 2}}))
        .unwrap();
    widgets.create(&PostParams::default(), &w).await.unwrap();
    let fresh = widgets.get_scale("w").await.unwrap();
    assert_eq!(fresh.spec.unwrap().replicas, Some(2));
    assert_eq!(
        fresh.status.map(|s| (s.replicas, s.selector)),
        Some((0, Some(String::new()))),
        "no status yet"
    );
    widgets
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"count": 2, "selector": "app=w,tier in (a,b)"}})),
        )
        .await
        .unwrap();
    let scale = widgets.get_scale("w").await.unwrap();
    let status = scale.status.clone().unwrap();
    assert_eq!(
        (status.replicas, status.selector.as_deref()),
        (2, Some("app=w,tier in (a,b)"))
    );

    // PUT writes specReplicasPath, and nowhere else.
    let mut put = scale.clone();
    put.spec.as_mut().unwrap().replicas = Some(5);
    let after = widgets
        .replace_scale("w", &PostParams::default(), &put)
        .await
        .unwrap();
    assert_eq!(after.spec.unwrap().replicas, Some(5));
    let obj = widgets.get("w").await.unwrap();
    assert_eq!(obj.data["spec"], json!({"size": 5}));
    assert_eq!(obj.data["status"]["count"], 2, "status untouched");
    // The old Scale's resourceVersion is stale now.
    let (code, _) = code(
        widgets
            .replace_scale("w", &PostParams::default(), &put)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 409);
    widgets
        .patch_scale(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(widgets.get("w").await.unwrap().data["spec"]["size"], 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn selectors_and_pagination() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    for i in 0..7 {
        cms.create(
            &PostParams::default(),
            &cm(
                &format!("c{i}"),
                json!({"tier": if i % 2 == 0 { "even" } else { "odd" }}),
            ),
        )
        .await
        .unwrap();
    }
    let even = cms
        .list(&ListParams::default().labels("tier in (even),tier!=odd"))
        .await
        .unwrap();
    assert_eq!(even.items.len(), 4);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=c3"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(3);
    loop {
        let page = cms.list(&lp).await.unwrap();
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(names.len(), 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn deleting_a_deployment_collects_its_replicasets_and_pods() {
    let sim = sim().await;
    let client = sim.client().await.unwrap();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let d = deploys
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    let owner = |kind: &str, name: &str, uid: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}]);
    let rs_api: Api<DynamicObject> = Api::default_namespaced_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "ReplicaSet")),
    );
    let rs: DynamicObject = serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "ownerReferences": owner("Deployment", "web", d.metadata.uid.as_deref().unwrap())},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
    .unwrap();
    let rs = rs_api.create(&PostParams::default(), &rs).await.unwrap();
    let pods: Api<Pod> = Api::default_namespaced(client);
    let mut p = pod("web-1-abc", json!({"app": "web"}), true);
    p.metadata.owner_references = Some(
        serde_json::from_value(owner(
            "ReplicaSet",
            "web-1",
            rs.metadata.uid.as_deref().unwrap(),
        ))
        .unwrap(),
    );
    pods.create(&PostParams::default(), &p).await.unwrap();
    deploys
        .delete("web", &DeleteParams::background())
        .await
        .unwrap();
    assert!(rs_api.get_opt("web-1").await.unwrap().is_none());
    assert!(pods.get_opt("web-1-abc").await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn eviction_honours_pod_disruption_budgets() {
    let sim = sim().await;
    let client = client_without_retries(&sim).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    for name in ["a", "b"] {
        pods.create(
            &PostParams::default(),
            &pod(name, json!({"app": "x"}), true),
        )
        .await
        .unwrap();
    }
    let pdbs: Api<PodDisruptionBudget> = Api::default_namespaced(client);
    let pdb = serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}})).unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    pods.evict("a", &EvictParams::default()).await.unwrap();
    assert!(pods.get_opt("a").await.unwrap().is_none());
    let err = pods.evict("b", &EvictParams::default()).await.unwrap_err();
    assert_eq!(code(err), (429, "TooManyRequests".into()));
    sim.shutdown().await;
}

#[tokio::test]
async fn rbac_denies_service_accounts_and_the_audit_hook_sees_it() {
    let sim = sim().await;
    let log = sim.record_requests();
    let token = sim.service_account_token("default", "reader");
    let as_sa: Api<ConfigMap> = Api::default_namespaced(sim.client_for(&token).await.unwrap());
    assert_eq!(
        code(as_sa.list(&ListParams::default()).await.unwrap_err()),
        (403, "Forbidden".into())
    );
    let admin = sim.client().await.unwrap();
    let roles: Api<DynamicObject> = Api::default_namespaced_with(
        admin.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
        )),
    );
    let bindings: Api<DynamicObject> = Api::default_namespaced_with(
        admin,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
        )),
    );
    roles
        .create(&PostParams::default(), &serde_json::from_value(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})).unwrap())
        .await
        .unwrap();
    bindings
        .create(&PostParams::default(), &serde_json::from_value(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]})).unwrap())
        .await
        .unwrap();
    as_sa.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        code(
            as_sa
                .create(&PostParams::default(), &cm("x", json!({})))
                .await
                .unwrap_err()
        )
        .0,
        403
    );
    let sa_records: Vec<(String, bool)> = log
        .records()
        .into_iter()
        .filter(|r| r.user == "system:serviceaccount:default:reader")
        .map(|r| (r.verb, r.allowed))
        .collect();
    assert_eq!(
        sa_records,
        [
            ("list".into(), false),
            ("list".into(), true),
            ("create".into(), false)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_answer_with_retry_after() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client_without_retries(&sim).await);
    sim.faults().set(FaultConfig {
        rules: vec!["list:configmaps:1:429:7".parse().unwrap()],
        ..Default::default()
    });
    assert_eq!(
        code(cms.list(&ListParams::default()).await.unwrap_err()),
        (429, "TooManyRequests".into())
    );
    cms.get_opt("x").await.unwrap();
    sim.faults().set(FaultConfig {
        rules: vec!["get:*:1:503".parse().unwrap()],
        ..Default::default()
    });
    assert_eq!(code(cms.get("x").await.unwrap_err()).0, 503);
    sim.faults().clear();
    cms.list(&ListParams::default()).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn metrics_set_through_the_library_are_served() {
    let sim = sim().await;
    sim.set_pod_metrics("default", "p", &[("c", "250m", "64Mi")])
        .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics"),
        "pods",
    );
    let api: Api<DynamicObject> = Api::default_namespaced_with(sim.client().await.unwrap(), &ar);
    let m = api.get("p").await.unwrap();
    assert_eq!(m.data["containers"][0]["usage"]["cpu"], "250m");
    sim.shutdown().await;
}

async fn wait_for(store: &reflector::Store<ConfigMap>, want: &[&str]) {
    let names = || {
        let mut n: Vec<String> = store
            .state()
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        n.sort();
        n
    };
    for _ in 0..200 {
        if names() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(names(), want);
}

#[tokio::test]
async fn reflector_resumes_after_dropped_watches_and_410() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    let (store, writer) = reflector::store();
    let stream =
        reflector(writer, watcher(cms.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(stream.for_each(|_| async {}));
    cms.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    wait_for(&store, &["a"]).await;

    // A dropped watch resumes from the last resourceVersion: nothing is missed.
    sim.restart();
    cms.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    wait_for(&store, &["a", "b"]).await;

    // Changes while the watcher is away, then a compaction: the re-watch gets 410 and relists.
    sim.faults().set(FaultConfig {
        rules: vec!["watch:configmaps:1:503".parse().unwrap()],
        ..Default::default()
    });
    sim.restart();
    cms.create(&PostParams::default(), &cm("c", json!({})))
        .await
        .unwrap();
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    sim.compact();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.faults().clear();
    wait_for(&store, &["b", "c"]).await;
    task.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_410() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    let old = cms
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    sim.compact();
    let mut events = cms
        .watch(
            &kube::api::WatchParams::default(),
            old.metadata.resource_version.as_deref().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    match events.next().await {
        Some(Ok(kube::api::WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn strict_validation_rejects_duplicate_and_unknown_fields() {
    let sim = sim().await;
    let client = sim.client().await.unwrap();
    let post = |body: &'static str, strict: bool| {
        let q = if strict {
            "?fieldValidation=Strict"
        } else {
            ""
        };
        axum::http::Request::post(format!("/api/v1/namespaces/default/configmaps{q}"))
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    let dup = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "name": "d"}, "data": {"a": "1"}, "bogus": 1}"#;
    match client.request_text(post(dup, true)).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 400);
            assert!(s.message.contains("strict decoding error: unknown field \"bogus\", duplicate field \"metadata.name\""), "{}", s.message);
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // Without Strict the unknown field is dropped and the object is created.
    client.request_text(post(dup, false)).await.unwrap();
    let cm: ConfigMap = Api::default_namespaced(client).get("d").await.unwrap();
    assert_eq!(cm.data.unwrap()["a"], "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn pod_subresources_bind_resize_log_and_apply() {
    let sim = sim().await;
    let client = sim.client().await.unwrap();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let applied = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "100m"}}}]}});
    pods.patch("p", &PatchParams::apply("tester"), &Patch::Apply(applied))
        .await
        .unwrap();
    let binding = serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}})).unwrap();
    let req = axum::http::Request::post("/api/v1/namespaces/default/pods/p/binding")
        .header("content-type", "application/json")
        .body(binding.clone())
        .unwrap();
    client.request_text(req).await.unwrap();
    assert_eq!(
        pods.get("p")
            .await
            .unwrap()
            .spec
            .unwrap()
            .node_name
            .as_deref(),
        Some("n1")
    );
    let again = axum::http::Request::post("/api/v1/namespaces/default/pods/p/binding")
        .header("content-type", "application/json")
        .body(binding)
        .unwrap();
    assert!(matches!(client.request_text(again).await, Err(kube::Error::Api(s)) if s.code == 409));

    let resize = json!({"spec": {"containers": [{"name": "c", "image": "ignored", "resources": {"requests": {"cpu": "300m"}}}]}});
    let req = axum::http::Request::patch("/api/v1/namespaces/default/pods/p/resize")
        .header("content-type", "application/strategic-merge-patch+json")
        .body(serde_json::to_vec(&resize).unwrap())
        .unwrap();
    client.request_text(req).await.unwrap();
    let c = &pods.get("p").await.unwrap().spec.unwrap().containers[0];
    assert_eq!(
        c.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0,
        "300m"
    );
    assert_eq!(
        c.image.as_deref(),
        Some("i"),
        "resize only changes resources"
    );
    assert_eq!(pods.logs("p", &Default::default()).await.unwrap(), "");
    sim.shutdown().await;
}

#[tokio::test]
async fn watches_are_dropped_after_the_configured_time() {
    let sim = sim().await;
    sim.faults().set(FaultConfig {
        drop_watches_after: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    let started = std::time::Instant::now();
    let mut events = cms
        .watch(&kube::api::WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("the watch should end")
    {
        ev.unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    sim.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_then_changes() {
    let sim = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(sim.client().await.unwrap());
    cms.create(&PostParams::default(), &cm("before", json!({})))
        .await
        .unwrap();
    let (store, writer) = reflector::store();
    let cfg = watcher::Config::default().streaming_lists();
    let task = tokio::spawn(
        reflector(writer, watcher(cms.clone(), cfg))
            .applied_objects()
            .for_each(|_| async {}),
    );
    wait_for(&store, &["before"]).await;
    cms.create(&PostParams::default(), &cm("after", json!({})))
        .await
        .unwrap();
    wait_for(&store, &["after", "before"]).await;
    task.abort();
    sim.shutdown().await;
}
