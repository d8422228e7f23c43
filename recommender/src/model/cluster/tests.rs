//! The model's aggregates and instances: sharing, garbage collection, per-VPA settings.
use super::*;
use crate::model::types::{DAY, Resource};

const T0: Timestamp = 1_795_132_800;

fn id(pod: &str) -> ContainerId {
    ContainerId {
        namespace: "default".into(),
        pod: pod.into(),
        container: "app".into(),
    }
}

fn cpu(t: Timestamp) -> ContainerUsageSample {
    ContainerUsageSample {
        measure_start: t,
        usage: 500,
        resource: Resource::Cpu,
    }
}

#[test]
fn pods_of_a_workload_share_one_aggregate() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    assert!(cluster.add_sample(&id("web-1"), "web", &cpu(T0)));
    assert!(cluster.add_sample(&id("web-2"), "web", &cpu(T0)));
    assert!(
        !cluster.add_sample(&id("web-2"), "web", &cpu(T0)),
        "duplicate"
    );
    assert_eq!(cluster.aggregates().len(), 1);
    let key = AggregateKey {
        namespace: "default".into(),
        workload: "web".into(),
        container: "app".into(),
    };
    assert_eq!(cluster.aggregates()[&key].total_samples_count, 2);
    assert_eq!(cluster.containers_of(&key).count(), 2);
}

#[test]
fn instances_and_aggregates_of_a_workload_share_its_name() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    let restored = AggregateKey {
        namespace: "default".into(),
        workload: "web".into(),
        container: "sidecar".into(),
    };
    let state = AggregateContainerState::new(cluster.config(), T0);
    cluster.restore(restored, &state);
    cluster.add_sample(&id("web-1"), "web", &cpu(T0));
    cluster.add_sample(&id("web-2"), "web", &cpu(T0));
    let names: Vec<&Arc<str>> = cluster
        .instances
        .values()
        .map(|i| &i.workload)
        .chain(cluster.aggregates.keys().map(|k| &k.workload))
        .collect();
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| Arc::ptr_eq(n, names[0])));
    let by_aggregate = cluster.containers_by_aggregate();
    assert_eq!(
        by_aggregate.len(),
        1,
        "the restored aggregate has no instance"
    );
    assert_eq!(by_aggregate.values().next().unwrap().len(), 2);
}

#[test]
fn garbage_collection_drops_expired_aggregates_and_their_instances() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    cluster.add_sample(&id("old-1"), "old", &cpu(T0));
    cluster.add_sample(&id("new-1"), "new", &cpu(T0 + 5 * DAY));
    let removed = cluster.garbage_collect(T0 + 8 * DAY);
    assert_eq!(removed.len(), 1);
    assert_eq!(&*removed[0].workload, "old");
    assert!(cluster.container(&id("old-1")).is_none());
    assert!(cluster.container(&id("new-1")).is_some());
    let names: Vec<&str> = cluster.workloads.iter().map(|w| &**w).collect();
    assert_eq!(names, ["new"], "the collected workload's name is forgotten");
}

fn key(workload: &str) -> AggregateKey {
    AggregateKey {
        namespace: "default".into(),
        workload: workload.into(),
        container: "app".into(),
    }
}

/// `web`'s `app` container with these per-VPA settings.
fn web_overrides(overrides: AggregationOverrides) -> WorkloadOverrides {
    let mut all = WorkloadOverrides::default();
    all.insert(
        "default",
        "web",
        crate::model::ContainerOverrides {
            named: [("app".to_string(), overrides)].into(),
            wildcard: None,
        },
    );
    all
}

use crate::model::config::AggregationOverrides;

const GIB: i64 = 1 << 30;

