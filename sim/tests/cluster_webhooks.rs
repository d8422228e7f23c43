//! Admission webhooks through the sim: a small TLS webhook server of ours receives the
//! AdmissionReview kube-apiserver would send (via a mapped Service and via a URL), its base64
//! JSONPatch lands on the stored pod, a validating denial reaches the client, and failurePolicy
//! Ignore vs Fail decides when the webhook is down or too slow; under `matchPolicy: Equivalent` a
//! rule naming apps/v1beta1 deployments is called for apps/v1 ones, under `Exact` it is not.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};
use vpa_sim::cluster::{Cluster, ClusterOptions};
use vpa_sim::{Sim, SimOptions};

type Seen = Arc<Mutex<Vec<Value>>>;

/// A CA (PEM) and a rustls server config for the webhook's names.
fn certificates() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![
        "hook.default.svc".to_string(),
        "127.0.0.1".to_string(),
    ])
    .unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    use rustls::pki_types::pem::PemObject;
    let certs =
        vec![rustls::pki_types::CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap()];
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    (ca_cert.pem(), Arc::new(cfg))
}

fn answer(review: &Value, response: Value) -> Json<Value> {
    let mut response = response;
    response["uid"] = review["request"]["uid"].clone();
    Json(
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}),
    )
}

async fn mutate(State(seen): State<Seen>, Json(review): Json<Value>) -> Json<Value> {
    seen.lock().unwrap().push(review.clone());
    let patch =
        json!([{"op": "add", "path": "/metadata/annotations", "value": {"mutated-by": "hook"}}]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&patch).unwrap());
    answer(
        &review,
        json!({"allowed": true, "patchType": "JSONPatch", "patch": b64, "warnings": ["mutated"]}),
    )
}

async fn validate(Json(review): Json<Value>) -> Json<Value> {
    let deny = review.pointer("/request/object/metadata/labels/deny") == Some(&json!("yes"));
    answer(
        &review,
        json!({"allowed": !deny, "status": {"code": 403, "message": "pods labelled deny=yes are not welcome"}}),
    )
}

async fn slow(Json(review): Json<Value>) -> Json<Value> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    answer(&review, json!({"allowed": true}))
}

async fn webhook_server() -> (SocketAddr, String, Seen) {
    let (ca, tls) = certificates();
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/mutate", axum::routing::post(mutate))
        .route("/validate", axum::routing::post(validate))
        .route("/slow", axum::routing::post(slow))
        .with_state(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls),
    )
    .unwrap();
    tokio::spawn(server.serve(app.into_make_service()));
    (addr, ca, seen)
}

fn hook(name: &str, scenario: &str, client_config: Value, extra: Value) -> Value {
    let mut h = json!({"name": name, "clientConfig": client_config, "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "objectSelector": {"matchLabels": {"scenario": scenario}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    for (k, v) in extra.as_object().unwrap() {
        h[k] = v.clone();
    }
    h
}

fn pod(name: &str, labels: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}})).unwrap()
}

