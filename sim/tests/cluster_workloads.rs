//! The simulated cluster through kube-rs: Deployments roll out ReplicaSets and running pods,
//! evicted pods come back, scale is reflected, other workload kinds and Services get their pods
//! and Endpoints, ReplicationControllers keep their pods through the scale subresource, HPAs are
//! stored, and pods that fit nowhere stay Pending with an Unschedulable condition.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Event, Pod, ReplicationController, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use vpa_sim::SimOptions;

use vpa_test_support::{eventually, sim_cluster::sim_with_cluster};

fn deployment(name: &str, replicas: i32, cpu: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "img:1",
                "resources": {"requests": {"cpu": cpu, "memory": "50Mi"}}}]}}}
    }))
    .unwrap()
}

async fn running_pods(pods: &Api<Pod>, selector: &str) -> Vec<Pod> {
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap();
    list.items
        .into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .collect()
}

#[tokio::test]
async fn deployments_roll_out_replica_sets_with_running_ready_pods() {
    let (sim, cluster, client) =
        sim_with_cluster(&["n1:4:8Gi", "n2:4:8Gi"], SimOptions::default()).await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    deploys
        .create(&PostParams::default(), &deployment("web", 3, "100m"))
        .await
        .unwrap();

    let ready = eventually("3 available replicas", || async {
        let d = deploys.get("web").await.unwrap();
        (d.status.as_ref()?.available_replicas == Some(3)).then_some(d)
    })
    .await;
    let status = ready.status.unwrap();
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.updated_replicas
        ),
        (Some(3), Some(3), Some(3))
    );
    let rs = rss.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rs.len(), 1);
    let hash = rs[0].metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    assert_eq!(
        rs[0].metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    let owner = &rs[0].metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Deployment", Some(true))
    );

    let running = running_pods(&pods, "app=web").await;
    assert_eq!(running.len(), 3);
    for p in &running {
        assert_eq!(
            p.metadata.labels.as_ref().unwrap()["pod-template-hash"],
            hash
        );
        assert!(p.spec.as_ref().unwrap().node_name.is_some());
        let s = p.status.as_ref().unwrap();
        assert!(s.start_time.is_some() && s.pod_ip.is_some());
        let c = &s.container_statuses.as_ref().unwrap()[0];
        assert_eq!((c.ready, c.restart_count, c.started), (true, 0, Some(true)));
        assert!(
            c.state
                .as_ref()
                .unwrap()
                .running
                .as_ref()
                .unwrap()
                .started_at
                .is_some()
        );
        assert!(
            s.conditions
                .as_ref()
                .unwrap()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        );
    }

    // A template change rolls every pod over to a new ReplicaSet.
    deploys
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "img:2"}]}}}})))
        .await
        .unwrap();
    eventually("all pods on img:2", || async {
        let running = running_pods(&pods, "app=web").await;
        let all = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items;
        let new = running
            .iter()
            .filter(|p| p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("img:2"))
            .count();
        (new == 3 && all.len() == 3).then_some(())
    })
    .await;
    eventually("old ReplicaSet at zero", || async {
        let rs = rss.list(&ListParams::default()).await.unwrap().items;
        (rs.len() == 2
            && rs
                .iter()
                .any(|r| r.spec.as_ref().unwrap().replicas == Some(0)))
        .then_some(())
    })
    .await;

    // An evicted pod is replaced; scaling through the scale subresource is reflected.
    let victim = running_pods(&pods, "app=web").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.evict(&victim, &EvictParams::default()).await.unwrap();
    eventually("a replacement pod", || async {
        let running = running_pods(&pods, "app=web").await;
        (running.len() == 3
            && running
                .iter()
                .all(|p| p.metadata.name.as_deref() != Some(&victim)))
        .then_some(())
    })
    .await;
    deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    eventually("one replica", || async {
        let scale = deploys.get_scale("web").await.unwrap();
        (scale.status?.replicas == 1 && running_pods(&pods, "app=web").await.len() == 1)
            .then_some(())
    })
    .await;
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn pods_that_fit_nowhere_stay_pending_as_unschedulable_with_an_event() {
    let (sim, cluster, client) = sim_with_cluster(&["small:1:1Gi"], SimOptions::default()).await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    deploys
        .create(&PostParams::default(), &deployment("big", 1, "2"))
        .await
        .unwrap();
    let pod = eventually("an Unschedulable condition", || async {
        let p = pods
            .list(&ListParams::default().labels("app=big"))
            .await
            .unwrap()
            .items
            .pop()?;
        let c = p
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "PodScheduled")?
            .clone();
        (c.status == "False").then_some((p, c))
    })
    .await;
    assert_eq!(pod.1.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(
        pod.1.message.as_deref(),
        Some("0/1 nodes are available: 1 Insufficient cpu.")
    );
    assert_eq!(pod.0.status.unwrap().phase.as_deref(), Some("Pending"));
    let events: Api<Event> = Api::default_namespaced(client.clone());
    let name = pod.0.metadata.name.unwrap();
    eventually("a FailedScheduling event", || async {
        let evs = events.list(&ListParams::default()).await.unwrap().items;
        evs.iter()
            .find(|e| {
                e.reason.as_deref() == Some("FailedScheduling")
                    && e.involved_object.name.as_deref() == Some(&name)
            })
            .map(|e| assert_eq!(e.type_.as_deref(), Some("Warning")))
    })
    .await;
    cluster.stop().await;
    sim.shutdown().await;
}

