//! The Helm chart renders, with real `helm template`, the same objects as `kubectl kustomize deploy/`
//! for default values, and its values change what they should.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use vpa_e2e::{repo_root, require_tool, run_ok, yaml_documents};

type Objects = BTreeMap<(String, String), Value>;

fn by_kind_and_name(objects: Vec<Value>) -> Objects {
    objects
        .into_iter()
        .map(|o| {
            (
                (
                    o["kind"].as_str().unwrap().to_string(),
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                ),
                o,
            )
        })
        .collect()
}

fn helm_template(extra: &[&str]) -> Option<Objects> {
    let helm = require_tool(
        "helm (scripts/install-helm)",
        &["/var/tmp/helm/helm", "helm"],
    )?;
    let out = run_ok(
        Command::new(helm)
            .args(["template", "vpa-rs"])
            .arg(repo_root().join("deploy/helm/vpa-rs"))
            .args([
                "--namespace",
                "kube-system",
                "--include-crds",
                "--kube-version",
                "1.35.0",
            ])
            .args(extra),
    );
    Some(by_kind_and_name(yaml_documents(&out)))
}

fn kustomize() -> Option<Objects> {
    let kubectl = require_tool("kubectl", &["kubectl"])?;
    let out = run_ok(
        Command::new(kubectl)
            .arg("kustomize")
            .arg(repo_root().join("deploy")),
    );
    Some(by_kind_and_name(yaml_documents(&out)))
}

/// Numbers by value (`1` == `1.0`), and no labels on CRDs (Helm cannot template `crds/`).
fn normalised(kind: &str, v: &Value) -> Value {
    fn numbers(v: &Value) -> Value {
        match v {
            Value::Number(n) => serde_json::json!(n.as_f64()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), numbers(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(numbers).collect()),
            other => other.clone(),
        }
    }
    let mut v = numbers(v);
    if kind == "CustomResourceDefinition" {
        v["metadata"].as_object_mut().unwrap().remove("labels");
    }
    v
}

#[test]
fn default_values_render_the_kustomize_objects() {
    let (Some(helm), Some(kustomize)) = (helm_template(&[]), kustomize()) else {
        return;
    };
    assert_eq!(
        helm.keys().collect::<Vec<_>>(),
        kustomize.keys().collect::<Vec<_>>(),
        "same objects"
    );
    for ((kind, name), want) in &kustomize {
        let got = &helm[&(kind.clone(), name.clone())];
        assert!(
            normalised(kind, got) == normalised(kind, want),
            "{kind}/{name} differs between helm and kustomize:\nhelm: {}\nkustomize: {}",
            serde_json::to_string_pretty(got).unwrap(),
            serde_json::to_string_pretty(want).unwrap()
        );
    }
}

#[test]
fn values_set_replicas_resources_flags_and_webhook_settings() {
    let Some(objects) = helm_template(&[
        "--set",
        "recommender.replicas=2",
        "--set",
        "recommender.resources.requests.memory=100Mi",
        "--set",
        "recommender.extraArgs={--storage=prometheus,--prometheus-address=http://prom:9090}",
        "--set",
        "admissionController.webhook.timeoutSeconds=10",
        "--set",
        "admissionController.webhook.failurePolicyFail=true",
        "--set",
        "image.tag=9.9.9",
    ]) else {
        return;
    };
    let rec = &objects[&("Deployment".to_string(), "vpa-recommender".to_string())];
    assert_eq!(rec["spec"]["replicas"], 2);
    let pod = &rec["spec"]["template"]["spec"];
    assert!(
        pod["topologySpreadConstraints"].is_array(),
        "spread once replicas > 1"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["resources"]["requests"]["memory"], "100Mi");
    assert_eq!(c["image"], "vpa-rs/vpa-recommender:9.9.9");
    assert_eq!(
        c["args"],
        serde_json::json!([
            "--address=:8942",
            "--leader-elect=true",
            "--storage=prometheus",
            "--prometheus-address=http://prom:9090"
        ])
    );
    let ac = &objects[&(
        "Deployment".to_string(),
        "vpa-admission-controller".to_string(),
    )];
    let args = &ac["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(
        args,
        &serde_json::json!([
            "--port=8000",
            "--address=:8944",
            "--webhook-timeout-seconds=10",
            "--webhook-failure-policy-fail=true"
        ])
    );
}

fn args_of(objects: &Objects, deployment: &str) -> Vec<String> {
    let d = &objects[&("Deployment".to_string(), deployment.to_string())];
    serde_json::from_value(d["spec"]["template"]["spec"]["containers"][0]["args"].clone()).unwrap()
}

