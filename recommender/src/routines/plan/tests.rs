use std::collections::BTreeMap;
use std::sync::Arc;

use vpa_common::api::{ContainerScalingMode, VerticalPodAutoscaler};
use vpa_common::resources::{CPU, MEMORY};
use vpa_common::testutil::VpaBuilder;

use super::*;
use crate::config::stored_status::StoredStatus;
use crate::input::snapshot::{PodInfo, VpaTarget};
use crate::logic::RecommenderConfig;
use crate::model::{AggregationsConfig, ContainerId, ContainerUsageSample, Resource};

const T0: Timestamp = 1_795_132_800;

fn selector() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
    vpa_common::matching::selector_from_labels(&BTreeMap::from([(
        "app".to_string(),
        "web".to_string(),
    )]))
}

/// Two pods of Deployment `web`, each with containers `app` and `sidecar`, sampled every minute
/// for an hour: `app` at 500m and 200Mi, `sidecar` at 10m and 20Mi.
fn cluster() -> ClusterState {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    for minute in 0..60 {
        for pod in ["web-1", "web-2"] {
            for (container, cpu, memory) in [("app", 500, 200 << 20), ("sidecar", 10, 20 << 20)] {
                let id = ContainerId {
                    namespace: "ns".into(),
                    pod: pod.into(),
                    container: container.into(),
                };
                for (resource, usage) in [(Resource::Cpu, cpu), (Resource::Memory, memory)] {
                    let sample = ContainerUsageSample {
                        measure_start: T0 + minute * 60,
                        usage,
                        resource,
                    };
                    cluster.add_sample(&id, "Deployment/web", &sample);
                }
            }
        }
    }
    cluster
}

fn snapshot(vpa: VerticalPodAutoscaler, target: Result<VpaTarget, String>) -> Snapshot {
    let pod = |name: &str| {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]).into();
        PodInfo::for_test(
            "ns",
            name,
            labels,
            Some("Deployment/web"),
            &["app", "sidecar"],
        )
    };
    Snapshot {
        now: T0 + 3600,
        vpas: vec![VpaInfo {
            status: vpa.status.as_ref().map(|s| Arc::new(StoredStatus::of(s))),
            vpa: Arc::new(vpa),
            target,
        }],
        pods: ["web-1", "web-2"].map(pod).into_iter().collect(),
    }
}

fn web() -> Result<VpaTarget, String> {
    Ok(VpaTarget {
        workload: "Deployment/web".into(),
        selector: selector().into(),
    })
}

fn plan_of(snapshot: &Snapshot, output: &OutputConfig) -> VpaPlan {
    let recommender = PodResourceRecommender::new(&RecommenderConfig::default());
    let ctx = PlanContext {
        recommender: &recommender,
        output,
        confidence_interval: 86_400,
        fetching_history: None,
    };
    plan(snapshot, &cluster(), ctx).remove(0)
}

fn exact() -> OutputConfig {
    OutputConfig {
        round_cpu_millicores: 1,
        round_memory_bytes: 1,
        ..OutputConfig::default()
    }
}

fn condition<'a>(plan: &'a VpaPlan, type_: &str) -> Option<&'a str> {
    plan.status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

#[test]
fn recommendation_is_usage_plus_margin_at_the_bucket_edge_for_every_container() {
    let s = snapshot(VpaBuilder::new("ns", "web-vpa").build(), web());
    let p = plan_of(&s, &exact());
    assert!(p.write && p.first_recommendation);
    assert_eq!(p.matched_pods, 2);
    let names: Vec<&str> = p
        .recommendations
        .iter()
        .map(|r| r.container_name.as_str())
        .collect();
    assert_eq!(names, ["app", "sidecar"]);
    let cpu = p.recommendations[0].target[CPU];
    // 0.5 cores lands in a bucket whose upper edge is a little above 0.5; plus 15 %.
    assert!((575..=610).contains(&cpu), "cpu target {cpu}m");
    let memory = p.recommendations[0].target[MEMORY];
    assert!(
        ((200 << 20) * 115 / 100..(200 << 20) * 125 / 100).contains(&memory),
        "memory {memory}"
    );
    assert_eq!(condition(&p, "RecommendationProvided"), Some("True"));
    assert_eq!(
        condition(&p, "LowConfidence"),
        Some("True"),
        "an hour of history"
    );
}

