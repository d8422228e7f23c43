//! Quality bookkeeping: what is tracked for a loop, samples against it, and recommendation
//! changes between loops.

use vpa_common::api::{ContainerScalingMode, UpdateMode, VerticalPodAutoscalerStatus};
use vpa_common::capping::ContainerRecommendation;
use vpa_common::testutil::VpaBuilder;

use super::*;
use crate::input::snapshot::VpaTarget;

fn key(container: &str) -> AggregateKey {
    AggregateKey {
        namespace: "ns".into(),
        workload: "Deployment/web".into(),
        container: container.into(),
    }
}

fn plan(uncapped: &[(&str, i64, i64)], containers: &[&str], pods: usize) -> VpaPlan {
    VpaPlan {
        namespace: "ns".into(),
        name: "web-vpa".into(),
        status: VerticalPodAutoscalerStatus::default(),
        write: false,
        first_recommendation: false,
        recommendations: uncapped
            .iter()
            .map(|(name, cpu, memory)| ContainerRecommendation {
                container_name: name.to_string(),
                target: Amounts::default(),
                lower_bound: Amounts::default(),
                upper_bound: Amounts::default(),
                uncapped_target: [(CPU.to_string(), *cpu), (MEMORY.to_string(), *memory)].into(),
            })
            .collect(),
        matched_pods: pods,
        unsupported: false,
        aggregates: containers.iter().map(|c| key(c)).collect(),
    }
}

fn vpa() -> VerticalPodAutoscaler {
    VpaBuilder::new("ns", "web-vpa")
        .mode(UpdateMode::Recreate)
        .container("off")
        .container_mode(ContainerScalingMode::Off)
        .build()
}

fn snapshot() -> Snapshot {
    Snapshot {
        vpas: vec![VpaInfo {
            vpa: Arc::new(vpa()),
            status: None,
            target: Ok(VpaTarget {
                workload: "Deployment/web".into(),
                selector: Default::default(),
            }),
        }],
        ..Snapshot::default()
    }
}

#[test]
fn containers_of_vpa_targets_are_tracked_with_the_last_uncapped_target() {
    let mut memory = RecommendationMemory::default();
    memory.remember(&plan(
        &[("app", 250, 100 << 20)],
        &["app", "fresh", "off"],
        2,
    ));
    let snapshot = snapshot();
    let targets = QualityTargets::new(&snapshot, &memory);
    let app = targets.get("ns", "Deployment/web", "app").unwrap();
    assert_eq!(app.update_mode, "Recreate");
    assert_eq!(
        (app.cpu_millicores, app.memory_bytes),
        (Some(250), Some(100 << 20))
    );
    let fresh = targets
        .get("ns", "Deployment/web", "fresh")
        .expect("tracked before its first recommendation");
    assert_eq!((fresh.cpu_millicores, fresh.memory_bytes), (None, None));
    assert!(targets.get("ns", "Deployment/web", "off").is_none());
    assert!(targets.get("ns", "Deployment/other", "app").is_none());

    let cpu = app.sample(Resource::Cpu, 500, false);
    assert_eq!((cpu.usage, cpu.recommendation), (0.5, Some(0.25)));
    let oom = fresh.sample(Resource::Memory, 1 << 30, true);
    assert_eq!(
        (oom.usage, oom.recommendation, oom.is_oom),
        ((1 << 30) as f64, None, true)
    );
}

#[test]
fn changes_compare_with_the_previous_loop_and_skip_new_containers() {
    let mut previous = RecommendationMemory::default();
    previous.remember(&plan(&[("app", 200, 100)], &["app", "fresh"], 5));
    let now = plan(
        &[("app", 300, 100), ("fresh", 50, 50)],
        &["app", "fresh"],
        5,
    );
    let found = changes(&previous, &now, &vpa());
    let relative: Vec<(&str, f64)> = found.iter().map(|c| (c.resource, c.relative)).collect();
    assert_eq!(relative, [(CPU, 0.5), (MEMORY, 0.0)]);
    assert!(
        found
            .iter()
            .all(|c| c.vpa_size_log2 == 2 && c.update_mode == "Recreate")
    );
    assert!(changes(&RecommendationMemory::default(), &now, &vpa()).is_empty());
}
