//! `deploy/` renders offline with kubectl's kustomize, every built-in object passes strict schema
//! validation, the Deployments are hardened, and the alerts and dashboard queries are valid PromQL.

use std::process::Command;

use serde_json::Value;
use vpa_e2e::{repo_root, require_tool, run_ok, yaml_documents};

const KUBERNETES_VERSION: &str = "1.35.0";

fn rendered() -> Option<Vec<Value>> {
    let kubectl = require_tool("kubectl", &["kubectl"])?;
    let out = run_ok(
        Command::new(kubectl)
            .arg("kustomize")
            .arg(repo_root().join("deploy")),
    );
    Some(yaml_documents(&out))
}

fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn kustomization_renders_everything_into_kube_system() {
    let Some(objects) = rendered() else { return };
    let kinds = kinds(&objects);
    for want in [
        "CustomResourceDefinition/verticalpodautoscalers.autoscaling.k8s.io",
        "CustomResourceDefinition/verticalpodautoscalercheckpoints.autoscaling.k8s.io",
        "Deployment/vpa-recommender",
        "Deployment/vpa-updater",
        "Deployment/vpa-admission-controller",
        "Service/vpa-webhook",
        "ServiceAccount/vpa-recommender",
        "ServiceAccount/vpa-updater",
        "ServiceAccount/vpa-admission-controller",
        "PodDisruptionBudget/vpa-admission-controller",
    ] {
        assert!(
            kinds.contains(&want.to_string()),
            "{want} missing from {kinds:?}"
        );
    }
    for o in &objects {
        let cluster_scoped = matches!(
            o["kind"].as_str(),
            Some("CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding")
        );
        if !cluster_scoped {
            assert_eq!(
                o["metadata"]["namespace"], "kube-system",
                "{} is not in kube-system",
                o["metadata"]["name"]
            );
        }
    }
}

/// YAML writes `1.0` where JSON has `1`: compare numbers by value.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        other => other.clone(),
    }
}

#[test]
fn rendered_crds_are_the_generated_ones() {
    let Some(objects) = rendered() else { return };
    for crd in vpa_common::crd::crds() {
        let want = serde_json::to_value(&crd).unwrap();
        let name = want["metadata"]["name"].as_str().unwrap();
        let got = objects
            .iter()
            .find(|o| o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} not rendered"));
        assert!(
            numbers_as_f64(&got["spec"]) == numbers_as_f64(&want["spec"]),
            "{name} differs from the generated CRD"
        );
    }
}

#[test]
fn deployments_are_hardened_and_probed() {
    let Some(objects) = rendered() else { return };
    let deployments: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .collect();
    assert_eq!(deployments.len(), 3);
    for d in deployments {
        let name = d["metadata"]["name"].as_str().unwrap();
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(
            pod["serviceAccountName"], name,
            "{name}: own service account"
        );
        assert_eq!(
            pod["priorityClassName"], "system-cluster-critical",
            "{name}"
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        for c in pod["containers"].as_array().unwrap() {
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}"
            );
            assert!(
                c["livenessProbe"]["httpGet"]["path"].is_string(),
                "{name}: liveness probe"
            );
            assert!(
                c["readinessProbe"]["httpGet"]["path"].is_string(),
                "{name}: readiness probe"
            );
            let image = c["image"].as_str().unwrap();
            assert!(
                image.ends_with(":0.1.0"),
                "{name}: image tag set by the kustomization, got {image}"
            );
            let requests = &c["resources"]["requests"];
            let mem: vpa_common::quantity::Quantity =
                requests["memory"].as_str().unwrap().parse().unwrap();
            assert!(
                mem.units_ceil() < 500 * 1024 * 1024,
                "{name}: memory request below upstream's 500Mi"
            );
        }
        if d["spec"]["replicas"].as_i64().unwrap_or(1) > 1 {
            assert!(
                pod["topologySpreadConstraints"].is_array(),
                "{name}: spread when replicas > 1"
            );
        }
    }
}

#[test]
fn built_in_objects_pass_strict_schema_validation() {
    let Some(objects) = rendered() else { return };
    let Some(validator) = require_tool(
        "kubernetes-validate (pip install kubernetes-validate)",
        &["/var/tmp/kv/bin/kubernetes-validate", "kubernetes-validate"],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let path = dir.path().join(format!("{i:02}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(o).unwrap()).unwrap();
        files.push(path);
    }
    let out = Command::new(validator)
        .args(["--strict", "-k", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    assert!(
        !text.contains("Couldn't find schema"),
        "an object was not validated:\n{text}"
    );
}

fn promtool() -> Option<std::path::PathBuf> {
    require_tool("promtool (apt-get install prometheus)", &["promtool"])
}

#[test]
fn alert_rules_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/prometheus-rule.yaml"))
            .unwrap();
    let rule: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(rule["kind"], "PrometheusRule");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.json");
    std::fs::write(&path, serde_json::to_string(&rule["spec"]).unwrap()).unwrap();
    let out = run_ok(Command::new(promtool).args(["check", "rules"]).arg(&path));
    assert!(out.contains("SUCCESS: 4 rules found"), "{out}");
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    let Some(promtool) = promtool() else { return };
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/grafana-dashboard.json"))
            .unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut rules = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap().replace("$namespace", ".*");
            rules.push(serde_json::json!({"record": format!("dashboard:panel{}:{}", panel["id"], t["refId"].as_str().unwrap()), "expr": expr}));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard-rules.json");
    std::fs::write(
        &path,
        serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let out = run_ok(Command::new(promtool).args(["check", "rules"]).arg(&path));
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", rules.len())),
        "{out}"
    );
}

#[test]
fn the_pod_monitor_scrapes_every_component_metrics_port_with_honor_labels() {
    let Some(objects) = rendered() else { return };
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/podmonitor.yaml")).unwrap();
    let monitor: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(monitor["kind"], "PodMonitor");
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(
        endpoint["honorLabels"], true,
        "the dashboard filters on the components' own namespace label"
    );
    let wanted: Vec<&str> = monitor["spec"]["selector"]["matchExpressions"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let deployments: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .collect();
    assert_eq!(deployments.len(), 3);
    for deployment in deployments {
        let template = &deployment["spec"]["template"];
        let app = template["metadata"]["labels"]["app"].as_str().unwrap();
        assert!(wanted.contains(&app), "{app} is not scraped");
        assert_eq!(
            deployment["metadata"]["namespace"],
            monitor["spec"]["namespaceSelector"]["matchNames"][0]
        );
        let ports = template["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap();
        assert!(
            ports.iter().any(|p| p["name"] == endpoint["port"]),
            "{app} has no port named {}",
            endpoint["port"]
        );
    }
}
