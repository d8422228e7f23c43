//! The recommender service end to end against the in-memory API server (`vpa-sim`), in
//! process: status, OOM, checkpoints, leader election, faults and scale-subresource targets.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use vpa_common::api::{VerticalPodAutoscaler, VerticalPodAutoscalerRecommenderSelector};
use vpa_common::leader_election::LeaseSettings;
use vpa_common::testutil::VpaBuilder;
use vpa_sim::{FaultConfig, FaultKind, FaultRule};

use support::*;
use vpa_test_support::hamster::owner;

#[tokio::test]
async fn hamster_gets_half_a_core_plus_margin_and_other_recommenders_vpas_are_ignored() {
    let c = hamster_sim().await;
    let mut other = VpaBuilder::new(NS, "other-vpa")
        .target_ref("Deployment", "hamster")
        .build();
    other.spec.recommenders = Some(vec![VerticalPodAutoscalerRecommenderSelector {
        name: "custom".into(),
    }]);
    create_vpa(&c.client, other).await;
    let replica = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target), "{target:?}");
    let status = vpa(&c.client, "hamster-vpa").await.status.unwrap();
    let provided = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "RecommendationProvided")
        .unwrap();
    assert_eq!(provided.status, "True");
    tokio::time::sleep(2 * INTERVAL).await;
    assert!(
        vpa(&c.client, "other-vpa").await.status.is_none(),
        "another recommender's VPA is left alone"
    );
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn oom_kill_raises_the_memory_recommendation() {
    let c = hamster_sim().await;
    // Bumped to max(300Mi + 100Mi, 300Mi × 1.2) = 400Mi, plus the margin.
    let (_, after) = memory_target_around_an_oom(&c, config()).await;
    assert!(after >= 400 * MIB * 115 / 100, "memory after OOM {after}");
}

#[tokio::test]
async fn restart_restores_history_from_checkpoints() {
    let c = hamster_sim().await;
    let first = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.unwrap_or(0) < 4 {
        assert!(tokio::time::Instant::now() < deadline, "checkpoint written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    first.shutdown().await.unwrap();
    let saved = checkpoint_samples(&c.client).await.unwrap();

    // Forget the status, then start a new replica: it must restore the saved history.
    Api::<VerticalPodAutoscaler>::namespaced(c.client.clone(), NS)
        .patch_status(
            "hamster-vpa",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": null})),
        )
        .await
        .unwrap();
    let audit = c.sim.record_requests();
    let second = Replica::start(c.client.clone(), config());
    let again = wait_for_target(&c.client, "hamster-vpa", Duration::from_secs(15), |_| true).await;
    assert_eq!(again, target, "same recommendation after restart");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.unwrap_or(0) <= saved {
        assert!(
            tokio::time::Instant::now() < deadline,
            "history continues from the checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.shutdown().await.unwrap();
    // The restored checkpoints are known to exist: patched, never a create that fails first.
    let writes: Vec<String> = audit
        .records()
        .into_iter()
        .filter(|r| r.resource == "verticalpodautoscalercheckpoints")
        .filter(|r| ["create", "patch", "update"].contains(&r.verb.as_str()))
        .map(|r| r.verb)
        .collect();
    assert!(!writes.is_empty(), "the second replica wrote checkpoints");
    assert!(writes.iter().all(|v| v == "patch"), "{writes:?}");
}

#[tokio::test]
async fn with_leader_election_only_one_replica_writes_and_the_other_takes_over() {
    let c = hamster_sim().await;
    let mut config = config();
    config.leader_election = Some(LeaseSettings {
        lease_name: "vpa-recommender-lease".into(),
        namespace: "kube-system".into(),
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
    });
    let audit = c.sim.record_requests();
    let a = Replica::start(
        c.sim
            .client_for(&c.sim.token_for_user("replica-a", &["system:masters"]))
            .await
            .unwrap(),
        config.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = Replica::start(
        c.sim
            .client_for(&c.sim.token_for_user("replica-b", &["system:masters"]))
            .await
            .unwrap(),
        config,
    );
    wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    tokio::time::sleep(2 * INTERVAL).await;
    let writers = |records: &[vpa_sim::AuditRecord]| -> Vec<String> {
        let mut users: Vec<String> = records
            .iter()
            .filter(|r| r.resource == "verticalpodautoscalers" && r.subresource == "status")
            .map(|r| r.user.clone())
            .collect();
        users.sort();
        users.dedup();
        users
    };
    assert_eq!(writers(&audit.records()), ["replica-a"]);
    assert!(a.has_looped() && !b.has_looped());

    // The leader stops gracefully and releases the lease: the standby takes over.
    a.shutdown().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !b.has_looped() {
        assert!(tokio::time::Instant::now() < deadline, "standby took over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn apiserver_errors_dropped_watches_and_410_are_survived() {
    let c = hamster_sim().await;
    c.sim.faults().set(FaultConfig {
        rules: vec![FaultRule {
            verb: None,
            resource: None,
            rate: 0.2,
            kind: FaultKind::Internal,
        }],
        drop_watches_after: Some(Duration::from_secs(1)),
        ..FaultConfig::default()
    });
    let replica = Replica::start(c.client.clone(), config());
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.sim.compact();
    c.sim.restart();
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(30),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target));
    c.sim.faults().set(FaultConfig::default());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while checkpoint_samples(&c.client).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "checkpoint written despite faults"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn targets_of_other_kinds_resolve_through_the_scale_subresource() {
    let c = hamster_sim().await;
    let rollout = vpa_common::testutil::create_rollout(&c.client, NS, "canary", "canary", 1).await;
    let mut pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "canary-a", "labels": {"app": "canary"}},
        "spec": {"containers": [{"name": "hamster", "image": "hamster"}]}
    }))
    .unwrap();
    pod.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "example.com/v1".into(),
        ..owner("Rollout", "canary", rollout.metadata.uid)
    }]);
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NS);
    pods.create(&PostParams::default(), &pod).await.unwrap();
    set_pod_status(&pods, "canary-a", 0, false).await;
    let _metrics = AbortOnDrop(refresh_metrics_of(&c.sim, &["canary-a"]));
    let vpa = VpaBuilder::new(NS, "canary-vpa").build();
    let mut vpa = vpa;
    vpa.spec.target_ref.api_version = Some("example.com/v1".into());
    vpa.spec.target_ref.kind = "Rollout".into();
    vpa.spec.target_ref.name = "canary".into();
    create_vpa(&c.client, vpa).await;
    let replica = Replica::start(c.client.clone(), config());
    let target = wait_for_target(
        &c.client,
        "canary-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target));
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn losing_the_lease_to_another_holder_stops_with_an_error() {
    let c = hamster_sim().await;
    let mut config = config();
    config.leader_election = Some(LeaseSettings {
        lease_name: "vpa-recommender-lease".into(),
        namespace: "kube-system".into(),
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
    });
    let replica = Replica::start(c.client.clone(), config);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !replica.has_looped() {
        assert!(tokio::time::Instant::now() < deadline, "replica leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(c.client.clone(), "kube-system");
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    leases
        .patch(
            "vpa-recommender-lease",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"holderIdentity": "intruder", "renewTime": now,
                "leaseDurationSeconds": 60}}),
            ),
        )
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), replica.task)
        .await
        .expect("the replica stops by itself")
        .unwrap();
    let error = result.expect_err("losing leadership is an error");
    assert!(error.to_string().contains("lost leadership"), "{error}");
}