fn api_error(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.message.clone()),
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn webhooks_mutate_validate_and_honour_failure_policy() {
    vpa_common::install_crypto_provider();
    let (addr, ca, seen) = webhook_server().await;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(&ca);
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let services: BTreeMap<String, SocketAddr> = [("default/hook".to_string(), addr)].into();
    let cluster = Cluster::start(
        &sim,
        ClusterOptions {
            nodes: vec![],
            services,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = sim.client().await.unwrap();
    // A port nobody listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let svc = |path: &str| json!({"service": {"namespace": "default", "name": "hook", "path": path}, "caBundle": ca_b64});
    let url = |a: SocketAddr, path: &str| json!({"url": format!("https://127.0.0.1:{}{path}", a.port()), "caBundle": ca_b64});
    let mutating: MutatingWebhookConfiguration = serde_json::from_value(json!({"metadata": {"name": "m"}, "webhooks": [
        hook("mutate.example.com", "main", svc("/mutate"), json!({})),
        hook("down-ignore.example.com", "down-ignore", url(closed, "/mutate"), json!({"failurePolicy": "Ignore"})),
        hook("down-fail.example.com", "down-fail", url(closed, "/mutate"), json!({"failurePolicy": "Fail"})),
        hook("slow-ignore.example.com", "slow-ignore", svc("/slow"), json!({"failurePolicy": "Ignore", "timeoutSeconds": 1})),
        hook("slow-fail.example.com", "slow-fail", svc("/slow"), json!({"failurePolicy": "Fail", "timeoutSeconds": 1})),
    ]}))
    .unwrap();
    Api::<MutatingWebhookConfiguration>::all(client.clone())
        .create(&PostParams::default(), &mutating)
        .await
        .unwrap();
    let validating: ValidatingWebhookConfiguration =
        serde_json::from_value(json!({"metadata": {"name": "v"}, "webhooks": [
        hook("validate.example.com", "main", url(addr, "/validate"), json!({}))]}))
        .unwrap();
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .create(&PostParams::default(), &validating)
        .await
        .unwrap();

    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let created = pods
        .create(
            &PostParams::default(),
            &pod("mutated", json!({"scenario": "main"})),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.annotations.unwrap()["mutated-by"], "hook");
    let stored = pods.get("mutated").await.unwrap();
    assert_eq!(
        stored.metadata.annotations.unwrap()["mutated-by"],
        "hook",
        "the patch is on the stored pod"
    );
    let review = seen.lock().unwrap()[0].clone();
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    let req = &review["request"];
    assert_eq!(
        req["kind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(
        req["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(req["requestKind"], req["kind"]);
    assert_eq!(
        (
            req["operation"].clone(),
            req["namespace"].clone(),
            req["name"].clone()
        ),
        (json!("CREATE"), json!("default"), json!("mutated"))
    );
    assert_eq!(req["userInfo"]["username"], "admin");
    assert_eq!(
        (req["oldObject"].clone(), req["dryRun"].clone()),
        (Value::Null, json!(false))
    );
    assert_eq!(req["options"]["kind"], "CreateOptions");
    assert_eq!(req["object"]["metadata"]["name"], "mutated");
    assert!(req["uid"].as_str().is_some_and(|u| u.len() == 36));

    // The webhook's warnings reach the client as Warning headers.
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates({
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(sim.ca_pem().as_bytes()).unwrap(),
            )
            .unwrap();
        roots
    })
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let resp = http
        .post(format!("{}/api/v1/namespaces/default/pods", sim.url()))
        .bearer_auth(sim.admin_token())
        .json(&pod("warned", json!({"scenario": "main"})))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let warnings: Vec<&str> = resp
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(warnings, ["299 - \"mutated\""]);

    let (code, message) = api_error(
        pods.create(
            &PostParams::default(),
            &pod("denied", json!({"scenario": "main", "deny": "yes"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 403);
    assert_eq!(
        message,
        "admission webhook \"validate.example.com\" denied the request: pods labelled deny=yes are not welcome"
    );

    pods.create(
        &PostParams::default(),
        &pod("down-ignore", json!({"scenario": "down-ignore"})),
    )
    .await
    .unwrap();
    let (code, message) = api_error(
        pods.create(
            &PostParams::default(),
            &pod("down-fail", json!({"scenario": "down-fail"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 500);
    assert!(
        message.contains("failed calling webhook \"down-fail.example.com\""),
        "{message}"
    );
    let started = std::time::Instant::now();
    pods.create(
        &PostParams::default(),
        &pod("slow-ignore", json!({"scenario": "slow-ignore"})),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "timeoutSeconds cut the call"
    );
    let (code, _) = api_error(
        pods.create(
            &PostParams::default(),
            &pod("slow-fail", json!({"scenario": "slow-fail"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 500);
    assert!(pods.get("slow-fail").await.is_err());
    cluster.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn equivalent_match_policy_calls_webhooks_for_another_version_and_exact_does_not() {
    vpa_common::install_crypto_provider();
    let (addr, ca, seen) = webhook_server().await;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(&ca);
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let cluster = Cluster::start(
        &sim,
        ClusterOptions {
            nodes: vec![],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = sim.client().await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = |a: SocketAddr| json!({"url": format!("https://127.0.0.1:{}/mutate", a.port()), "caBundle": ca_b64});
    // Both name apps/v1beta1 only; the sim serves apps/v1 deployments.
    let v1beta1 = json!({"rules": [{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1beta1"], "resources": ["deployments"]}]});
    let mut exact = v1beta1.clone();
    exact["matchPolicy"] = json!("Exact");
    // Called, it would fail the request: it is down and fails closed.
    exact["failurePolicy"] = json!("Fail");
    let config: MutatingWebhookConfiguration =
        serde_json::from_value(json!({"metadata": {"name": "equiv"}, "webhooks": [
        hook("equivalent.example.com", "equiv", url(addr), v1beta1),
        hook("exact.example.com", "equiv", url(closed), exact)]}))
        .unwrap();
    let configs = Api::<MutatingWebhookConfiguration>::all(client.clone());
    let stored = configs
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    assert_eq!(
        stored.webhooks.unwrap()[0].match_policy.as_deref(),
        Some("Equivalent"),
        "matchPolicy defaults to Equivalent"
    );

    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web", "labels": {"scenario": "equiv"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
    .unwrap();
    let created = deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    assert_eq!(
        created.metadata.annotations.unwrap()["mutated-by"],
        "hook",
        "the patch made on the v1beta1 view lands"
    );
    let stored = deployments.get("web").await.unwrap();
    assert_eq!(stored.metadata.annotations.unwrap()["mutated-by"], "hook");
    let reviews = seen.lock().unwrap().clone();
    assert_eq!(reviews.len(), 1, "only the Equivalent webhook is called");
    let req = &reviews[0]["request"];
    assert_eq!(
        req["kind"],
        json!({"group": "apps", "version": "v1beta1", "kind": "Deployment"})
    );
    assert_eq!(
        req["requestKind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(
        (
            req["resource"]["version"].clone(),
            req["requestResource"]["version"].clone()
        ),
        (json!("v1beta1"), json!("v1"))
    );
    assert_eq!(req["object"]["apiVersion"], "apps/v1beta1");
    cluster.stop().await;
    sim.shutdown().await;
}
