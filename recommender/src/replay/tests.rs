use super::*;
use crate::model::{DAY, HistogramOptions, MINUTE};

const T0: Timestamp = 1_795_132_800;
const MIB: f64 = 1024.0 * 1024.0;

fn row(t: Timestamp, pod: &str, container: &str, cores: f64, bytes: f64) -> SampleRow {
    SampleRow {
        line: 0,
        timestamp: t,
        namespace: "default".into(),
        workload: "web".into(),
        pod: pod.into(),
        container: container.into(),
        cpu_cores: cores,
        memory_bytes: bytes,
        oom: false,
    }
}

fn run_default(rows: Vec<SampleRow>, now: Option<Timestamp>) -> Vec<WorkloadRecommendation> {
    replay(
        rows,
        now,
        &AggregationsConfig::default(),
        &RecommenderConfig::default(),
    )
}

fn steady(minutes: i64, cores: f64, bytes: f64) -> Vec<SampleRow> {
    (0..minutes)
        .map(|i| row(T0 + i * MINUTE, "web-1", "app", cores, bytes))
        .collect()
}

fn upper_edge(options: &HistogramOptions, value: f64) -> f64 {
    options.bucket_start(options.find_bucket(value) + 1)
}

#[test]
fn steady_usage_gives_the_bucket_edge_plus_margin() {
    let r = run_default(steady(60, 0.5, 400.0 * MIB), None);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].target.cpu, Some(587));
    let memory = upper_edge(HistogramOptions::memory(), 400.0 * MIB) as i64;
    assert_eq!(
        r[0].target.memory,
        Some(memory + (memory as f64 * 0.15) as i64)
    );
    assert_eq!(r[0].uncapped_target, r[0].target);
}

#[test]
fn rows_apply_in_time_order_with_ties_in_file_order() {
    let rows = vec![
        row(T0 + MINUTE, "web-1", "app", 0.5, 400.0 * MIB),
        row(T0, "web-1", "app", 0.5, 400.0 * MIB),
        // Same time as the previous CPU sample: dropped as a duplicate.
        row(T0 + MINUTE, "web-1", "app", 20.0, 400.0 * MIB),
    ];
    let r = run_default(rows, None);
    assert_eq!(r[0].target.cpu, Some(587));
}

#[test]
fn rows_after_now_are_ignored() {
    let mut rows = steady(60, 0.5, 400.0 * MIB);
    rows.push(row(T0 + DAY, "web-1", "app", 20.0, 400.0 * MIB));
    let r = run_default(rows, Some(T0 + 59 * MINUTE));
    assert_eq!(r[0].target.cpu, Some(587));
}

#[test]
fn containers_without_samples_for_eight_days_expire() {
    let mut rows = steady(60, 0.5, 400.0 * MIB);
    rows.push(row(T0 + 30 * MINUTE, "web-1", "sidecar", 0.1, 50.0 * MIB));
    rows.push(row(
        T0 + 8 * DAY + 59 * MINUTE,
        "web-2",
        "late",
        0.1,
        50.0 * MIB,
    ));
    // At the last row, the first two containers have had no sample for eight days.
    let r = run_default(rows.clone(), None);
    let names: Vec<_> = r.iter().map(|r| r.container.as_str()).collect();
    assert_eq!(names, ["late"]);
    // Half an hour earlier they are alive (and "late" is in the future), splitting the minimum.
    let r = run_default(rows, Some(T0 + 8 * DAY + 29 * MINUTE));
    let names: Vec<_> = r.iter().map(|r| r.container.as_str()).collect();
    assert_eq!(names, ["app", "sidecar"]);
    assert_eq!(r[1].target.memory, Some(125 * 1024 * 1024));
}

#[test]
fn oom_rows_bump_memory() {
    let mut rows = steady(60, 0.5, 400.0 * MIB);
    let mut oom = row(T0 + 30 * MINUTE, "web-1", "app", 0.5, 500.0 * MIB);
    oom.oom = true;
    rows.push(oom);
    let r = run_default(rows, None);
    // The OOM sample, 600 MiB, is now the only peak of the window.
    let memory = upper_edge(HistogramOptions::memory(), 600.0 * MIB) as i64;
    assert_eq!(
        r[0].target.memory,
        Some(memory + (memory as f64 * 0.15) as i64)
    );
}

#[test]
fn output_is_sorted_and_rendered() {
    let mut rows = steady(10, 0.5, 400.0 * MIB);
    rows.push(SampleRow {
        namespace: "alpha".into(),
        ..row(T0, "a-1", "z", 0.001, 1.0)
    });
    let r = run_default(rows, None);
    let names: Vec<_> = r
        .iter()
        .map(|r| (r.namespace.as_str(), r.container.as_str()))
        .collect();
    assert_eq!(names, [("alpha", "z"), ("default", "app")]);
    let json: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(
        json[0]["target"],
        serde_json::json!({"cpu": "25m", "memory": "262144000"})
    );
    assert_eq!(json[1]["workload"], "web");
    assert!(
        json[1]["lowerBound"]["cpu"]
            .as_str()
            .unwrap()
            .ends_with('m')
    );
    let table = render_table(&r);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE  WORKLOAD  CONTAINER  TARGET"));
    assert!(lines[1].starts_with("alpha"));
    assert!(lines[1].contains("25m / 250Mi"));
    assert_eq!(render_json(&[]), "[]");
}