#[tokio::test]
async fn memory_eviction_event_counts_as_an_oom_kill() {
    let c = hamster_sim().await;
    let replica = Replica::start(c.client.clone(), config());
    let (_, before) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let event: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
        "metadata": {"name": "hamster-rs-a.evicted", "annotations": {
            "offending_containers": "hamster",
            "offending_containers_usage": "600Mi",
            "starved_resource": "memory"}},
        "involvedObject": {"kind": "Pod", "namespace": NS, "name": "hamster-rs-a"},
        "reason": "Evicted",
        "message": "The node was low on resource: memory.",
        "firstTimestamp": now, "lastTimestamp": now, "type": "Warning", "count": 1
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Event>::namespaced(c.client.clone(), NS)
        .create(&PostParams::default(), &event)
        .await
        .unwrap();
    // 600Mi used when evicted: bumped to max(600Mi + 100Mi, 600Mi × 1.2) = 720Mi, plus margin.
    let (_, after) = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        |(_, m)| m > before,
    )
    .await;
    assert!(
        after >= 720 * MIB * 115 / 100,
        "memory after eviction {after}"
    );
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn client_gives_up_at_once_on_429_and_503_and_the_loop_retries_next_interval() {
    let c = hamster_sim_with(false).await;
    let config = c.sim.config_for(c.sim.admin_token()).await.unwrap();
    let client = vpa_common::client::build(config, None).unwrap();
    let api: Api<VerticalPodAutoscaler> = Api::namespaced(client, NS);
    for (kind, code) in [
        (FaultKind::TooManyRequests { retry_after: 1 }, 429),
        (FaultKind::Unavailable, 503),
    ] {
        c.sim.faults().set(FaultConfig {
            rules: vec![FaultRule {
                verb: Some("get".into()),
                resource: Some("verticalpodautoscalers".into()),
                rate: 1.0,
                kind,
            }],
            ..FaultConfig::default()
        });
        let audit = c.sim.record_requests();
        let started = tokio::time::Instant::now();
        match api.get("hamster-vpa").await {
            Err(kube::Error::Api(e)) => assert_eq!(e.code, code),
            other => panic!("expected a {code}, got {other:?}"),
        }
        // kube's default retry layer would resend with backoff (429: after Retry-After).
        assert!(started.elapsed() < Duration::from_millis(900), "no retry");
        let gets = audit
            .records()
            .into_iter()
            .filter(|r| r.resource == "verticalpodautoscalers" && r.verb == "get")
            .count();
        assert_eq!(gets, 1, "one request for one call ({code})");
    }
}