fn template(app: &str) -> Value {
    json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 8080}]}]}})
}

#[tokio::test]
async fn stateful_sets_daemon_sets_jobs_and_services_get_their_pods_and_endpoints() {
    let (sim, cluster, client) =
        sim_with_cluster(&["n1:4:8Gi", "n2:4:8Gi"], SimOptions::default()).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let sts: Api<StatefulSet> = Api::default_namespaced(client.clone());
    let sts_obj = json!({"metadata": {"name": "db"}, "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template("db")}});
    sts.create(
        &PostParams::default(),
        &serde_json::from_value(sts_obj).unwrap(),
    )
    .await
    .unwrap();
    let ds: Api<DaemonSet> = Api::default_namespaced(client.clone());
    let ds_obj = json!({"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")}});
    ds.create(
        &PostParams::default(),
        &serde_json::from_value(ds_obj).unwrap(),
    )
    .await
    .unwrap();
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let mut job_template = template("job");
    job_template["spec"]["restartPolicy"] = json!("Never");
    job_template["metadata"]["annotations"] = json!({"sim.vpa.rs/run-seconds": "0"});
    let job_obj = json!({"metadata": {"name": "once"}, "spec": {"template": job_template}});
    jobs.create(
        &PostParams::default(),
        &serde_json::from_value(job_obj).unwrap(),
    )
    .await
    .unwrap();
    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    let svc = json!({"metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}, "ports": [{"port": 80, "targetPort": "http"}]}});
    svcs.create(
        &PostParams::default(),
        &serde_json::from_value(svc).unwrap(),
    )
    .await
    .unwrap();

    eventually("db-0 and db-1 ready", || async {
        let s = sts.get("db").await.unwrap().status?;
        (s.ready_replicas == Some(2)).then_some(())
    })
    .await;
    let names: Vec<String> = running_pods(&pods, "app=db")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["db-0", "db-1"]);
    let nodes = eventually("an agent on each node", || async {
        let running = running_pods(&pods, "app=agent").await;
        let mut nodes: Vec<String> = running
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .collect();
        nodes.sort();
        (nodes.len() == 2).then_some(nodes)
    })
    .await;
    assert_eq!(nodes, ["n1", "n2"]);
    eventually("the job complete", || async {
        let s = jobs.get("once").await.unwrap().status?;
        (s.succeeded == Some(1)
            && s.conditions?
                .iter()
                .any(|c| c.type_ == "Complete" && c.status == "True"))
        .then_some(())
    })
    .await;
    let eps: Api<Endpoints> = Api::default_namespaced(client.clone());
    eventually("two ready endpoints on port 8080", || async {
        let subset = eps.get("db").await.ok()?.subsets?.pop()?;
        (subset.addresses?.len() == 2 && subset.ports?[0].port == 8080).then_some(())
    })
    .await;
    let slices: Api<EndpointSlice> = Api::default_namespaced(client.clone());
    let by_service = ListParams::default().labels("kubernetes.io/service-name=db");
    let slice = eventually("an EndpointSlice with two ready endpoints", || async {
        let mut items = slices.list(&by_service).await.ok()?.items;
        let slice = items.pop()?;
        (items.is_empty()
            && slice.endpoints.len() == 2
            && slice
                .endpoints
                .iter()
                .all(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true)))
        .then_some(slice)
    })
    .await;
    assert_eq!(slice.address_type, "IPv4");
    assert_eq!(
        slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("endpointslice.kubernetes.io/managed-by"))
            .map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.port, port.protocol.as_deref()),
        (Some(8080), Some("TCP"))
    );
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Service", "db")
    );
    let mut names: Vec<String> = slice
        .endpoints
        .iter()
        .filter_map(|e| e.target_ref.as_ref()?.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1"]);
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn cron_jobs_start_jobs_on_schedule_on_the_accelerated_clock() {
    let opts = SimOptions {
        clock: Some(vpa_sim::cluster::accelerated_clock(240.0)),
        ..Default::default()
    };
    let (sim, cluster, client) = sim_with_cluster(&["n1:4:8Gi"], opts).await;
    let mut job_template = template("tick");
    job_template["spec"]["restartPolicy"] = json!("Never");
    job_template["metadata"]["annotations"] = json!({"sim.vpa.rs/run-seconds": "1"});
    let cj = json!({"metadata": {"name": "tick"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": job_template}}}});
    let cronjobs: Api<k8s_openapi::api::batch::v1::CronJob> =
        Api::default_namespaced(client.clone());
    cronjobs
        .create(&PostParams::default(), &serde_json::from_value(cj).unwrap())
        .await
        .unwrap();
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    eventually("two completed jobs", || async {
        let list = jobs.list(&ListParams::default()).await.ok()?.items;
        let done = list
            .iter()
            .filter(|j| j.status.as_ref().and_then(|s| s.succeeded) == Some(1))
            .count();
        (done >= 2).then_some(())
    })
    .await;
    let status = cronjobs.get("tick").await.unwrap().status.unwrap();
    assert!(status.last_schedule_time.is_some());
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn replication_controllers_keep_their_pods_and_scale_through_the_subresource() {
    let (sim, cluster, client) = sim_with_cluster(&["n1:4:8Gi"], SimOptions::default()).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let rcs: Api<ReplicationController> = Api::default_namespaced(client.clone());
    // No selector: it defaults to the template's labels, a plain map.
    let rc = json!({"metadata": {"name": "legacy"}, "spec": {"replicas": 2, "template": {
        "metadata": {"labels": {"app": "legacy", "tier": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let created = rcs
        .create(&PostParams::default(), &serde_json::from_value(rc).unwrap())
        .await
        .unwrap();
    let spec = created.spec.unwrap();
    assert_eq!(
        spec.selector.unwrap().into_iter().collect::<Vec<_>>(),
        [
            ("app".to_string(), "legacy".to_string()),
            ("tier".to_string(), "web".to_string())
        ]
    );
    let uid = created.metadata.uid.unwrap();

    eventually("2 ready replicas", || async {
        let s = rcs.get("legacy").await.unwrap().status?;
        (s.ready_replicas == Some(2)).then_some(())
    })
    .await;
    let running = running_pods(&pods, "app=legacy").await;
    assert_eq!(running.len(), 2);
    for p in &running {
        let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("ReplicationController", uid.as_str(), Some(true))
        );
    }

    let scale: Scale = rcs.get_scale("legacy").await.unwrap();
    let status = scale.status.unwrap();
    assert_eq!(
        (scale.spec.unwrap().replicas, status.replicas),
        (Some(2), 2)
    );
    assert_eq!(status.selector.as_deref(), Some("app=legacy,tier=web"));
    rcs.patch_scale(
        "legacy",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    eventually("3 running pods after scaling up", || async {
        (running_pods(&pods, "app=legacy").await.len() == 3).then_some(())
    })
    .await;
    // A deleted pod is replaced.
    let victim = running[0].metadata.name.clone().unwrap();
    pods.delete(&victim, &Default::default()).await.unwrap();
    eventually("the deleted pod replaced", || async {
        let now = running_pods(&pods, "app=legacy").await;
        (now.len() == 3
            && now
                .iter()
                .all(|p| p.metadata.name.as_ref() != Some(&victim)))
        .then_some(())
    })
    .await;

    // HPAs are stored and listed like any namespaced kind, with their defaults.
    let hpas: Api<HorizontalPodAutoscaler> = Api::default_namespaced(client.clone());
    let hpa = json!({"metadata": {"name": "legacy"}, "spec": {"maxReplicas": 5,
        "scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "legacy"}}});
    hpas.create(
        &PostParams::default(),
        &serde_json::from_value(hpa).unwrap(),
    )
    .await
    .unwrap();
    let listed = hpas.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].spec.as_ref().unwrap().min_replicas, Some(1));
    cluster.stop().await;
    sim.shutdown().await;
}
