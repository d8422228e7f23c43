//! End to end in the in-memory API server: the real admission controller (`run_until`) against
//! `vpa-sim`, with a small dispatcher that calls the registered webhook over TLS the way
//! kube-apiserver does (AdmissionReview v1, caBundle trust, failurePolicy Ignore).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use clap::Parser;
use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use vpa_admission_controller::config::Args;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::{AdmissionHook, AdmissionRequest, ApiError, ApiResult, Sim, SimOptions};

/// Calls the webhook registered in `vpa-webhook-config` like kube-apiserver would.
struct Dispatcher {
    url: String,
    client: reqwest::Client,
}

impl Dispatcher {
    fn new(config: &MutatingWebhookConfiguration) -> Self {
        let hook = &config.webhooks.as_ref().unwrap()[0];
        let url = hook.client_config.url.clone().expect("registered by URL");
        let ca = hook
            .client_config
            .ca_bundle
            .as_ref()
            .expect("caBundle")
            .0
            .clone();
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Self { url, client }
    }

    async fn call(url: String, client: reqwest::Client, req: AdmissionRequest) -> ApiResult<Value> {
        let handled = matches!(
            (req.group.as_str(), req.resource.as_str(), req.operation),
            ("", "pods", "CREATE")
        ) || (req.group == "autoscaling.k8s.io"
            && req.resource == "verticalpodautoscalers");
        if !handled || !req.subresource.is_empty() {
            return Ok(req.object);
        }
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "e2e-uid",
                "kind": {"group": req.group, "version": req.version, "kind": req.kind},
                "resource": {"group": req.group, "version": req.version, "resource": req.resource},
                "namespace": req.namespace,
                "operation": req.operation,
                "userInfo": {"username": req.user.name, "groups": req.user.groups},
                "object": req.object,
                "oldObject": req.old_object,
                "dryRun": req.dry_run,
            }
        });
        // failurePolicy Ignore: any failure to reach the webhook admits the object unchanged.
        let Ok(resp) = client.post(&url).json(&review).send().await else {
            return Ok(req.object);
        };
        let Ok(answer) = resp.json::<Value>().await else {
            return Ok(req.object);
        };
        let response = &answer["response"];
        if response["allowed"] != true {
            let message = response["status"]["message"]
                .as_str()
                .unwrap_or("denied")
                .to_string();
            return Err(ApiError::new(
                422,
                "Invalid",
                format!("admission webhook \"vpa.k8s.io\" denied the request: {message}"),
            ));
        }
        let mut object = req.object;
        if let Some(b64) = response["patch"].as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let patch: json_patch::Patch =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(e.to_string()))?;
            json_patch::patch(&mut object, &patch)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(object)
    }
}

impl AdmissionHook for Dispatcher {
    fn admit(&self, req: AdmissionRequest) -> BoxFuture<'static, ApiResult<Value>> {
        Self::call(self.url.clone(), self.client.clone(), req).boxed()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn object<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &object(v))
        .await
        .unwrap()
}

async fn workload(client: &kube::Client, name: &str, mode: &str) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = create(&deployments, json!({
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "i"}]}}}
    }))
    .await;
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    create(&rs, json!({
        "metadata": {"name": format!("{name}-rs"), "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
            "name": name, "uid": d.metadata.uid, "controller": true}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "i"}]}}}
    }))
    .await;
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    let vpa = create(&vpas, json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": format!("{name}-vpa")},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, "updatePolicy": {"updateMode": mode}}
    }))
    .await;
    let mut with_status = vpa.clone();
    with_status.status = Some(object(
        json!({"recommendation": {"containerRecommendations": [
        {"containerName": name, "target": {"cpu": "250m", "memory": "200Mi"}}]}}),
    ));
    vpas.replace_status(&format!("{name}-vpa"), &PostParams::default(), &with_status)
        .await
        .unwrap();
}

