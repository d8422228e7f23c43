//! Watch caches (kube-runtime reflectors) of what the recommender reads every loop: VPAs, pods
//! and the controllers VPAs can target, plus two OOM sources: pod updates (compared with the
//! cached previous version) and `reason=Evicted` events. Cached objects are trimmed to the
//! fields the recommender reads, so tens of thousands of pods stay cheap. Edge.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::warn;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::{ControllerKey, selector_from_labels};
use vpa_common::watch::api;
use vpa_common::watch::compact::{CompactStore, reflect_compact};

use super::oom::{OomEvent, ooms_in_eviction_event, ooms_in_pod_update};
use super::pod::{CachedPod, LabelInterner, WirePod};
use super::snapshot::{ControllerInfo, Controllers};
use super::vpa::CachedVpa;

/// Field selector of the pods modelled: everything past Pending, as upstream.
pub const POD_FIELD_SELECTOR: &str = "status.phase!=Pending";
/// Field selector of the events that can carry OOM kills.
pub const EVICTION_EVENT_FIELD_SELECTOR: &str = "reason=Evicted";
/// OOM kills buffered between loops (upstream's channel size).
pub const OOM_BUFFER: usize = 5000;

/// The caches; dropping this stops every watch.
pub struct Watches {
    /// VPAs.
    pub vpas: CompactStore<CachedVpa>,
    /// Pods past Pending.
    pub pods: CompactStore<CachedPod>,
    /// Controllers by kind: their controlling owner and pod selector.
    controllers: Vec<(&'static str, CompactStore<ControllerInfo>)>,
    _tasks: JoinSet<()>,
}

fn ignore<K>(_: Option<&K>, _: &K) {}

/// What the snapshot keeps of a controller: its own controlling owner reference (if any) and
/// its pod selector. A controller run by a well-known one (a Deployment's ReplicaSet, a
/// CronJob's Job) cannot be a VPA target (see `resolve_target`), so its selector is not kept: at
/// 10k Deployments their ReplicaSets' selectors took 5 MiB.
fn controller_info(meta: ObjectMeta, selector: Option<LabelSelector>) -> ControllerInfo {
    let owner_references: Vec<_> = meta
        .owner_references
        .into_iter()
        .flatten()
        .filter(|o| o.controller == Some(true))
        .take(1)
        .collect();
    let targetable = owner_references
        .iter()
        .all(|o| !ControllerKey::from_owner(o).is_well_known());
    ControllerInfo {
        owner_references,
        selector: selector.filter(|_| targetable).map(Arc::new),
    }
}

fn deployment(d: Deployment) -> ControllerInfo {
    controller_info(d.metadata, d.spec.map(|s| s.selector))
}

fn replica_set(r: ReplicaSet) -> ControllerInfo {
    controller_info(r.metadata, r.spec.map(|s| s.selector))
}

fn stateful_set(s: StatefulSet) -> ControllerInfo {
    controller_info(s.metadata, s.spec.map(|s| s.selector))
}

fn daemon_set(d: DaemonSet) -> ControllerInfo {
    controller_info(d.metadata, d.spec.map(|s| s.selector))
}

fn job(j: Job) -> ControllerInfo {
    controller_info(j.metadata, j.spec.and_then(|s| s.selector))
}

/// A CronJob selects the pods of its jobs by the job template's pod labels.
fn cron_job(c: CronJob) -> ControllerInfo {
    let selector = c
        .spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .and_then(|j| j.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .map(selector_from_labels);
    controller_info(c.metadata, selector)
}

/// A ReplicationController's selector is a label map, defaulting to its template's labels.
fn replication_controller(rc: ReplicationController) -> ControllerInfo {
    let selector = rc.spec.as_ref().and_then(|spec| {
        spec.selector
            .as_ref()
            .or_else(|| {
                spec.template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.as_ref())
            })
            .map(selector_from_labels)
    });
    controller_info(rc.metadata, selector)
}

impl Watches {
    /// Starts every watch (all namespaces, or only `namespace`); OOM kills go to `ooms`.
    /// Eviction events listed at start (history, not news) are ignored.
    pub fn start(client: &Client, namespace: Option<&str>, ooms: mpsc::Sender<OomEvent>) -> Self {
        let mut tasks = JoinSet::new();
        let all = watcher::Config::default;
        let pod_ooms = ooms.clone();
        let mut labels = LabelInterner::default();
        let pods = reflect_compact(
            api::<WirePod>(client, namespace),
            all().fields(POD_FIELD_SELECTOR),
            &mut tasks,
            move |pod| CachedPod::from_wire(pod, &mut labels),
            // Only updates count, as upstream: a pod first seen already OOM-killed (for example
            // after a restart of the recommender) was most likely counted before.
            move |old: Option<&CachedPod>, new: &CachedPod| {
                let Some(old) = old else { return };
                for oom in ooms_in_pod_update(Some(old), new) {
                    let _ = pod_ooms.try_send(oom);
                }
            },
        );
        let events: Api<Event> = api(client, namespace);
        let stream = watcher(events, all().fields(EVICTION_EVENT_FIELD_SELECTOR)).default_backoff();
        tasks.spawn(async move {
            stream
                .for_each(|event| {
                    match event {
                        Ok(watcher::Event::Apply(e)) => {
                            for oom in ooms_in_eviction_event(&e) {
                                let _ = ooms.try_send(oom);
                            }
                        }
                        Err(error) => warn!(kind = "Event", %error, "Watch error; retrying"),
                        Ok(_) => {}
                    }
                    futures::future::ready(())
                })
                .await;
        });
        let mut controllers = Vec::new();
        let mut watch = |kind: &'static str, store| controllers.push((kind, store));
        watch(
            "Deployment",
            reflect_compact(
                api(client, namespace),
                all(),
                &mut tasks,
                deployment,
                ignore,
            ),
        );
        watch(
            "ReplicaSet",
            reflect_compact(
                api(client, namespace),
                all(),
                &mut tasks,
                replica_set,
                ignore,
            ),
        );
        watch(
            "StatefulSet",
            reflect_compact(
                api(client, namespace),
                all(),
                &mut tasks,
                stateful_set,
                ignore,
            ),
        );
        watch(
            "DaemonSet",
            reflect_compact(
                api(client, namespace),
                all(),
                &mut tasks,
                daemon_set,
                ignore,
            ),
        );
        watch(
            "Job",
            reflect_compact(api(client, namespace), all(), &mut tasks, job, ignore),
        );
        watch(
            "CronJob",
            reflect_compact(api(client, namespace), all(), &mut tasks, cron_job, ignore),
        );
        watch(
            "ReplicationController",
            reflect_compact(
                api(client, namespace),
                all(),
                &mut tasks,
                replication_controller,
                ignore,
            ),
        );
        Self {
            vpas: reflect_compact(
                api::<VerticalPodAutoscaler>(client, namespace),
                all(),
                &mut tasks,
                CachedVpa::from,
                ignore,
            ),
            pods,
            controllers,
            _tasks: tasks,
        }
    }

