//! Watch caches (kube-runtime reflectors) of what the recommender reads every loop: VPAs, pods
//! and the controllers VPAs can target, plus two OOM sources: pod updates (compared with the
//! cached previous version) and `reason=Evicted` events. Cached objects are trimmed to the
//! fields the recommender reads, so tens of thousands of pods stay cheap. Edge.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::Api;
use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::WriterDropped;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::warn;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::selector_from_labels;
use vpa_common::watch::{api, reflect as cache, synced_within as wait};

use super::oom::{OomEvent, ooms_in_eviction_event, ooms_in_pod_update};
use super::pod::CachedPod;
use super::snapshot::{ControllerInfo, Controllers};

/// Field selector of the pods modelled: everything past Pending, as upstream.
pub const POD_FIELD_SELECTOR: &str = "status.phase!=Pending";
/// Field selector of the events that can carry OOM kills.
pub const EVICTION_EVENT_FIELD_SELECTOR: &str = "reason=Evicted";
/// OOM kills buffered between loops (upstream's channel size).
pub const OOM_BUFFER: usize = 5000;

/// The caches; dropping this stops every watch.
pub struct Watches {
    /// VPAs.
    pub vpas: Store<VerticalPodAutoscaler>,
    /// Pods past Pending.
    pub pods: Store<CachedPod>,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    stateful_sets: Store<StatefulSet>,
    daemon_sets: Store<DaemonSet>,
    jobs: Store<Job>,
    cron_jobs: Store<CronJob>,
    replication_controllers: Store<ReplicationController>,
    _tasks: JoinSet<()>,
}

fn no_trim<K>(_: &mut K) {}

fn ignore<K>(_: Option<&K>, _: &K) {}

/// Drops what the cached pod type still decodes but the recommender does not read.
fn trim_pod(pod: &mut CachedPod) {
    pod.metadata.annotations = None;
}

macro_rules! trim_template {
    ($name:ident, $ty:ty, |$o:ident| $body:expr) => {
        fn $name($o: &mut $ty) {
            $o.metadata.annotations = None;
            $o.status = None;
            $body;
        }
    };
}

trim_template!(
    trim_deployment,
    Deployment,
    |o| if let Some(s) = o.spec.as_mut() {
        s.template = Default::default()
    }
);
trim_template!(
    trim_replica_set,
    ReplicaSet,
    |o| if let Some(s) = o.spec.as_mut() {
        s.template = None
    }
);
trim_template!(
    trim_stateful_set,
    StatefulSet,
    |o| if let Some(s) = o.spec.as_mut() {
        s.template = Default::default();
        s.volume_claim_templates = None;
    }
);
trim_template!(
    trim_daemon_set,
    DaemonSet,
    |o| if let Some(s) = o.spec.as_mut() {
        s.template = Default::default()
    }
);
trim_template!(trim_job, Job, |o| if let Some(s) = o.spec.as_mut() {
    s.template = Default::default()
});
trim_template!(trim_cron_job, CronJob, |o| if let Some(s) = o.spec.as_mut()
    && let Some(t) = s.job_template.spec.as_mut()
{
    t.template.spec = None
});
trim_template!(
    trim_rc,
    ReplicationController,
    |o| if let Some(s) = o.spec.as_mut()
        && let Some(t) = s.template.as_mut()
    {
        t.spec = None
    }
);