async fn new_pod(client: &kube::Client, app: &str, n: u32) -> ApiResult<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let owner = rs.get(&format!("{app}-rs")).await.unwrap();
    let pod: Pod = object(json!({
        "metadata": {"name": format!("{app}-{n}"), "labels": {"app": app}, "ownerReferences": [{"apiVersion": "apps/v1",
            "kind": "ReplicaSet", "name": format!("{app}-rs"), "uid": owner.metadata.uid, "controller": true}]},
        "spec": {"containers": [{"name": app, "image": "i", "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]}
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn requests(pod: &Pod) -> Value {
    serde_json::to_value(
        &pod.spec.as_ref().unwrap().containers[0]
            .resources
            .as_ref()
            .unwrap()
            .requests,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_controller_in_the_sim_patches_new_pods() {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let client = sim.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["default", "kube-system"] {
        let _ = namespaces
            .create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": ns}})),
            )
            .await;
    }
    eventually("VPA CRD served", || {
        let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), "default");
        async move { vpas.list(&Default::default()).await.ok() }
    })
    .await;
    workload(&client, "hamster", "Recreate").await;
    workload(&client, "quiet", "Off").await;

    let (port, admin) = (free_port(), free_port());
    let kubeconfig = sim.kubeconfig_path().display().to_string();
    let args = Args::try_parse_from([
        "vpa-admission-controller",
        &format!("--kubeconfig={kubeconfig}"),
        &format!("--port={port}"),
        "--bind-address=127.0.0.1",
        &format!("--address=127.0.0.1:{admin}"),
        "--register-by-url",
        "--webhook-address=https://127.0.0.1",
        &format!("--webhook-port={port}"),
        "--namespace=kube-system",
        "--status-lease-update-interval=1s",
    ])
    .unwrap();
    let config = args.into_config(false).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(vpa_admission_controller::run::run_until(config, async {
        let _ = stop_rx.await;
    }));

    // Self-registration, certificates in the Secret, the status Lease.
    let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let registered = eventually("webhook registration", || {
        let webhooks = webhooks.clone();
        async move { webhooks.get_opt("vpa-webhook-config").await.ok().flatten() }
    })
    .await;
    let hook = &registered.webhooks.as_ref().unwrap()[0];
    assert_eq!(hook.name, "vpa.k8s.io");
    assert_eq!(hook.failure_policy.as_deref(), Some("Ignore"));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
    let secret = secrets.get("vpa-tls-certs").await.unwrap();
    let data = secret.data.unwrap();
    assert_eq!(
        hook.client_config.ca_bundle.as_ref().unwrap().0,
        data["caCert.pem"].0
    );
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    eventually("status lease", || {
        let leases = leases.clone();
        async move {
            leases
                .get_opt("vpa-admission-controller")
                .await
                .ok()
                .flatten()
        }
    })
    .await;
    let ready_url = format!("http://127.0.0.1:{admin}/readyz");
    eventually("readiness", || {
        let url = ready_url.clone();
        async move {
            reqwest::get(&url)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;
    sim.add_admission_hook(Arc::new(Dispatcher::new(&registered)));

    // The hamster pod gets the recommendation; the Off workload is untouched.
    let pod = new_pod(&client, "hamster", 1).await.unwrap();
    assert_eq!(requests(&pod), json!({"cpu": "250m", "memory": "200Mi"}));
    let annotations = pod.metadata.annotations.unwrap();
    assert_eq!(annotations["vpaObservedContainers"], "hamster");
    assert!(annotations["vpaUpdates"].starts_with("Pod resources updated by hamster-vpa"));
    let quiet = new_pod(&client, "quiet", 1).await.unwrap();
    assert_eq!(requests(&quiet), json!({"cpu": "100m", "memory": "50Mi"}));

    // An invalid VPA is rejected through the webhook.
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    let bad: VerticalPodAutoscaler = object(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "bad"},
        "spec": {"targetRef": {"kind": "Deployment", "name": "x"}, "updatePolicy": {"updateMode": "Recreate", "minReplicas": 0}}
    }));
    let err = vpas.create(&PostParams::default(), &bad).await.unwrap_err();
    assert!(err.to_string().contains("minReplicas"), "{err}");

    // Webhook gone: pods are still created (failurePolicy Ignore), just not patched.
    stop_tx.send(()).unwrap();
    controller.await.unwrap().unwrap();
    let unpatched = new_pod(&client, "hamster", 2).await.unwrap();
    assert_eq!(
        requests(&unpatched),
        json!({"cpu": "100m", "memory": "50Mi"})
    );
    sim.shutdown().await;
}