#[tokio::test]
async fn checkpoints_are_listed_in_pages_with_and_without_histograms() {
    use vpa_common::api::{
        VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointSpec,
        VerticalPodAutoscalerCheckpointStatus,
    };
    use vpa_recommender::apiserver::checkpoints::{LIST_PAGE, list_pages};
    use vpa_recommender::routines::checkpoints::CheckpointMeta;

    let c = hamster_sim_with(false).await;
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(c.client.clone(), NS);
    let count = LIST_PAGE as usize * 2 + 7;
    for i in 0..count {
        let mut object = VerticalPodAutoscalerCheckpoint::new(
            &format!("vpa-{i}-app"),
            VerticalPodAutoscalerCheckpointSpec {
                vpa_object_name: Some(format!("vpa-{i}")),
                container_name: Some("app".into()),
            },
        );
        object.status = Some(VerticalPodAutoscalerCheckpointStatus {
            version: Some("v3".into()),
            ..Default::default()
        });
        api.create(&PostParams::default(), &object).await.unwrap();
    }
    let mut pages = Vec::new();
    let listed = list_pages(
        &c.client,
        Some(NS),
        |page: Vec<VerticalPodAutoscalerCheckpoint>| {
            assert!(page.iter().all(|c| c.status.is_some()), "whole checkpoints");
            pages.push(page.len());
        },
    )
    .await
    .unwrap();
    assert_eq!(listed, count);
    assert_eq!(pages, [LIST_PAGE as usize, LIST_PAGE as usize, 7]);
    let mut vpas = std::collections::BTreeSet::new();
    list_pages(&c.client, None, |page: Vec<CheckpointMeta>| {
        vpas.extend(page.into_iter().filter_map(|c| c.spec.vpa_object_name));
    })
    .await
    .unwrap();
    assert_eq!(vpas.len(), count, "every checkpoint listed once");
}

#[tokio::test]
async fn a_checkpoint_that_does_not_decode_is_skipped_alone() {
    use kube::api::DynamicObject;
    use kube::discovery::ApiResource;
    use vpa_common::api::VerticalPodAutoscalerCheckpoint;
    use vpa_recommender::apiserver::checkpoints::list_pages;

    let c = hamster_sim_with(false).await;
    let resource = ApiResource::erase::<VerticalPodAutoscalerCheckpoint>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), NS, &resource);
    // Bucket indexes must be unsigned and weights numbers; the CRD schema lets both through.
    let weights = [
        json!({"1": 10000}),
        json!({"-4": 10}),
        json!({"1": "ten"}),
        json!({"2": 5}),
    ];
    for (i, buckets) in weights.iter().enumerate() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "autoscaling.k8s.io/v1",
            "kind": "VerticalPodAutoscalerCheckpoint",
            "metadata": {"name": format!("vpa-{i}-app")},
            "spec": {"vpaObjectName": format!("vpa-{i}"), "containerName": "app"},
            "status": {"version": "v3", "cpuHistogram": {"totalWeight": 1.0, "bucketWeights": buckets}},
        }))
        .unwrap();
        api.create(&PostParams::default(), &object).await.unwrap();
    }
    let mut names = Vec::new();
    let listed = list_pages(
        &c.client,
        Some(NS),
        |page: Vec<VerticalPodAutoscalerCheckpoint>| {
            names.extend(page.into_iter().filter_map(|c| c.metadata.name));
        },
    )
    .await
    .unwrap();
    assert_eq!(listed, 4, "all four listed");
    names.sort();
    assert_eq!(
        names,
        ["vpa-0-app", "vpa-3-app"],
        "the two readable ones handed over"
    );
}