#[test]
fn per_vpa_oom_bump_applies_to_its_workload_only() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    cluster.set_overrides(web_overrides(AggregationOverrides {
        oom_bump_up_ratio: Some(3.0),
        oom_min_bump_up_bytes: Some(0.0),
        ..Default::default()
    }));
    cluster.record_oom(&id("web-1"), "web", T0, GIB).unwrap();
    cluster.record_oom(&id("db-1"), "db", T0, GIB).unwrap();
    let peak = |w: &str| cluster.aggregates()[&key(w)].memory_peaks.percentile(1.0);
    // Percentiles report the upper edge of a 5%-wide bucket.
    let (web, db) = (peak("web") / GIB as f64, peak("db") / GIB as f64);
    assert!((3.0..3.2).contains(&web), "3 × 1 GiB, got {web} GiB");
    assert!(
        (1.2..1.3).contains(&db),
        "the flag's 1.2 × 1 GiB, got {db} GiB"
    );
}

#[test]
fn per_vpa_memory_interval_sets_the_window_and_the_count_the_expiry() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    cluster.set_overrides(web_overrides(AggregationOverrides {
        memory_aggregation_interval: Some(3600),
        memory_aggregation_interval_count: Some(2),
        ..Default::default()
    }));
    let memory = |t| ContainerUsageSample {
        measure_start: t,
        usage: 100 << 20,
        resource: Resource::Memory,
    };
    for (pod, workload) in [("web-1", "web"), ("db-1", "db")] {
        assert!(cluster.add_sample(&id(pod), workload, &memory(T0)));
        assert!(cluster.add_sample(&id(pod), workload, &cpu(T0)));
    }
    let window_end = |pod| cluster.container(&id(pod)).unwrap().window_end();
    assert_eq!(window_end("web-1"), Some(T0 + 3600));
    assert_eq!(window_end("db-1"), Some(T0 + DAY));
    // Interval × count: 2 hours for web, the flags' 8 days for db.
    let removed = cluster.garbage_collect(T0 + 2 * 3600);
    assert_eq!(removed, [key("web")]);
    assert!(cluster.aggregates().contains_key(&key("db")));
}

#[test]
fn without_overrides_every_aggregate_follows_the_flags() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    cluster.set_overrides(web_overrides(AggregationOverrides::default()));
    assert_eq!(
        cluster.config_for("default", "web", "app"),
        *cluster.config()
    );
    cluster.set_overrides(web_overrides(AggregationOverrides {
        oom_bump_up_ratio: Some(2.0),
        ..Default::default()
    }));
    assert_eq!(
        cluster
            .config_for("default", "web", "app")
            .oom_bump_up_ratio,
        2.0
    );
    assert_eq!(
        cluster.config_for("default", "web", "sidecar"),
        *cluster.config()
    );
    cluster.set_overrides(WorkloadOverrides::default());
    assert_eq!(
        cluster.config_for("default", "web", "app"),
        *cluster.config()
    );
}

#[test]
fn history_weight_sums_every_aggregates_histograms() {
    let mut cluster = ClusterState::new(AggregationsConfig::default());
    assert_eq!(cluster.history_weight(), HistoryWeight::default());
    cluster.add_sample(&id("web-1"), "web", &cpu(T0));
    cluster.add_sample(&id("web-1"), "web", &cpu(T0 + 60));
    cluster.add_sample(&id("db-1"), "db", &cpu(T0));
    let weight = cluster.history_weight();
    // Three CPU samples of 0.1 each, at the reference time (no decay yet); no memory peak.
    assert!((weight.cpu - 0.3).abs() < 1e-3, "{weight:?}");
    assert_eq!(weight.memory, 0.0);
    cluster.add_sample(
        &id("db-1"),
        "db",
        &ContainerUsageSample {
            measure_start: T0,
            usage: 64 << 20,
            resource: Resource::Memory,
        },
    );
    assert!(cluster.history_weight().memory > 0.0);
    let web = AggregateKey {
        namespace: "default".into(),
        workload: "web".into(),
        container: "app".into(),
    };
    let only_web = cluster.history_weight_of([&web, &web]);
    assert!(
        (only_web.cpu - 0.2).abs() < 1e-3,
        "counted once: {only_web:?}"
    );
    assert_eq!(only_web.memory, 0.0);
}