#[test]
fn policy_caps_bounds_and_off_containers_get_nothing() {
    let vpa = VpaBuilder::new("ns", "web-vpa")
        .container("app")
        .max_allowed("300m", "")
        .container("sidecar")
        .container_mode(ContainerScalingMode::Off)
        .build();
    let p = plan_of(&snapshot(vpa, web()), &exact());
    assert_eq!(p.recommendations.len(), 1);
    let app = &p.recommendations[0];
    assert_eq!(app.target[CPU], 300);
    assert!(
        app.uncapped_target[CPU] > 300,
        "uncapped target stays uncapped"
    );
}

#[test]
fn global_maximum_caps_resources_the_policy_leaves_out_after_rounding() {
    let output = OutputConfig {
        global_max_allowed: [(MEMORY.to_string(), 100 << 20)].into(),
        round_cpu_millicores: 100,
        round_memory_bytes: 1 << 20,
        integer_cpu: false,
    };
    let p = plan_of(
        &snapshot(VpaBuilder::new("ns", "web-vpa").build(), web()),
        &output,
    );
    let app = &p.recommendations[0];
    assert_eq!(app.target[MEMORY], 100 << 20);
    assert_eq!(app.target[CPU] % 100, 0);
}

#[test]
fn integer_cpu_annotation_rounds_to_whole_cores_when_enabled() {
    let vpa = VpaBuilder::new("ns", "web-vpa")
        .annotation(
            &vpa_common::postprocess::integer_cpu_annotation("app"),
            "true",
        )
        .build();
    let output = OutputConfig {
        integer_cpu: true,
        ..exact()
    };
    let p = plan_of(&snapshot(vpa, web()), &output);
    assert_eq!(p.recommendations[0].target[CPU], 1000);
}

#[test]
fn unresolvable_target_is_config_unsupported_without_recommendation() {
    let s = snapshot(
        VpaBuilder::new("ns", "web-vpa").build(),
        Err("Deployment ns/web not found".into()),
    );
    let p = plan_of(&s, &exact());
    assert!(p.unsupported && p.recommendations.is_empty());
    assert_eq!(condition(&p, "ConfigUnsupported"), Some("True"));
    assert_eq!(condition(&p, "NoPodsMatched"), Some("True"));
}

#[test]
fn unchanged_status_is_not_written_again() {
    let first = plan_of(
        &snapshot(VpaBuilder::new("ns", "web-vpa").build(), web()),
        &exact(),
    );
    let mut stored = VpaBuilder::new("ns", "web-vpa").build();
    stored.status = Some(first.status.clone());
    let second = plan_of(&snapshot(stored, web()), &exact());
    assert!(!second.write && !second.first_recommendation);
}

#[test]
fn checkpoints_are_named_after_vpa_and_container() {
    let p = plan_of(
        &snapshot(VpaBuilder::new("ns", "web-vpa").build(), web()),
        &exact(),
    );
    let cluster = cluster();
    let objects = checkpoints_of(
        &PlanSummary::from(p),
        &cluster,
        &cluster.containers_by_aggregate(),
        T0 + 3600,
    );
    let names: Vec<&str> = objects
        .iter()
        .filter_map(|c| c.metadata.name.as_deref())
        .collect();
    assert_eq!(names, ["web-vpa-app", "web-vpa-sidecar"]);
    let status = objects[0].status.as_ref().unwrap();
    assert_eq!(status.version.as_deref(), Some("v3"));
    assert_eq!(status.total_samples_count, Some(120));
}