#[test]
fn more_than_one_replica_elects_a_leader() {
    let Some(single) = helm_template(&[]) else {
        return;
    };
    let Some(many) = helm_template(&["--set", "updater.replicas=2"]) else {
        return;
    };
    let elect = "--leader-elect=true".to_string();
    for d in ["vpa-recommender", "vpa-updater"] {
        assert!(!args_of(&single, d).contains(&elect), "{d} with 1 replica");
    }
    assert!(args_of(&many, "vpa-updater").contains(&elect));
    assert!(!args_of(&many, "vpa-recommender").contains(&elect));
}

#[test]
fn webhook_defaults_to_5_seconds_and_skips_its_own_pods() {
    for objects in [helm_template(&[]), kustomize()].into_iter().flatten() {
        assert!(
            args_of(&objects, "vpa-admission-controller")
                .contains(&"--webhook-timeout-seconds=5".to_string())
        );
        let ac = &objects[&(
            "Deployment".to_string(),
            "vpa-admission-controller".to_string(),
        )];
        assert_eq!(
            ac["spec"]["template"]["metadata"]["labels"]["vpa.k8s.io/webhook-ignore"],
            "true"
        );
    }
}

#[test]
fn cert_manager_option_issues_and_mounts_the_serving_certificate() {
    let Some(own_ca) = helm_template(&["--set", "admissionController.certManager.enabled=true"])
    else {
        return;
    };
    let cert = &own_ca[&("Certificate".to_string(), "vpa-webhook-cert".to_string())];
    assert_eq!(cert["spec"]["secretName"], "vpa-webhook-cert");
    assert_eq!(
        cert["spec"]["dnsNames"],
        serde_json::json!([
            "vpa-webhook.kube-system.svc",
            "vpa-webhook.kube-system.svc.cluster.local"
        ])
    );
    assert_eq!(cert["spec"]["issuerRef"]["name"], "vpa-webhook-ca");
    for (kind, name) in [
        ("Issuer", "vpa-selfsigned"),
        ("Certificate", "vpa-webhook-ca"),
        ("Issuer", "vpa-webhook-ca"),
    ] {
        assert!(
            own_ca.contains_key(&(kind.to_string(), name.to_string())),
            "{kind}/{name}"
        );
    }
    let args = args_of(&own_ca, "vpa-admission-controller");
    for flag in [
        "--tls-cert-file=/etc/tls-certs/tls.crt",
        "--tls-private-key=/etc/tls-certs/tls.key",
        "--client-ca-file=/etc/tls-certs/ca.crt",
        "--reload-cert=true",
    ] {
        assert!(args.contains(&flag.to_string()), "{flag} in {args:?}");
    }
    let pod = &own_ca[&(
        "Deployment".to_string(),
        "vpa-admission-controller".to_string(),
    )]["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "vpa-webhook-cert"
    );
    assert_eq!(
        pod["containers"][0]["volumeMounts"][0]["mountPath"],
        "/etc/tls-certs"
    );

    let Some(given) = helm_template(&[
        "--set",
        "admissionController.certManager.enabled=true",
        "--set",
        "admissionController.certManager.issuerRef.name=corp-ca",
        "--set",
        "admissionController.certManager.issuerRef.kind=ClusterIssuer",
    ]) else {
        return;
    };
    let cert = &given[&("Certificate".to_string(), "vpa-webhook-cert".to_string())];
    assert_eq!(
        cert["spec"]["issuerRef"],
        serde_json::json!({"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"})
    );
    assert!(!given.contains_key(&("Issuer".to_string(), "vpa-selfsigned".to_string())));
}

#[test]
fn chart_crds_are_the_generated_ones() {
    let chart =
        std::fs::read_to_string(repo_root().join("deploy/helm/vpa-rs/crds/vpa-v1-crd.yaml"))
            .unwrap();
    assert!(
        chart == vpa_common::crd::crd_yaml(),
        "deploy/helm/vpa-rs/crds/vpa-v1-crd.yaml is stale: run `cargo run -p vpa-common --bin vpa-crdgen`"
    );
}

#[test]
fn chart_passes_helm_lint() {
    let Some(helm) = require_tool(
        "helm (scripts/install-helm)",
        &["/var/tmp/helm/helm", "helm"],
    ) else {
        return;
    };
    let out = run_ok(
        Command::new(helm)
            .arg("lint")
            .arg(repo_root().join("deploy/helm/vpa-rs")),
    );
    assert!(out.contains("0 chart(s) failed"), "{out}");
}
