//! End to end in the in-memory API server: the real admission controller (`run_until`) against
//! `vpa-sim` with its simulated cluster: the Deployment and ReplicaSet controllers create the
//! pods, and the sim's webhook dispatcher calls the registered webhook over TLS the way
//! kube-apiserver does (AdmissionReview v1, only the registered caBundle trusted, the registered
//! failurePolicy honoured).

mod sim_support;

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{LimitRange, Pod, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sim_support::url_registered_args;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_sim::cluster::ClusterOptions;
use vpa_sim::free_port;
use vpa_test_support::sim_cluster::{sim_with_vpa_crds, start_cluster};
use vpa_test_support::{create, eventually_within, object};

/// How long each wait of these tests may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// A VPA for Deployment `name` in `namespace` with `mode`, recommending 250m / 200Mi for its
/// container (as the recommender would have written it).
async fn vpa(client: &kube::Client, namespace: &str, name: &str, mode: &str) {
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
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

/// A Deployment `name` of `replicas` whose container requests 100m / 50Mi and is limited to
/// 200m / 100Mi.
async fn deployment(client: &kube::Client, namespace: &str, name: &str, replicas: i32) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    create(&deployments, json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "i",
                     "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}}}]}}}
    }))
    .await;
}

/// The pods of Deployment `app` once there are `count` of them.
async fn pods(client: &kube::Client, namespace: &str, app: &str, count: usize) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let what = format!("{count} pods of {namespace}/{app}");
    eventually_within(&what, PATIENCE, || {
        let pods = pods.clone();
        async move {
            let list = pods
                .list(&ListParams::default().labels(&format!("app={app}")))
                .await
                .ok()?;
            (list.items.len() == count).then_some(list.items)
        }
    })
    .await
}

fn resources(pod: &Pod) -> Value {
    let r = pod.spec.as_ref().unwrap().containers[0]
        .resources
        .as_ref()
        .unwrap();
    json!({"requests": r.requests, "limits": r.limits})
}

fn original() -> Value {
    json!({"requests": {"cpu": "100m", "memory": "50Mi"}, "limits": {"cpu": "200m", "memory": "100Mi"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_controller_in_the_sim_patches_the_pods_controllers_create() {
    let (sim, client) = sim_with_vpa_crds(&["default", "kube-system", "limited"]).await;
    // Controllers, scheduler, kubelets, and webhook calls as kube-apiserver makes them.
    let cluster = start_cluster(
        &sim,
        ClusterOptions {
            webhooks: true,
            ..ClusterOptions::default()
        },
    )
    .await;
    eventually_within("VPA CRD served", PATIENCE, || {
        let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), "default");
        async move { vpas.list(&Default::default()).await.ok() }
    })
    .await;
    vpa(&client, "default", "hamster", "Recreate").await;
    vpa(&client, "default", "quiet", "Off").await;
    vpa(&client, "limited", "capped", "Recreate").await;
    // Only in `limited`: containers may not be limited to more than 300m of CPU.
    let ranges: Api<LimitRange> = Api::namespaced(client.clone(), "limited");
    create(
        &ranges,
        json!({"metadata": {"name": "cpu-max"}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "300m"}}]}}),
    )
    .await;

    let (port, admin) = (free_port(), free_port());
    let args = url_registered_args(&sim, port, admin, &["--status-lease-update-interval=1s"]);
    let config = args.into_config(false).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(vpa_admission_controller::run::run_until(config, async {
        let _ = stop_rx.await;
    }));

    // Self-registration, certificates in the Secret, the status Lease.
    let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let registered = eventually_within("webhook registration", PATIENCE, || {
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
    eventually_within("status lease", PATIENCE, || {
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
    eventually_within("readiness", PATIENCE, || {
        let url = ready_url.clone();
        async move {
            reqwest::get(&url)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;

    // The ReplicaSet controller's pods get the recommendation, limits kept in proportion.
    deployment(&client, "default", "hamster", 2).await;
    deployment(&client, "default", "quiet", 1).await;
    deployment(&client, "limited", "capped", 1).await;
    for pod in pods(&client, "default", "hamster", 2).await {
        assert_eq!(
            resources(&pod),
            json!({"requests": {"cpu": "250m", "memory": "200Mi"}, "limits": {"cpu": "500m", "memory": "400Mi"}})
        );
        let annotations = pod.metadata.annotations.unwrap();
        assert_eq!(annotations["vpaObservedContainers"], "hamster");
        assert!(annotations["vpaUpdates"].starts_with("Pod resources updated by hamster-vpa"));
    }
    // The Off workload is untouched.
    let quiet = pods(&client, "default", "quiet", 1).await;
    assert_eq!(resources(&quiet[0]), original());
    // In `limited` the namespace's LimitRange (and only there) holds the limit to 300m, so the
    // request stays at half of it.
    let capped = pods(&client, "limited", "capped", 1).await;
    assert_eq!(
        resources(&capped[0]),
        json!({"requests": {"cpu": "150m", "memory": "200Mi"}, "limits": {"cpu": "300m", "memory": "400Mi"}})
    );

    // An invalid VPA is rejected through the webhook.
    let vpas: Api<VerticalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    let bad: VerticalPodAutoscaler = object(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "bad"},
        "spec": {"targetRef": {"kind": "Deployment", "name": "x"}, "updatePolicy": {"updateMode": "Recreate", "minReplicas": 0}}
    }));
    let err = vpas.create(&PostParams::default(), &bad).await.unwrap_err();
    assert!(err.to_string().contains("minReplicas"), "{err}");

    // Webhook gone: the registered failurePolicy (Ignore) lets the ReplicaSet controller create
    // pods anyway, just not patched.
    stop_tx.send(()).unwrap();
    controller.await.unwrap().unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .patch(
            "hamster",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    let after = pods(&client, "default", "hamster", 3).await;
    let unpatched: Vec<&Pod> = after
        .iter()
        .filter(|p| resources(p) == original())
        .collect();
    assert_eq!(unpatched.len(), 1, "the third pod is created unpatched");
    cluster.stop().await;
    sim.shutdown().await;
}