#[tokio::test]
async fn get_chunks_hands_over_the_body_and_turns_error_statuses_into_api_errors() {
    use vpa_recommender::apiserver::raw::get_chunks;
    use vpa_recommender::input::list_items::ListItems;

    let c = hamster_sim_with(false).await;
    let mut body = Vec::new();
    let mut items = ListItems::new();
    let mut names = Vec::new();
    get_chunks(
        &c.client,
        &format!("/api/v1/namespaces/{NS}/pods"),
        |chunk| {
            body.extend_from_slice(chunk);
            items.push(chunk, |item| {
                let pod: serde_json::Value = serde_json::from_slice(item).unwrap();
                names.push(pod["metadata"]["name"].as_str().unwrap().to_string());
            });
        },
    )
    .await
    .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["kind"], "PodList");
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(names, listed, "the splitter finds the same items");
    assert_eq!(items.finish(), Ok(2));
    let missing = format!("/api/v1/namespaces/{NS}/pods/nope");
    match get_chunks(&c.client, &missing, |_| panic!("no body for an error")).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404, "{status:?}"),
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn checkpoint_writes_take_one_request_when_the_guess_is_right_and_recover_when_not() {
    use vpa_common::api::{
        HistogramCheckpoint, VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointSpec,
        VerticalPodAutoscalerCheckpointStatus,
    };
    use vpa_recommender::apiserver::checkpoints::write;

    let c = hamster_sim_with(false).await;
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(c.client.clone(), NS);
    let checkpoint = |total: f64| {
        let mut object = VerticalPodAutoscalerCheckpoint::new(
            "hamster-vpa-app",
            VerticalPodAutoscalerCheckpointSpec {
                vpa_object_name: Some("hamster-vpa".into()),
                container_name: Some("app".into()),
            },
        );
        object.metadata.namespace = Some(NS.into());
        object.status = Some(VerticalPodAutoscalerCheckpointStatus {
            version: Some("v3".into()),
            cpu_histogram: Some(HistogramCheckpoint {
                bucket_weights: Some([(3, 10_000)].into()),
                total_weight: Some(total),
                reference_timestamp: None,
            }),
            ..Default::default()
        });
        object
    };
    let checkpoint_verbs = |audit: &vpa_sim::AuditLog| -> Vec<String> {
        audit
            .records()
            .into_iter()
            .filter(|r| r.resource == "verticalpodautoscalercheckpoints")
            .map(|r| r.verb)
            .collect()
    };
    let stored_total = || async {
        let stored = api.get("hamster-vpa-app").await.unwrap();
        stored.status.unwrap().cpu_histogram.unwrap().total_weight
    };
    // (what the recommender believes, what is stored before) -> verbs sent, in order.
    let cases = [
        (false, false, vec!["create"], 1.0),
        (true, true, vec!["patch"], 2.0),
        (false, true, vec!["create", "patch"], 3.0),
    ];
    for (exists, stored_before, verbs, total) in cases {
        assert_eq!(
            api.get_opt("hamster-vpa-app").await.unwrap().is_some(),
            stored_before
        );
        let audit = c.sim.record_requests();
        write(&c.client, &checkpoint(total), exists).await.unwrap();
        assert_eq!(checkpoint_verbs(&audit), verbs, "believed exists={exists}");
        assert_eq!(stored_total().await, Some(total));
    }
    // Believed written, but deleted since: the patch's 404 leads to a create.
    api.delete("hamster-vpa-app", &Default::default())
        .await
        .unwrap();
    let audit = c.sim.record_requests();
    write(&c.client, &checkpoint(4.0), true).await.unwrap();
    assert_eq!(checkpoint_verbs(&audit), ["patch", "create"]);
    assert_eq!(stored_total().await, Some(4.0));
}

#[tokio::test]
async fn kube_api_qps_spaces_requests_to_the_api_server() {
    use vpa_common::client::{build, throttle_from_flags};

    let c = hamster_sim_with(false).await;
    let config = c.sim.config_for(c.sim.admin_token()).await.unwrap();
    // --kube-api-qps=20 --kube-api-burst=2: ten requests need at least (10 - 2) / 20 = 0.4 s.
    let throttle = throttle_from_flags(Some(20.0), 2);
    let client = build(config, throttle).unwrap();
    let api: Api<VerticalPodAutoscaler> = Api::namespaced(client, NS);
    let audit = c.sim.record_requests();
    let started = tokio::time::Instant::now();
    let gets = (0..10).map(|_| api.get("hamster-vpa"));
    for result in futures::future::join_all(gets).await {
        assert_eq!(
            result.unwrap().metadata.name.as_deref(),
            Some("hamster-vpa")
        );
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(390),
        "10 requests in {took:?}"
    );
    let served = audit
        .records()
        .into_iter()
        .filter(|r| r.resource == "verticalpodautoscalers" && r.verb == "get")
        .count();
    assert_eq!(served, 10, "every request waited, none was dropped");
}
