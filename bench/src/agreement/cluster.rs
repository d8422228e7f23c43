//! The live-agreement test's cluster (edge): a sim seeded with the [`workloads`] as Deployments of
//! Running pods, two `updateMode: Off` VPAs per workload (one per recommender, same targetRef),
//! and the test's hand on time: PodMetrics written with the timestamp of each step, OOM kills
//! written into pod status as the kubelet reports them.

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use vpa_sim::GroupResource;
use vpa_sim::seed::DeploymentSeed;
use vpa_sim::{Sim, SimOptions};

use super::workloads::{self, PODS, SHAPES, Shape};

/// The namespace of every workload.
pub const NAMESPACE: &str = "agreement";

/// Simulated time between two steps (metrics-server's usual resolution is 15–60 s; a minute keeps
/// one sample per minute, the unit confidence counts in).
pub const STEP: ChronoDuration = ChronoDuration::minutes(1);

/// The sim, the time of step 0 and an admin client.
pub struct AgreementCluster {
    /// The API server.
    pub sim: Sim,
    /// Admin client.
    pub client: kube::Client,
    /// Time of step 0 (in the past, so that no sample is ever in the future).
    pub start: DateTime<Utc>,
}

/// Name of the VPA of `shape` that recommender `recommender` owns.
pub fn vpa_name(shape: Shape, recommender: &str) -> String {
    format!("{}-{recommender}", shape.name())
}

/// Name of pod `pod` of `shape`.
pub fn pod_name(shape: Shape, pod: usize) -> String {
    format!("{}-rs-{pod}", shape.name())
}

fn vpa_api(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler");
    Api::namespaced_with(client.clone(), NAMESPACE, &ApiResource::from_gvk(&gvk))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl AgreementCluster {
    /// Starts the sim with the CRDs, the workloads and a VPA per workload for each of
    /// `recommenders`, step 0 lying `steps` minutes (plus an hour of slack) in the past.
    pub async fn start(recommenders: &[&str], steps: usize) -> anyhow::Result<AgreementCluster> {
        let sim = Sim::start(SimOptions::default()).await?;
        let client = sim.client().await?;
        vpa_test_support::install_vpa_crds(&client).await?;
        let start = Utc::now() - STEP * (steps as i32) - ChronoDuration::hours(1);
        vpa_sim::seed::namespace(sim.store(), NAMESPACE);
        for shape in SHAPES {
            vpa_sim::seed::deployment(
                sim.store(),
                &DeploymentSeed {
                    namespace: NAMESPACE,
                    name: shape.name(),
                    pods: PODS,
                    containers: &shape.container_specs(),
                    node: "node-1",
                    started_at: &rfc3339(start - ChronoDuration::minutes(5)),
                },
            );
            for r in recommenders {
                let vpa: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                    "metadata": {"name": vpa_name(shape, r), "namespace": NAMESPACE},
                    "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                        "name": shape.name()},
                        "recommenders": [{"name": r}],
                        "updatePolicy": {"updateMode": "Off"}}}))?;
                vpa_api(&client)
                    .create(&PostParams::default(), &vpa)
                    .await?;
            }
        }
        Ok(AgreementCluster { sim, client, start })
    }

    /// The time of step `step`.
    pub fn time_of(&self, step: usize) -> DateTime<Utc> {
        self.start + STEP * (step as i32)
    }

    /// Writes every pod's PodMetrics for `step`, timestamped with the step's time.
    pub fn publish_step(&self, step: usize) -> anyhow::Result<()> {
        let gr = GroupResource::new("metrics.k8s.io", "pods");
        let store = self.sim.store();
        for shape in SHAPES {
            for pod in 0..PODS {
                let name = pod_name(shape, pod);
                let containers: Vec<Value> = shape
                    .containers()
                    .iter()
                    .map(|c| {
                        let (cpu, mem) = shape.usage(c, pod, step);
                        json!({"name": c, "usage": workloads::usage_json(cpu, mem)})
                    })
                    .collect();
                let obj = json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "timestamp": rfc3339(self.time_of(step)), "window": "60s",
                    "containers": containers});
                match store.get(&gr, NAMESPACE, &name) {
                    Some(_) => store
                        .update(&gr, NAMESPACE, &name, obj, None, false)
                        .map(drop),
                    None => store.create(&gr, true, obj, false).map(drop),
                }
                .map_err(|e| anyhow::anyhow!("PodMetrics {name}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Removes every PodMetrics (so a restarted recommender has nothing but checkpoints).
    pub fn remove_metrics(&self) {
        let gr = GroupResource::new("metrics.k8s.io", "pods");
        for shape in SHAPES {
            for pod in 0..PODS {
                let _ = self.sim.store().delete(
                    &gr,
                    NAMESPACE,
                    &pod_name(shape, pod),
                    &Default::default(),
                );
            }
        }
    }

    /// Reports container `container` of `pod` as OOM-killed at `at` and running again, as the
    /// kubelet does: restartCount up by one, lastState terminated with reason OOMKilled.
    pub async fn oom_kill(
        &self,
        shape: Shape,
        pod: usize,
        container: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let name = pod_name(shape, pod);
        let current = serde_json::to_value(pods.get_status(&name).await?)?;
        let mut statuses = current["status"]["containerStatuses"].clone();
        for s in statuses.as_array_mut().into_iter().flatten() {
            if s["name"] == container {
                let restarts = s["restartCount"].as_i64().unwrap_or(0) + 1;
                s["restartCount"] = json!(restarts);
                s["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "startedAt": s["state"]["running"]["startedAt"], "finishedAt": rfc3339(at)}});
                s["state"] = json!({"running": {"startedAt": rfc3339(at)}});
            }
        }
        let patch = json!({"status": {"containerStatuses": statuses}});
        pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Every VPA by name.
    pub async fn vpas(&self) -> anyhow::Result<Vec<Value>> {
        let list = vpa_api(&self.client).list(&Default::default()).await?;
        list.items
            .into_iter()
            .map(|v| Ok(serde_json::to_value(v)?))
            .collect()
    }

    /// Clears the status of every VPA (so a recommendation seen afterwards is a new one).
    pub async fn clear_statuses(&self) -> anyhow::Result<()> {
        let api = vpa_api(&self.client);
        for v in self.vpas().await? {
            let name = v["metadata"]["name"].as_str().unwrap_or_default();
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": null})),
            )
            .await?;
        }
        Ok(())
    }

    /// The checkpoints in the namespace.
    pub async fn checkpoints(&self) -> anyhow::Result<Vec<Value>> {
        let gvk = GroupVersionKind::gvk(
            "autoscaling.k8s.io",
            "v1",
            "VerticalPodAutoscalerCheckpoint",
        );
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), NAMESPACE, &ApiResource::from_gvk(&gvk));
        let list = api.list(&Default::default()).await?;
        list.items
            .into_iter()
            .map(|c| Ok(serde_json::to_value(c)?))
            .collect()
    }

    /// Stops the sim.
    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}
