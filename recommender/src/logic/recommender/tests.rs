use proptest::prelude::*;

use super::*;
use crate::logic::ConstEstimator;
use crate::model::{
    AggregationsConfig, ContainerStateAggregator, ContainerUsageSample, HistogramOptions, MINUTE,
    Timestamp,
};

const T0: Timestamp = 1_795_132_800;
const MIB: i64 = 1024 * 1024;

/// An aggregate with one CPU sample, so it counts as having history.
fn state() -> AggregateContainerState {
    let mut s = AggregateContainerState::new(&AggregationsConfig::default(), T0);
    s.add_sample(&cpu(T0, 1));
    s
}

fn cpu(t: Timestamp, millicores: i64) -> ContainerUsageSample {
    ContainerUsageSample {
        measure_start: t,
        usage: millicores,
        resource: Resource::Cpu,
    }
}

fn tiny() -> PodResourceRecommender<ConstEstimator, ConstEstimator, ConstEstimator> {
    let tiny = ConstEstimator(Resources {
        cpu: cpu_amount_from_cores(0.001),
        memory: memory_amount_from_bytes(1e6),
    });
    let config = RecommenderConfig::default();
    PodResourceRecommender {
        target: tiny,
        lower_bound: tiny,
        upper_bound: tiny,
        pod_min_cpu_millicores: config.pod_min_cpu_millicores,
        pod_min_memory_mb: config.pod_min_memory_mb,
    }
}

fn input<'a>(name: &'a str, state: &'a AggregateContainerState) -> ContainerInput<'a> {
    ContainerInput {
        name,
        state,
        controlled: ControlledResources::default(),
    }
}

#[test]
fn pod_minimum_applies_to_a_single_container() {
    let s = state();
    let r = tiny().recommend(&[input("container-1", &s)]);
    let want = RecommendedResources {
        cpu: Some(25),
        memory: Some(250 * MIB),
    };
    assert_eq!(r[0].target, want);
    assert_eq!(r[0].lower_bound, want);
    assert_eq!(r[0].upper_bound, want);
    assert_eq!(r[0].uncapped_target, want);
}

#[test]
fn pod_minimum_is_split_across_containers() {
    let (a, b) = (state(), state());
    let r = tiny().recommend(&[input("container-1", &a), input("container-2", &b)]);
    for rec in &r {
        assert_eq!(rec.target.cpu, Some(12));
        assert_eq!(rec.target.memory, Some(125 * MIB));
    }
}

#[test]
fn containers_without_samples_are_skipped_and_do_not_share_the_minimum() {
    let (a, empty) = (
        state(),
        AggregateContainerState::new(&AggregationsConfig::default(), T0),
    );
    let r = tiny().recommend(&[input("app", &a), input("idle", &empty)]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].name, "app");
    assert_eq!(r[0].target.cpu, Some(25));
    assert!(tiny().recommend(&[input("idle", &empty)]).is_empty());
}

#[test]
fn only_controlled_resources_are_recommended() {
    let s = state();
    let c = ContainerInput {
        controlled: ControlledResources::from_names(["memory"]),
        ..input("container-1", &s)
    };
    let r = tiny().recommend(&[c]);
    for resources in [r[0].target, r[0].lower_bound, r[0].upper_bound] {
        assert_eq!(resources.cpu, None);
        assert!(resources.memory.is_some());
    }
    assert_eq!(
        r[0].target.to_amounts().keys().collect::<Vec<_>>(),
        ["memory"]
    );
}

#[test]
fn default_pipeline_on_steady_usage() {
    // Half a core and 400 MiB, one sample a minute for exactly two days: confidence 2.
    let config = AggregationsConfig::default();
    let mut s = AggregateContainerState::new(&config, T0);
    for i in 0..=2 * 1440 {
        let t = T0 + i * MINUTE;
        s.add_sample(&cpu(t, 500));
    }
    s.memory_peaks.add_sample((400 * MIB) as f64, 1.0, T0);
    let recommender = PodResourceRecommender::new(&RecommenderConfig::default());
    let r = recommender.recommend(&[input("app", &s)]);

    let edge = |o: &HistogramOptions, v: f64| o.bucket_start(o.find_bucket(v) + 1);
    let cpu_base = (edge(HistogramOptions::cpu(), 0.5) * 1000.0) as i64;
    let cpu_target = cpu_base + (cpu_base as f64 * 0.15) as i64;
    assert_eq!(cpu_target, 587);
    let mem_base = edge(HistogramOptions::memory(), (400 * MIB) as f64) as i64;
    let mem_target = mem_base + (mem_base as f64 * 0.15) as i64;
    assert_eq!(
        r[0].target,
        RecommendedResources {
            cpu: Some(cpu_target),
            memory: Some(mem_target)
        }
    );
    // Upper bound × (1 + 1/2); lower bound × (1 + 0.001/2)^-2.
    let upper = |a: i64| (a as f64 * 1.5) as i64;
    assert_eq!(r[0].upper_bound.cpu, Some(upper(cpu_target)));
    assert_eq!(r[0].upper_bound.memory, Some(upper(mem_target)));
    let lower = |a: i64| (a as f64 / (1.0005 * 1.0005)) as i64;
    assert_eq!(r[0].lower_bound.cpu, Some(lower(cpu_target)));
    assert_eq!(r[0].lower_bound.memory, Some(lower(mem_target)));
}

proptest! {
    #[test]
    fn bounds_bracket_the_target_and_respect_the_minimum(
        samples in prop::collection::vec((0i64..50_000, 0i64..20_000_000_000, 0i64..600), 1..80),
        containers in 1usize..4,
    ) {
        let config = AggregationsConfig::default();
        let mut s = AggregateContainerState::new(&config, T0);
        let mut t = T0;
        for (millicores, bytes, step) in samples {
            t += step;
            s.add_sample(&cpu(t, millicores));
            s.add_sample(&ContainerUsageSample { measure_start: t, usage: bytes, resource: Resource::Memory });
        }
        let recommender = PodResourceRecommender::new(&RecommenderConfig::default());
        let names = ["a", "b", "c"];
        let inputs: Vec<_> = names[..containers].iter().map(|n| input(n, &s)).collect();
        let min = recommender.min_resources(containers);
        for r in recommender.recommend(&inputs) {
            for resource in [Resource::Cpu, Resource::Memory] {
                let (lower, target, upper) = (
                    r.lower_bound.get(resource).unwrap(),
                    r.target.get(resource).unwrap(),
                    r.upper_bound.get(resource).unwrap(),
                );
                prop_assert!(lower <= target && target <= upper, "{resource:?}: {lower} {target} {upper}");
                prop_assert!(lower >= min.get(resource));
            }
        }
    }
}
