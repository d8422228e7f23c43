//! The recommender workload on the real control plane: the same shape as on the sim (Deployments
//! of 5 pods with 1 to 3 containers over up to 100 namespaces, one VPA each), created through the
//! API; kube-controller-manager makes the ReplicaSets and pods, kube-scheduler places them on kwok
//! nodes, kwok runs them with the usage of their annotations, and metrics-server serves it as
//! PodMetrics. Both recommenders run as a ServiceAccount bound to cluster-admin, whose requests
//! the audit log counts. Between runs the checkpoints are deleted and the VPAs re-created, so each
//! run starts from the same state. Edge.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use vpa_bench::recommender_workload::{
    NAMESPACES, PODS_PER_WORKLOAD, containers, namespace, usage,
};
use vpa_kube_cluster::manifests::NodeShape;
use vpa_kube_cluster::{ControlPlane, Options};

use crate::recommender_run::Target;

const SERVICE_ACCOUNT: &str = "vpa-bench-peer";
const USER: &str = "system:serviceaccount:kube-system:vpa-bench-peer";
/// Pods per kwok node.
const PODS_PER_NODE: usize = 500;

/// A control plane with the workload.
pub struct KubeCluster {
    cp: Arc<ControlPlane>,
    client: kube::Client,
    kubeconfig: PathBuf,
    vpas: usize,
}

fn vpa_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler"),
        "verticalpodautoscalers",
    )
}

fn checkpoint_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "autoscaling.k8s.io",
            "v1",
            "VerticalPodAutoscalerCheckpoint",
        ),
        "verticalpodautoscalercheckpoints",
    )
}

fn deployment(w: usize) -> Value {
    let app = format!("app-{w}");
    let (cpu, memory) = usage(w, 0, 0);
    let specs: Vec<Value> = (0..containers(w))
        .map(|c| {
            json!({"name": format!("c{c}"), "image": "app:1",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}})
        })
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": namespace(w)},
        "spec": {"replicas": PODS_PER_WORKLOAD, "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app},
                "annotations": {"kwok.x-k8s.io/usage-cpu": cpu, "kwok.x-k8s.io/usage-memory": memory}},
                "spec": {"containers": specs}}}})
}

fn vpa(w: usize) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": format!("vpa-{w}"), "namespace": namespace(w)},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{w}")},
            "updatePolicy": {"updateMode": "Recreate"}}}))
    .expect("VPA object")
}

async fn wait_until(
    what: &str,
    timeout: Duration,
    mut done: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done().await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("[kube] {what}");
    Ok(())
}

impl KubeCluster {
    /// Starts the control plane from `bin_dir` with enough kwok nodes and creates the workload of
    /// `vpas` VPAs, waiting until every pod runs and has PodMetrics.
    pub async fn start(bin_dir: &Path, vpas: usize, dir: &Path) -> anyhow::Result<KubeCluster> {
        let pods = vpas * PODS_PER_WORKLOAD;
        let mut opts = Options::new(bin_dir.to_path_buf());
        opts.nodes = pods.div_ceil(PODS_PER_NODE) + 1;
        opts.node_shape = NodeShape {
            cpu: "1000".into(),
            memory: "4000Gi".into(),
            pods: PODS_PER_NODE as u32,
        };
        opts.dir = Some(dir.join("control-plane"));
        let cp = ControlPlane::start(opts).await?;
        let client = cp.client().await?;
        vpa_test_support::install_vpa_crds(&client).await?;
        let kubeconfig = dir.join("peer.kubeconfig");
        std::fs::write(
            &kubeconfig,
            cp.token_kubeconfig(&peer_token(&client).await?),
        )?;
        let cluster = KubeCluster {
            cp: Arc::new(cp),
            client,
            kubeconfig,
            vpas,
        };
        cluster.create_workload().await?;
        Ok(cluster)
    }

