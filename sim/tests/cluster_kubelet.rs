//! The simulated kubelet through kube-rs: in-place resizes (done, and Infeasible), OOM kills from
//! usage models, metrics.k8s.io usage on the accelerated clock, a usage scenario file overriding
//! annotations, and a real Prometheus scraping the cAdvisor-style page.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use vpa_sim::SimOptions;
use vpa_sim::cluster::accelerated_clock;

use vpa_test_support::{
    eventually, sim_cluster::sim_with_cluster, sim_cluster::sim_with_cluster_from,
};

fn pod(name: &str, cpu: &str, annotations: Value, limits: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "img",
            "resources": {"requests": {"cpu": cpu, "memory": "50Mi"}, "limits": limits}}]}
    }))
    .unwrap()
}

fn condition(p: &Pod, kind: &str) -> Option<(String, Option<String>)> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)?;
    Some((c.status.clone(), c.reason.clone()))
}

async fn running(pods: &Api<Pod>, name: &str) -> Pod {
    eventually("a running pod", || async {
        let p = pods.get(name).await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await
}

#[tokio::test]
async fn in_place_resizes_update_allocated_resources_or_report_infeasible() {
    let (sim, cluster, client) = sim_with_cluster(&["n1:2:4Gi"], SimOptions::default()).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    pods.create(
        &PostParams::default(),
        &pod("p", "100m", json!({}), json!({})),
    )
    .await
    .unwrap();
    running(&pods, "p").await;

    let resize = |cpu: &str| {
        Patch::Merge(
            json!({"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": "50Mi"}}}]}}),
        )
    };
    pods.patch_subresource("resize", "p", &PatchParams::default(), &resize("500m"))
        .await
        .unwrap();
    let done = eventually("the resize actuated", || async {
        let p = pods.get("p").await.ok()?;
        let c = &p.status.as_ref()?.container_statuses.as_ref()?[0];
        let cpu = c
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("cpu")?
            .0
            .clone();
        (cpu == "500m").then_some(p)
    })
    .await;
    assert_eq!(condition(&done, "PodResizeInProgress"), None);
    let allocated = done
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .allocated_resources
        .clone()
        .unwrap();
    assert_eq!(allocated["cpu"].0, "500m");

    pods.patch_subresource("resize", "p", &PatchParams::default(), &resize("3"))
        .await
        .unwrap();
    let pending = eventually("an Infeasible resize", || async {
        let p = pods.get("p").await.ok()?;
        condition(&p, "PodResizePending").map(|c| (p, c))
    })
    .await;
    assert_eq!(
        pending.1,
        ("True".to_string(), Some("Infeasible".to_string()))
    );
    let c = &pending.0.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(
        c.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0,
        "500m",
        "allocation unchanged"
    );
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn memory_above_the_limit_oom_kills_the_container_with_an_event() {
    let opts = SimOptions {
        clock: Some(accelerated_clock(20.0)),
        ..Default::default()
    };
    let (sim, cluster, client) = sim_with_cluster(&["n1:2:4Gi"], opts).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let leak = json!({"sim.vpa.rs/memory": "growth:50Mi:20Mi"});
    pods.create(
        &PostParams::default(),
        &pod("leaky", "100m", leak, json!({"memory": "100Mi"})),
    )
    .await
    .unwrap();
    let killed = eventually("an OOM kill", || async {
        let p = pods.get("leaky").await.ok()?;
        let c = p.status.as_ref()?.container_statuses.as_ref()?[0].clone();
        (c.restart_count >= 1).then_some(c)
    })
    .await;
    let last = killed.last_state.unwrap().terminated.unwrap();
    assert_eq!(last.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(last.exit_code, 137);
    assert!(last.started_at.unwrap().0 < last.finished_at.unwrap().0);
    assert!(killed.state.unwrap().running.is_some(), "restarted");
    let events: Api<Event> = Api::default_namespaced(client.clone());
    eventually("an OOMKilling event", || async {
        let evs = events.list(&ListParams::default()).await.ok()?.items;
        evs.into_iter().find(|e| {
            e.reason.as_deref() == Some("OOMKilling")
                && e.involved_object.name.as_deref() == Some("leaky")
        })
    })
    .await;
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn pod_and_node_metrics_follow_usage_models_and_the_simulated_clock() {
    let opts = SimOptions {
        clock: Some(accelerated_clock(3600.0)),
        ..Default::default()
    };
    let (sim, cluster, client) = sim_with_cluster(&["n1:2:4Gi"], opts).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let hamster = json!({"sim.vpa.rs/cpu": "constant:0.5", "sim.vpa.rs/memory": "constant:60Mi"});
    pods.create(
        &PostParams::default(),
        &pod("hamster", "100m", hamster, json!({})),
    )
    .await
    .unwrap();
    let gvk = |kind: &str| GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", kind);
    let pod_metrics: Api<DynamicObject> =
        Api::default_namespaced_with(client.clone(), &ApiResource::from_gvk(&gvk("PodMetrics")));
    let m = eventually("PodMetrics", || async {
        pod_metrics.get("hamster").await.ok()
    })
    .await;
    assert_eq!(
        m.data["containers"][0]["usage"],
        json!({"cpu": "500000000n", "memory": "61440Ki"})
    );
    let ts = chrono::DateTime::parse_from_rfc3339(m.data["timestamp"].as_str().unwrap()).unwrap();
    assert!(
        ts > chrono::Utc::now() + chrono::Duration::minutes(5),
        "timestamps follow the 3600x clock: {ts}"
    );
    assert!(m.data["window"].as_str().unwrap().ends_with('s'));
    let node_metrics: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk("NodeMetrics")));
    let n = eventually("NodeMetrics", || async {
        node_metrics.get("n1").await.ok()
    })
    .await;
    assert_eq!(n.data["usage"]["cpu"], "500000000n");

    let addr = cluster.metrics_addr().unwrap();
    let scrape = format!(
        "[{{job_name: kubelet, metrics_path: /metrics, static_configs: [{{targets: ['{addr}']}}]}}]"
    );
    let Some(prom) = tokio::task::spawn_blocking(move || {
        vpa_e2e::prometheus::TestPrometheus::start(None, &scrape)
    })
    .await
    .unwrap() else {
        cluster.stop().await;
        sim.shutdown().await;
        return;
    };
    let port = prom.port();
    let query = "/api/v1/query?query=container_memory_working_set_bytes%7Bpod%3D%22hamster%22%2Ccontainer%3D%22app%22%7D";
    let body = eventually("Prometheus to answer from a scrape", || async {
        let (code, body) =
            tokio::task::spawn_blocking(move || vpa_e2e::prometheus::http_get(port, query))
                .await
                .unwrap()
                .ok()?;
        (code == 200 && body.contains("62914560")).then_some(body)
    })
    .await;
    assert!(body.contains("\"namespace\":\"default\""), "{body}");
    drop(prom);
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_usage_scenario_sets_models_by_workload_pod_prefix_and_container() {
    let scenario = vpa_sim::cluster::UsageScenario::parse(
        "rules:\n\
         - workload: Deployment/web\n  container: app\n  cpu: constant:250m\n\
         - namespace: default\n  pod: solo\n  memory: constant:100Mi\n",
    )
    .unwrap();
    let base = vpa_sim::cluster::ClusterOptions {
        usage_scenario: scenario,
        ..Default::default()
    };
    let (sim, cluster, client) =
        sim_with_cluster_from(&["n1:4:8Gi"], SimOptions::default(), base).await;
    let deployments: Api<DynamicObject> = Api::default_namespaced_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    let web: DynamicObject = serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}, "annotations": {"sim.vpa.rs/cpu": "constant:2", "sim.vpa.rs/memory": "constant:30Mi"}},
                "spec": {"containers": [{"name": "app", "image": "i"}]}}}}))
    .unwrap();
    deployments
        .create(&PostParams::default(), &web)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    pods.create(
        &PostParams::default(),
        &pod(
            "solo-1",
            "100m",
            json!({"sim.vpa.rs/cpu": "constant:0.3"}),
            json!({}),
        ),
    )
    .await
    .unwrap();
    let pod_metrics: Api<DynamicObject> = Api::default_namespaced_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "metrics.k8s.io",
            "v1beta1",
            "PodMetrics",
        )),
    );
    let usage = |name: String| {
        let pod_metrics = pod_metrics.clone();
        async move {
            let m = pod_metrics.get(&name).await.ok()?;
            Some(m.data["containers"][0]["usage"].clone())
        }
    };
    let web_pod = eventually("the web pod", || async {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?;
        list.items.first()?.metadata.name.clone()
    })
    .await;
    let web_usage = eventually("web metrics", || usage(web_pod.clone())).await;
    assert_eq!(
        web_usage,
        json!({"cpu": "250000000n", "memory": "30720Ki"}),
        "the scenario's CPU via the Deployment, the annotation's memory"
    );
    let solo = eventually("solo metrics", || usage("solo-1".into())).await;
    assert_eq!(solo, json!({"cpu": "300000000n", "memory": "102400Ki"}));
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn native_sidecars_run_and_report_usage_and_plain_init_containers_complete() {
    let (sim, cluster, client) = sim_with_cluster(&["n1:2:4Gi"], SimOptions::default()).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "meshed", "annotations": {
            "sim.vpa.rs/cpu.app": "constant:0.5", "sim.vpa.rs/memory.app": "constant:60Mi",
            "sim.vpa.rs/cpu.proxy": "constant:0.2", "sim.vpa.rs/memory.proxy": "constant:30Mi"}},
        "spec": {
            "initContainers": [
                {"name": "setup", "image": "setup"},
                {"name": "proxy", "image": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}}}
            ],
            "containers": [{"name": "app", "image": "img",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let started = running(&pods, "meshed").await;
    let init = started
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses.clone())
        .unwrap_or_default();
    let state = |name: &str| {
        let s = init.iter().find(|s| s.name == name).unwrap();
        s.state.clone().unwrap()
    };
    assert!(state("proxy").running.is_some());
    let setup = state("setup").terminated.unwrap();
    assert_eq!(setup.reason.as_deref(), Some("Completed"));

    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let pod_metrics: Api<DynamicObject> =
        Api::default_namespaced_with(client.clone(), &ApiResource::from_gvk(&gvk));
    let m = eventually("PodMetrics", || async {
        pod_metrics.get("meshed").await.ok()
    })
    .await;
    let usage: Vec<(String, Value)> = m.data["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["usage"].clone()))
        .collect();
    assert_eq!(
        usage,
        [
            (
                "app".to_string(),
                json!({"cpu": "500000000n", "memory": "61440Ki"})
            ),
            (
                "proxy".to_string(),
                json!({"cpu": "200000000n", "memory": "30720Ki"})
            ),
        ],
        "the sidecar reports usage, the completed init container none"
    );
    cluster.stop().await;
    sim.shutdown().await;
}
