//! The observability bundle against live series (issue 9): a real Prometheus scrapes the three
//! real components running as pods of `deploy/` in the sim plus the sim's cAdvisor-style page,
//! while workloads produce every event the dashboard plots (a recommendation, an eviction, an
//! admission patch, an in-place resize, an eviction refused by a PodDisruptionBudget). Then every
//! query of every panel of `deploy/observability/grafana-dashboard.json`, with its variables
//! substituted the way Grafana does, must return data, and every alert of
//! `deploy/observability/prometheus-rule.yaml` must evaluate cleanly in Prometheus' rule engine
//! over series that exist.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Env, Options};
use vpa_e2e::grafana::{self, PanelQuery};
use vpa_e2e::prometheus::{TestPrometheus, http_get};
use vpa_e2e::promql::metric_names;
use vpa_e2e::repo_root;

/// How long every query gets to return data once the workloads are applied.
const DEADLINE: Duration = Duration::from_secs(90);
/// The dashboard time range and step a refresh would use (`$__range`, `$__interval`).
const RANGE: &str = "5m";
const STEP: &str = "2s";
/// `$__rate_interval`: comfortably above 4 scrape intervals of 1 s.
const RATE_INTERVAL: &str = "1m";

/// Besides examples/hamster.yaml (Recreate: evicted, then patched by the admission controller):
/// a workload resized in place, and one whose evictions a PodDisruptionBudget refuses. All burn
/// half a core on 100m requests, so each gets a recommendation far from its requests.
const WORKLOADS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: resized}
spec:
  replicas: 2
  selector: {matchLabels: {app: resized}}
  template:
    metadata:
      labels: {app: resized}
      annotations: {sim.vpa.rs/cpu: "constant:0.5", sim.vpa.rs/memory: "constant:60Mi"}
    spec:
      containers:
      - name: resized
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: 100m, memory: 50Mi}}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: resized-vpa}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: resized}
  updatePolicy: {updateMode: InPlaceOrRecreate}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata:
      labels: {app: guarded}
      annotations: {sim.vpa.rs/cpu: "constant:0.5", sim.vpa.rs/memory: "constant:60Mi"}
    spec:
      containers:
      - name: guarded
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: 100m, memory: 50Mi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: guarded-vpa}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: guarded}
  updatePolicy: {updateMode: Recreate}
"#;

/// The alert whose condition this scenario creates on purpose (the guarded workload).
const EXPECTED_FIRING: &str = "VPAEvictionsBlocked";

fn fast() -> Options {
    Options {
        recommender_args: vec!["--recommender-interval=3s".into()],
        updater_args: vec!["--updater-interval=3s".into()],
        admission_args: vec!["--status-lease-update-interval=1s".into()],
    }
}

/// Scrape jobs as a prometheus-operator ServiceMonitor with `honorLabels: true` would produce
/// them: the components' series get the pod's `namespace` unless they carry their own (the
/// recommender's per-VPA `namespace`), and the kubelet's cAdvisor page keeps its labels.
fn scrape_configs(env: &Env) -> String {
    let component = |job: &str, port: u16| {
        format!(
            "{{job_name: {job}, honor_labels: true, static_configs: [{{targets: ['127.0.0.1:{port}'], labels: {{namespace: kube-system}}}}]}}"
        )
    };
    format!(
        "[{}, {}, {}, {{job_name: kubelet-cadvisor, honor_labels: true, static_configs: [{{targets: ['{}']}}]}}]",
        component("vpa-recommender", env.ports.recommender),
        component("vpa-updater", env.ports.updater),
        component("vpa-admission-controller", env.ports.admission),
        env.cluster_metrics_addr(),
    )
}

/// The PrometheusRule's `spec` as a plain Prometheus rules file, and its alerts (name, expr).
fn rules() -> (String, Vec<(String, String)>) {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/prometheus-rule.yaml"))
            .unwrap();
    let rule: Value = serde_saphyr::from_str(&text).unwrap();
    let alerts = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| {
            Some((
                r["alert"].as_str()?.to_string(),
                r["expr"].as_str().unwrap().to_string(),
            ))
        })
        .collect();
    (rule["spec"].to_string(), alerts)
}

/// One query to run: a panel query with one assignment of the dashboard variables.
struct Check {
    what: String,
    expr: String,
}