impl Watches {
    /// Starts every watch (all namespaces, or only `namespace`); OOM kills go to `ooms`.
    /// Eviction events listed at start (history, not news) are ignored.
    pub fn start(client: &Client, namespace: Option<&str>, ooms: mpsc::Sender<OomEvent>) -> Self {
        let mut tasks = JoinSet::new();
        let all = watcher::Config::default;
        let pod_ooms = ooms.clone();
        let pods = cache(
            api(client, namespace),
            all().fields(POD_FIELD_SELECTOR),
            &mut tasks,
            trim_pod,
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
        Self {
            vpas: cache(api(client, namespace), all(), &mut tasks, no_trim, ignore),
            pods,
            deployments: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_deployment,
                ignore,
            ),
            replica_sets: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_replica_set,
                ignore,
            ),
            stateful_sets: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_stateful_set,
                ignore,
            ),
            daemon_sets: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_daemon_set,
                ignore,
            ),
            jobs: cache(api(client, namespace), all(), &mut tasks, trim_job, ignore),
            cron_jobs: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_cron_job,
                ignore,
            ),
            replication_controllers: cache(
                api(client, namespace),
                all(),
                &mut tasks,
                trim_rc,
                ignore,
            ),
            _tasks: tasks,
        }
    }

    /// Waits for the first full list of VPAs and pods, and of each controller kind for at most
    /// `controllers_timeout` (a kind the server does not serve stays empty, with a warning).
    pub async fn wait_ready(&self, controllers_timeout: Duration) -> anyhow::Result<()> {
        let (vpas, pods) = (self.vpas.clone(), self.pods.clone());
        let core: Pin<Box<dyn Future<Output = Result<(), WriterDropped>> + Send>> =
            Box::pin(async move {
                vpas.wait_until_ready().await?;
                pods.wait_until_ready().await
            });
        core.await?;
        let t = controllers_timeout;
        let (deployments, replica_sets, stateful_sets, daemon_sets, jobs, cron_jobs, rcs) = futures::join!(
            wait(self.deployments.clone(), t),
            wait(self.replica_sets.clone(), t),
            wait(self.stateful_sets.clone(), t),
            wait(self.daemon_sets.clone(), t),
            wait(self.jobs.clone(), t),
            wait(self.cron_jobs.clone(), t),
            wait(self.replication_controllers.clone(), t),
        );
        let kinds = [
            ("Deployment", deployments),
            ("ReplicaSet", replica_sets),
            ("StatefulSet", stateful_sets),
            ("DaemonSet", daemon_sets),
            ("Job", jobs),
            ("CronJob", cron_jobs),
            ("ReplicationController", rcs),
        ];
        for (kind, ready) in kinds {
            if !ready {
                warn!(
                    kind,
                    "Controller cache not synced; VPAs targeting this kind wait for it"
                );
            }
        }
        Ok(())
    }

    /// The controllers as the snapshot needs them.
    pub fn controllers(&self) -> Controllers {
        let mut out = Controllers::default();
        add(&mut out, &self.deployments, |d| {
            d.spec.as_ref().map(|s| s.selector.clone())
        });
        add(&mut out, &self.replica_sets, |r| {
            r.spec.as_ref().map(|s| s.selector.clone())
        });
        add(&mut out, &self.stateful_sets, |s| {
            s.spec.as_ref().map(|s| s.selector.clone())
        });
        add(&mut out, &self.daemon_sets, |d| {
            d.spec.as_ref().map(|s| s.selector.clone())
        });
        add(&mut out, &self.jobs, |j| {
            j.spec.as_ref().and_then(|s| s.selector.clone())
        });
        add(&mut out, &self.cron_jobs, |c| {
            c.spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .and_then(|j| j.template.metadata.as_ref())
                .and_then(|m| m.labels.as_ref())
                .map(selector_from_labels)
        });
        add(&mut out, &self.replication_controllers, |rc| {
            let spec = rc.spec.as_ref()?;
            let labels = spec.selector.as_ref().or_else(|| {
                spec.template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.as_ref())
            })?;
            Some(selector_from_labels(labels))
        });
        out
    }
}

fn add<K: Resource<DynamicType = ()> + Clone + 'static>(
    out: &mut Controllers,
    store: &Store<K>,
    selector: impl Fn(&K) -> Option<LabelSelector>,
) {
    let kind = K::kind(&());
    for o in store.state() {
        out.insert(
            o.meta().namespace.as_deref().unwrap_or_default(),
            &kind,
            o.meta().name.as_deref().unwrap_or_default(),
            ControllerInfo {
                owner_references: o.meta().owner_references.clone().unwrap_or_default(),
                selector: selector(&o),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::testutil::PodBuilder;

    use super::*;

    #[test]
    fn trimmed_pods_keep_what_the_recommender_reads() {
        let mut pod = PodBuilder::new("ns", "web-1")
            .label("app", "web")
            .annotation("big", "x")
            .owner("ReplicaSet", "web-rs")
            .container("app")
            .requests("100m", "50Mi")
            .init_container("setup", false)
            .build();
        pod.spec.as_mut().unwrap().containers[0].image = Some("registry/app:1".into());
        let mut cached = CachedPod::from(&pod);
        trim_pod(&mut cached);
        assert_eq!(cached.metadata.annotations, None);
        assert!(cached.metadata.labels.is_some() && cached.metadata.owner_references.is_some());
        let spec = cached.spec.unwrap();
        assert_eq!(spec.containers.len(), 1, "init containers are not kept");
        let app = &spec.containers[0];
        assert_eq!(app.name, "app");
        assert!(app.resources.as_ref().unwrap().requests.is_some());
    }
}