    /// Waits for the first full list of VPAs and pods, and of each controller kind for at most
    /// `controllers_timeout` (a kind the server does not serve stays empty, with a warning).
    pub async fn wait_ready(&self, controllers_timeout: Duration) -> anyhow::Result<()> {
        let (vpas, pods) = (self.vpas.clone(), self.pods.clone());
        let core: Pin<Box<dyn Future<Output = bool> + Send>> =
            Box::pin(async move { vpas.wait_until_ready().await && pods.wait_until_ready().await });
        if !core.await {
            anyhow::bail!("the VPA or pod watch stopped before its first list");
        }
        let waits = self.controllers.iter().map(|(kind, store)| {
            let store = store.clone();
            async move {
                let ready = tokio::time::timeout(controllers_timeout, store.wait_until_ready());
                (*kind, matches!(ready.await, Ok(true)))
            }
        });
        for (kind, ready) in futures::future::join_all(waits).await {
            if !ready {
                warn!(
                    kind,
                    "Controller cache not synced; VPAs targeting this kind wait for it"
                );
            }
        }
        Ok(())
    }

    /// The controllers as the snapshot needs them (sharing the cached records).
    pub fn controllers(&self) -> Controllers {
        let mut out = Controllers::default();
        for (kind, store) in &self.controllers {
            store.for_each(|namespace, name, info| {
                out.insert_shared(namespace, kind, name, info.clone())
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    fn owner(kind: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            kind: kind.into(),
            name: "x".into(),
            controller: Some(controller),
            ..Default::default()
        }
    }

    #[test]
    fn controllers_keep_their_controlling_owner_and_selector_only() {
        let mut rc = ReplicationController::default();
        rc.metadata.owner_references = Some(vec![owner("Thing", false), owner("Rollout", true)]);
        rc.spec = Some(k8s_openapi::api::core::v1::ReplicationControllerSpec {
            template: Some(k8s_openapi::api::core::v1::PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some([("app".to_string(), "web".to_string())].into()),
                    ..Default::default()
                }),
                spec: None,
            }),
            ..Default::default()
        });
        let info = replication_controller(rc);
        assert_eq!(info.owner_references, [owner("Rollout", true)]);
        let labels = info.selector.unwrap().match_labels.clone().unwrap();
        assert_eq!(
            labels["app"], "web",
            "an RC without selector selects its template's labels"
        );
        assert_eq!(deployment(Deployment::default()).selector, None);
    }

    #[test]
    fn controllers_run_by_a_well_known_one_keep_no_selector() {
        let mut rs = ReplicaSet {
            spec: Some(k8s_openapi::api::apps::v1::ReplicaSetSpec {
                selector: selector_from_labels(&[("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            replica_set(rs.clone()).selector.is_some(),
            "a bare ReplicaSet"
        );
        let mut owned = rs.clone();
        owned.metadata.owner_references = Some(vec![owner("Deployment", true)]);
        let info = replica_set(owned);
        assert_eq!(info.owner_references, [owner("Deployment", true)]);
        assert_eq!(info.selector, None);
        rs.metadata.owner_references = Some(vec![owner("Rollout", true)]);
        assert!(
            replica_set(rs).selector.is_some(),
            "a custom owner may not be scalable: the ReplicaSet may still be the target"
        );
    }
}