/// Every panel query twice: with every variable at "All" (its `allValue`), and with the
/// `namespace` variable at the one value the workloads live in, as Grafana formats a selection.
fn checks(dashboard: &Value, selected_namespace: &str) -> Vec<Check> {
    let builtins = grafana::builtin_variables(STEP, RATE_INTERVAL, RANGE);
    let mut all = builtins.clone();
    let mut selected = builtins;
    for name in grafana::variable_names(dashboard) {
        if name == "datasource" {
            continue;
        }
        let all_value = grafana::all_value(dashboard, &name)
            .unwrap_or_else(|| panic!("variable {name} has no allValue; teach the test its value"));
        all.insert(name.clone(), all_value.clone());
        let value = if name == "namespace" {
            grafana::regex_value(&[selected_namespace])
        } else {
            all_value
        };
        selected.insert(name, value);
    }
    let mut out = Vec::new();
    for q in grafana::panel_queries(dashboard) {
        let label = |vars: &BTreeMap<String, String>| {
            vars.iter()
                .filter(|(k, _)| !k.starts_with("__"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        for vars in [&all, &selected] {
            let expr = grafana::substitute(&q.expr, vars);
            assert!(
                !expr.contains('$'),
                "{q}: unsubstituted variable left in {expr}"
            );
            if out.iter().any(|c: &Check| c.expr == expr) {
                continue;
            }
            out.push(Check {
                what: format!("{q} [{}]", label(vars)),
                expr,
            });
        }
    }
    out
}

/// Metric names an expression reads that have no series at all in Prometheus.
fn missing_metrics(prom: &TestPrometheus, expr: &str) -> Vec<String> {
    metric_names(expr)
        .into_iter()
        .filter(|name| {
            prom.query(&format!("group({name})"))
                .map(|d| d["result"].as_array().is_none_or(Vec::is_empty))
                .unwrap_or(true)
        })
        .collect()
}

fn series_count(data: &Value) -> usize {
    data["result"].as_array().map_or(0, Vec::len)
}

fn component_metrics(env: &Env) -> String {
    let mut out = String::new();
    for (name, port) in [
        ("vpa-recommender", env.ports.recommender),
        ("vpa-updater", env.ports.updater),
        ("vpa-admission-controller", env.ports.admission),
        (
            "sim cluster (cAdvisor/kube-state-metrics)",
            env.cluster_metrics_addr().port(),
        ),
    ] {
        let body = match http_get(port, "/metrics") {
            Ok((status, body)) => format!("HTTP {status}\n{body}"),
            Err(e) => format!("unreachable: {e}"),
        };
        out += &format!("===== {name} /metrics =====\n{body}\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_query_returns_data_and_every_alert_evaluates() {
    let started = Instant::now();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/observability/grafana-dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let (rules_file, alerts) = rules();
    assert!(!alerts.is_empty(), "the PrometheusRule has alerts");
    assert!(
        alerts.iter().any(|(name, _)| name == EXPECTED_FIRING),
        "{EXPECTED_FIRING} is one of the alerts"
    );

    if support::Backend::from_env() == support::Backend::Kube {
        // Not a missing tool: this scenario reads usage from the sim's cAdvisor-style page,
        // which KWOK has no counterpart of, so it belongs to the sim backend only.
        eprintln!(
            "sim backend only: the dashboard's usage series come from vpa-sim's cAdvisor-style page"
        );
        return;
    }
    // Skip (or fail under CI) before starting a cluster when Prometheus is not installed.
    for tool in ["prometheus", "promtool"] {
        if vpa_e2e::require_tool(&format!("{tool} (apt-get install prometheus)"), &[tool]).is_none()
        {
            return;
        }
    }
    let Some(env) = Env::start(fast()).await else {
        return;
    };
    let scrape = scrape_configs(&env);
    let Some(prom) = tokio::task::spawn_blocking(move || {
        TestPrometheus::start_with_rules(None, &scrape, Some(&rules_file))
    })
    .await
    .unwrap() else {
        env.shutdown().await;
        return;
    };
    env.mark("prometheus up");
    for d in ["vpa-recommender", "vpa-updater", "vpa-admission-controller"] {
        env.wait_available("kube-system", d, 1).await;
    }
    env.apply_hamster().await;
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(manifest.path(), WORKLOADS).unwrap();
    env.kubectl_ok(&[
        "apply",
        "-n",
        "default",
        "-f",
        manifest.path().to_str().unwrap(),
    ])
    .await;
    env.mark("workloads applied");

    // The `namespace` variable's own query (label_values) must offer the workloads' namespace.
    let variable_query = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "namespace")
        .and_then(|v| v["query"].as_str())
        .expect("a namespace variable")
        .to_string();
    let metric = variable_query
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(", namespace)"))
        .unwrap_or_else(|| panic!("unexpected variable query {variable_query}"))
        .to_string();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let values = tokio::task::block_in_place(|| prom.label_values("namespace", &metric))
            .unwrap_or_else(|e| panic!("{variable_query}: {e}"));
        if values.iter().any(|v| v == "default") {
            env.mark(&format!("$namespace offers {values:?}"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the $namespace variable ({variable_query}) never offered `default`: {values:?}\n{}",
            component_metrics(&env)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every panel query, until each has returned data at least once.
    let checks = checks(&dashboard, "default");
    let mut pending: BTreeSet<usize> = (0..checks.len()).collect();
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    let mut firing = false;
    let mut rules_healthy = None;
    loop {
        tokio::task::block_in_place(|| {
            for i in pending.clone() {
                let data = prom
                    .query_range(&checks[i].expr, RANGE, STEP)
                    .unwrap_or_else(|e| {
                        panic!(
                            "{}: Prometheus rejected {}: {e}",
                            checks[i].what, checks[i].expr
                        )
                    });
                if series_count(&data) > 0 {
                    counts.insert(i, series_count(&data));
                    pending.remove(&i);
                }
            }
            if !firing {
                let expr = &alerts.iter().find(|(n, _)| n == EXPECTED_FIRING).unwrap().1;
                firing = prom.query(expr).is_ok_and(|d| series_count(&d) > 0);
            }
            rules_healthy = Some(rule_health(&prom, &alerts));
        });
        let rules_ok = rules_healthy.as_ref().is_some_and(Result::is_ok);
        if pending.is_empty() && firing && rules_ok {
            break;
        }
        if Instant::now() > deadline {
            let mut report = String::new();
            for &i in &pending {
                let missing =
                    tokio::task::block_in_place(|| missing_metrics(&prom, &checks[i].expr));
                report += &format!(
                    "- {} returned no data\n    {}\n    metrics without any series: {missing:?}\n",
                    checks[i].what, checks[i].expr
                );
            }
            if !firing {
                report += &format!(
                    "- alert {EXPECTED_FIRING} never matched although an eviction is blocked by a PodDisruptionBudget\n"
                );
            }
            if let Some(Err(e)) = &rules_healthy {
                report += &format!("- rules: {e}\n");
            }
            panic!("after {DEADLINE:?}:\n{report}\n{}", component_metrics(&env));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    env.mark("every panel query returned data");
    for (i, c) in checks.iter().enumerate() {
        eprintln!("{:>3} series  {}", counts[&i], c.what);
    }

    // Each alert expression evaluates once on demand, and reads only metrics that exist.
    for (name, expr) in &alerts {
        let data = tokio::task::block_in_place(|| prom.query(expr))
            .unwrap_or_else(|e| panic!("alert {name}: Prometheus rejected {expr}: {e}"));
        let missing = tokio::task::block_in_place(|| missing_metrics(&prom, expr));
        assert!(
            missing.is_empty(),
            "alert {name} reads metrics that no component exports: {missing:?}\n{expr}\n{}",
            component_metrics(&env)
        );
        eprintln!(
            "alert {name}: {} series match now, metrics {:?}",
            series_count(&data),
            metric_names(expr)
        );
    }
    drop(prom);
    env.shutdown().await;
    eprintln!(
        "dashboard_queries: {} queries and {} alerts checked in {:.1}s",
        checks.len(),
        alerts.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Every alert of the rules file has been evaluated by Prometheus' rule engine without error.
fn rule_health(prom: &TestPrometheus, alerts: &[(String, String)]) -> Result<(), String> {
    let data = prom.api("/api/v1/rules")?;
    let rules: Vec<&Value> = data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    for (name, _) in alerts {
        let rule = rules
            .iter()
            .find(|r| r["name"] == name.as_str())
            .ok_or_else(|| format!("alert {name} not loaded"))?;
        if rule["health"] != "ok" {
            return Err(format!(
                "alert {name}: health {} ({})",
                rule["health"], rule["lastError"]
            ));
        }
    }
    Ok(())
}

#[test]
fn every_panel_query_gets_its_variables_substituted() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/observability/grafana-dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let queries: Vec<PanelQuery> = grafana::panel_queries(&dashboard);
    assert!(!queries.is_empty());
    let checks = checks(&dashboard, "default");
    assert!(checks.len() >= queries.len(), "each query at least once");
    assert!(
        checks
            .iter()
            .any(|c| c.expr.contains(r#"namespace=~"default""#)),
        "the selected namespace is used"
    );
    assert!(checks.iter().all(|c| !c.expr.contains('$')));
}