    async fn create_workload(&self) -> anyhow::Result<()> {
        let c = &self.client;
        let namespaces: Api<Namespace> = Api::all(c.clone());
        for n in 0..NAMESPACES.min(self.vpas) {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace(n)}});
            namespaces
                .create(&PostParams::default(), &serde_json::from_value(ns)?)
                .await?;
        }
        let started = Instant::now();
        for w in 0..self.vpas {
            let api: Api<k8s_openapi::api::apps::v1::Deployment> =
                Api::namespaced(c.clone(), &namespace(w));
            api.create(
                &PostParams::default(),
                &serde_json::from_value(deployment(w))?,
            )
            .await?;
        }
        let want = self.vpas * PODS_PER_WORKLOAD;
        let pods: Api<Pod> = Api::all(c.clone());
        wait_until(
            &format!("{want} pods Running"),
            Duration::from_secs(600),
            async || {
                let running = pods
                    .list(&ListParams::default().fields("status.phase=Running"))
                    .await?;
                Ok(running.items.len() >= want)
            },
        )
        .await?;
        let metrics = Api::<DynamicObject>::all_with(
            c.clone(),
            &ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics"),
                "pods",
            ),
        );
        wait_until(
            &format!("PodMetrics of {want} pods"),
            Duration::from_secs(300),
            async || {
                Ok(metrics
                    .list(&ListParams::default())
                    .await
                    .map(|l| l.items.len())
                    .unwrap_or(0)
                    >= want)
            },
        )
        .await?;
        eprintln!(
            "[kube] workload of {} VPAs ready in {:.0?}",
            self.vpas,
            started.elapsed()
        );
        self.create_vpas().await
    }

    async fn create_vpas(&self) -> anyhow::Result<()> {
        for w in 0..self.vpas {
            let api = Api::<DynamicObject>::namespaced_with(
                self.client.clone(),
                &namespace(w),
                &vpa_resource(),
            );
            api.create(&PostParams::default(), &vpa(w)).await?;
        }
        Ok(())
    }

    /// Deletes every checkpoint and VPA and creates the VPAs again: the state a run starts from.
    pub async fn reset(&self) -> anyhow::Result<()> {
        for resource in [checkpoint_resource(), vpa_resource()] {
            for n in 0..NAMESPACES.min(self.vpas) {
                let api = Api::<DynamicObject>::namespaced_with(
                    self.client.clone(),
                    &namespace(n),
                    &resource,
                );
                api.delete_collection(&DeleteParams::default(), &ListParams::default())
                    .await?;
            }
            let all = Api::<DynamicObject>::all_with(self.client.clone(), &resource);
            wait_until(
                &format!("no {} left", resource.plural),
                Duration::from_secs(120),
                async || {
                    Ok(all
                        .list(&ListParams::default().limit(1))
                        .await?
                        .items
                        .is_empty())
                },
            )
            .await?;
        }
        self.create_vpas().await
    }

    /// The recommenders' kubeconfig and their request count.
    pub fn target(&self) -> Target {
        let cp = self.cp.clone();
        Target {
            kubeconfig: self.kubeconfig.clone(),
            requests: Box::new(move || {
                cp.audit_records().iter().filter(|r| r.user == USER).count() as u64
            }),
        }
    }
}

/// A token of ServiceAccount `kube-system/vpa-bench-peer`, bound to cluster-admin.
async fn peer_token(client: &kube::Client) -> anyhow::Result<String> {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "kube-system");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT}});
    sas.create(&PostParams::default(), &serde_json::from_value(sa)?)
        .await?;
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": SERVICE_ACCOUNT},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": "kube-system"}]});
    let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(client.clone());
    bindings
        .create(&PostParams::default(), &serde_json::from_value(binding)?)
        .await?;
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"expirationSeconds": 86400}}))?;
    let token = sas
        .create_token_request(SERVICE_ACCOUNT, &PostParams::default(), &request)
        .await?;
    token
        .status
        .map(|s| s.token)
        .ok_or_else(|| anyhow::anyhow!("the TokenRequest has no token"))
}
