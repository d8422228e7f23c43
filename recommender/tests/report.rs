//! `vpa-recommender report` against a real Prometheus (Debian package) backfilled with two days
//! of cAdvisor usage and kube-state-metrics requests: per container the current request, the
//! target and the change, and nothing is needed from a cluster.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;
use vpa_e2e::prometheus::{LabelNames, SyntheticContainer, TestPrometheus, cadvisor_openmetrics};

const BIN: &str = env!("CARGO_BIN_EXE_vpa-recommender");
const DAY: i64 = 24 * 3600;

fn container(namespace: &str, pod: &str, name: &str, cpu: fn(i64) -> f64) -> SyntheticContainer {
    SyntheticContainer {
        namespace: namespace.into(),
        pod: pod.into(),
        container: name.into(),
        cpu_cores: cpu,
        memory_bytes: |_| 300.0 * 1024.0 * 1024.0,
    }
}

/// cAdvisor usage plus `kube_pod_container_resource_requests` (1 core, 512Mi) for `web`'s pods.
fn openmetrics(end: i64) -> String {
    let pods = [
        container("shop", "web-5d8f7c9b4-aaaaa", "app", |_| 0.5),
        container("shop", "web-5d8f7c9b4-bbbbb", "app", |_| 0.5),
        container("batch", "worker-0", "job", |_| 2.0),
    ];
    let mut text = cadvisor_openmetrics(&pods, &LabelNames::default(), end - 2 * DAY, end, 300);
    text.truncate(text.rfind("# EOF").unwrap());
    text.push_str("# HELP kube_pod_container_resource_requests Requests.\n");
    text.push_str("# TYPE kube_pod_container_resource_requests gauge\n");
    for pod in ["web-5d8f7c9b4-aaaaa", "web-5d8f7c9b4-bbbbb"] {
        for (resource, value) in [("cpu", 1.0), ("memory", 512.0 * 1024.0 * 1024.0)] {
            let mut t = end - 3600;
            while t <= end {
                let _ = writeln!(
                    text,
                    "kube_pod_container_resource_requests{{namespace=\"shop\",pod=\"{pod}\",container=\"app\",resource=\"{resource}\"}} {value} {t}"
                );
                t += 300;
            }
        }
    }
    text.push_str("# EOF\n");
    text
}

#[test]
fn report_shows_request_target_and_change_per_workload_container() {
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 300
        * 300;
    let Some(prom) = TestPrometheus::start(Some(&openmetrics(end)), "[]") else {
        return;
    };
    let run = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args([
                "report",
                "--prometheus-address",
                &prom.url(),
                "--history-length",
                "2d",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let doc: Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    let containers = doc["containers"].as_array().unwrap();
    let names: Vec<(&str, &str)> = containers
        .iter()
        .map(|c| {
            (
                c["workload"].as_str().unwrap(),
                c["container"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("worker", "job"), ("web", "app")]);
    let web = &containers[1];
    let target = web["cpu"]["targetMillicores"].as_i64().unwrap();
    assert!(
        (575..=620).contains(&target),
        "0.5 cores plus margin: {web}"
    );
    assert_eq!(web["cpu"]["requestMillicores"], 1000);
    assert_eq!(
        web["cpu"]["changeMillicores"].as_i64().unwrap(),
        target - 1000
    );
    assert_eq!(
        containers[0]["cpu"]["requestMillicores"],
        Value::Null,
        "no request known"
    );

    let table = run(&["--namespace", "shop"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "header, web/app and the total: {table}");
    assert!(
        lines[1].starts_with("shop") && lines[2].starts_with("TOTAL"),
        "{table}"
    );
    let csv = run(&["--format", "csv", "--namespace", "shop"]);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("shop,web,app,1000,"),
        "{csv}"
    );
}
