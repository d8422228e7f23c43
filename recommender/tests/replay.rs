//! End-to-end tests of `vpa-recommender replay`: the real binary on CSV files, with expected
//! values computed here from the formulas, independently of the engine's code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vpa-recommender");
const HEADER: &str = "timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes";
const MIB: f64 = 1024.0 * 1024.0;
/// 2026-11-20T00:00:00Z.
const T0: i64 = 1_795_132_800;

fn vpa_recommender(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run vpa-recommender")
}

fn replay_json(samples: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "replay",
        "--samples",
        samples.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = vpa_recommender(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn write_csv(dir: &tempfile::TempDir, name: &str, rows: &[String]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    path
}

fn row(t: i64, workload: &str, pod: &str, container: &str, cores: f64, bytes: f64) -> String {
    format!("{t},default,{workload},{pod},{container},{cores},{bytes}")
}

/// Millicores in a JSON quantity like "587m".
fn millis(v: &Value) -> i64 {
    v.as_str()
        .unwrap()
        .strip_suffix('m')
        .unwrap()
        .parse()
        .unwrap()
}

/// Bytes in a JSON quantity like "262144000".
fn bytes(v: &Value) -> i64 {
    v.as_str().unwrap().parse().unwrap()
}

/// Upper edge of the exponential bucket holding `value`: buckets start at
/// `first × (1.05ⁿ − 1) / 0.05`.
fn bucket_upper_edge(value: f64, first: f64) -> f64 {
    let ratio: f64 = 1.05;
    let n = ((value * (ratio - 1.0) / first + 1.0).ln() / ratio.ln()).floor() as i32;
    first * (ratio.powi(n + 1) - 1.0) / (ratio - 1.0)
}

fn plus_margin(amount: i64) -> i64 {
    amount + (amount as f64 * 0.15) as i64
}

#[test]
fn constant_usage_gives_bucket_edge_plus_margin_and_confidence_bounds() {
    // One sample a minute for exactly two days: confidence 2.
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..=2 * 1440)
        .map(|i| row(T0 + 60 * i, "web", "web-1", "app", 0.5, 400.0 * MIB))
        .collect();
    let out = replay_json(&write_csv(&dir, "steady.csv", &rows), &[]);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(
        (
            r["namespace"].as_str(),
            r["workload"].as_str(),
            r["container"].as_str()
        ),
        (Some("default"), Some("web"), Some("app"))
    );

    let cpu = plus_margin((bucket_upper_edge(0.5, 0.01) * 1000.0) as i64);
    let memory = plus_margin(bucket_upper_edge(400.0 * MIB, 1e7) as i64);
    assert_eq!(cpu, 587);
    assert_eq!(millis(&r["target"]["cpu"]), cpu);
    assert_eq!(bytes(&r["target"]["memory"]), memory);
    assert_eq!(r["uncappedTarget"], r["target"]);
    // Upper bound × (1 + 1/2), lower bound × (1 + 0.001/2)⁻².
    assert_eq!(millis(&r["upperBound"]["cpu"]), (cpu as f64 * 1.5) as i64);
    assert_eq!(
        bytes(&r["upperBound"]["memory"]),
        (memory as f64 * 1.5) as i64
    );
    let lower = |a: i64| (a as f64 / 1.0005f64.powi(2)) as i64;
    assert_eq!(millis(&r["lowerBound"]["cpu"]), lower(cpu));
    assert_eq!(bytes(&r["lowerBound"]["memory"]), lower(memory));
}

#[test]
fn pod_minimum_is_split_across_the_workload_containers() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(T0, "web", "web-1", "app", 0.001, 1e6),
        row(T0, "web", "web-1", "sidecar", 0.001, 1e6),
        row(T0, "solo", "solo-1", "app", 0.001, 1e6),
    ];
    let out = replay_json(&write_csv(&dir, "tiny.csv", &rows), &[]);
    let summary: Vec<(&str, &str, i64, i64)> = out
        .iter()
        .map(|r| {
            (
                r["workload"].as_str().unwrap(),
                r["container"].as_str().unwrap(),
                millis(&r["target"]["cpu"]),
                bytes(&r["target"]["memory"]),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("solo", "app", 25, 250 * 1024 * 1024),
            ("web", "app", 12, 125 * 1024 * 1024),
            ("web", "sidecar", 12, 125 * 1024 * 1024),
        ]
    );
}

#[test]
fn now_ignores_later_rows_and_expires_idle_containers() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(T0, "web", "web-1", "app", 0.5, 400.0 * MIB),
        row(T0 + 86_400, "web", "web-1", "app", 8.0, 400.0 * MIB),
    ];
    let path = write_csv(&dir, "later.csv", &rows);
    let out = replay_json(&path, &["--now", "2026-11-20T12:00:00Z"]);
    assert_eq!(millis(&out[0]["target"]["cpu"]), 587);
    let out = replay_json(&path, &["--now", &(T0 + 9 * 86_400).to_string()]);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn bad_rows_are_reported_with_line_numbers_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(T0, "web", "web-1", "app", 0.5, 400.0 * MIB),
        "not-a-time,default,web,web-1,app,0.5,1".to_owned(),
        row(T0 + 60, "web", "web-1", "app", 0.5, 400.0 * MIB),
        format!("{},default,web,web-1,app,lots,1", T0 + 120),
    ];
    let path = write_csv(&dir, "bad.csv", &rows);
    let out = vpa_recommender(&[
        "replay",
        "--samples",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("line 3:") && stderr.contains("timestamp"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5:") && stderr.contains("cpu_cores"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(millis(&json[0]["target"]["cpu"]), 587);
}

#[test]
fn unreadable_file_exits_with_status_2() {
    let out = vpa_recommender(&["replay", "--samples", "/nonexistent/samples.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot read samples file /nonexistent/samples.csv"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-header.csv");
    std::fs::write(&path, "time,cpu\n1,2\n").unwrap();
    let out = vpa_recommender(&["replay", "--samples", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("header has no \"timestamp\" column")
    );
}

#[test]
fn hamster_sample_gives_plausible_recommendations() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/samples/hamster.csv");
    let out = replay_json(&path, &[]);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r["container"], "hamster");
    let cpu = |k: &str| millis(&r[k]["cpu"]);
    let memory = |k: &str| bytes(&r[k]["memory"]);
    assert!(cpu("lowerBound") <= cpu("target") && cpu("target") <= cpu("upperBound"));
    assert!(memory("lowerBound") <= memory("target") && memory("target") <= memory("upperBound"));
    // About half a core with a daytime bump, plus the 15 % margin.
    assert!((550..=750).contains(&cpu("target")), "{r}");
    // The OOM kill at 400 MiB is bumped to max(400 + 100, 400 × 1.2) = 500 MiB, above every
    // usage peak, and the target is that peak's bucket edge plus the margin.
    let oom_peak = bucket_upper_edge(500.0 * MIB, 1e7) as i64;
    assert_eq!(memory("target"), plus_margin(oom_peak), "{r}");

    let table = vpa_recommender(&["replay", "--samples", path.to_str().unwrap()]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("NAMESPACE"), "{text}");
    let first: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        first[..4],
        [
            "default",
            "hamster",
            "hamster",
            r["target"]["cpu"].as_str().unwrap()
        ]
    );
}

#[test]
fn without_a_subcommand_the_service_runs_and_needs_a_cluster() {
    let out = vpa_recommender(&[
        "--kubeconfig",
        "/nonexistent/kubeconfig",
        "--address",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/kubeconfig"), "{stderr}");
    let help = vpa_recommender(&["--help"]);
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("replay") && text.contains("--recommendation-margin-fraction"),
        "{text}"
    );
}

#[test]
fn replay_help_documents_the_file_format_and_engine_flags() {
    let help = vpa_recommender(&["replay", "--help"]);
    let text = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "--samples",
        "--format",
        "--now",
        "oom",
        "status 2",
        "--cpu-histogram-decay-half-life",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
