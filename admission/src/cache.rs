//! Watch caches (edge): kube-runtime reflectors for the well-known controllers and watches
//! feeding per-namespace indexes of VPAs, LimitRanges and HPAs (a request reads only its
//! namespace's), behind [`ClusterView`]. Controllers are trimmed to what matching needs (owner
//! references, selector, replicas) to keep memory small.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{LimitRange, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::matching::{ControllerKey, ControllerLookup, selector_from_labels};
use vpa_common::scale::ScaleCache;
use vpa_common::watch::{self, api};

use crate::ns_index::{NamespaceIndex, WatchIndex};
use crate::view::ClusterView;
use crate::vpa_index::{IndexedVpa, VpaIndex};

/// Reflector-backed cluster state.
#[derive(Clone)]
pub struct ReflectorView {
    /// VPAs by namespace with parsed recommendations, fed by their own watch (not a `Store`,
    /// so that deletes and relists reach the index).
    vpas: Arc<RwLock<VpaIndex>>,
    vpas_ready: tokio::sync::watch::Receiver<bool>,
    /// LimitRanges by namespace, fed by their own watch.
    limit_ranges: Arc<RwLock<NamespaceIndex<LimitRange>>>,
    limit_ranges_ready: tokio::sync::watch::Receiver<bool>,
    /// HPAs by namespace (status dropped), fed by their own watch; optional for readiness.
    hpas: Arc<RwLock<NamespaceIndex<HorizontalPodAutoscaler>>>,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    stateful_sets: Store<StatefulSet>,
    daemon_sets: Store<DaemonSet>,
    jobs: Store<Job>,
    cron_jobs: Store<CronJob>,
    replication_controllers: Store<ReplicationController>,
    scales: Arc<RwLock<ScaleTargets>>,
    synced: Arc<AtomicBool>,
    /// The reflector tasks; they stop when the last clone of the view is dropped.
    _tasks: Arc<JoinSet<()>>,
}

/// VPA targets of kinds outside the well-known ones, resolved through their scale subresource.
#[derive(Default)]
struct ScaleTargets {
    selectors: HashMap<(String, String, String), LabelSelector>,
    kinds: HashSet<String>,
}

/// How often the scale-subresource selectors of custom-kind VPA targets are refreshed (only
/// missing, failed or ten-minute-old answers are fetched again).
const SCALE_REFRESH: Duration = Duration::from_secs(10);

/// Starts one reflector on `tasks`; `trim` drops fields the webhook never reads.
fn reflect<K>(api: Api<K>, tasks: &mut JoinSet<()>, trim: fn(&mut K)) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    watch::reflect(api, watcher::Config::default(), tasks, trim, |_, _| {})
}

fn keep<K>(_: &mut K) {}

/// Starts on `tasks` a watch of `api` that feeds `index` (a plain watch rather than a reflector
/// `Store`, so that the index sees deletes and relists); objects lose their managed fields and
/// go through `trim` first. The returned flag turns true once the first list is in. Errors are
/// logged as `vpa_common::watch::reflect` logs them and retried with the same backoff.
fn feed<K, I>(
    api: Api<K>,
    tasks: &mut JoinSet<()>,
    index: Arc<RwLock<I>>,
    trim: fn(&mut K),
) -> tokio::sync::watch::Receiver<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    I: WatchIndex<K> + Send + Sync + 'static,
{
    let (ready, ready_rx) = tokio::sync::watch::channel(false);
    let kind = K::kind(&()).to_string();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(move |o: &mut K| {
            o.managed_fields_mut().clear();
            trim(o);
        });
    tasks.spawn(stream.for_each(move |event| {
        match event {
            Ok(event) => {
                let mut index = index.write().unwrap_or_else(|e| e.into_inner());
                index.handle(event);
                if index.is_ready() {
                    ready.send_if_modified(|r| !std::mem::replace(r, true));
                }
            }
            // Not served (no VPA CRD yet, no HPAs): expected on some clusters.
            Err(watcher::Error::InitialListFailed(kube::Error::Api(s))) if s.code == 404 => {
                tracing::debug!(%kind, "Resource not served; retrying");
            }
            Err(error) => tracing::warn!(%kind, %error, "Watch error; retrying"),
        }
        futures::future::ready(())
    }));
    ready_rx
}

/// Waits until `ready` turns true (or its sender is gone).
async fn wait_ready(mut ready: tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it here.
    let _ = ready.wait_for(|r| *r).await.is_ok();
}

impl ReflectorView {
    /// Starts every reflector (all namespaces, or one when `namespace` is set) and a task that
    /// marks the view synced once each has listed.
    pub fn start(client: &Client, namespace: Option<&str>) -> Self {
        let mut tasks = JoinSet::new();
        let vpas = Arc::new(RwLock::new(VpaIndex::default()));
        let vpas_ready = feed(api(client, namespace), &mut tasks, vpas.clone(), keep);
        let limit_ranges = Arc::new(RwLock::new(NamespaceIndex::default()));
        let limit_ranges_ready = feed(
            api(client, namespace),
            &mut tasks,
            limit_ranges.clone(),
            keep,
        );
        let hpas = Arc::new(RwLock::new(NamespaceIndex::default()));
        feed(
            api(client, namespace),
            &mut tasks,
            hpas.clone(),
            |h: &mut HorizontalPodAutoscaler| h.status = None,
        );
        let view = Self {
            vpas,
            vpas_ready,
            limit_ranges,
            limit_ranges_ready,
            hpas,
            deployments: reflect(api(client, namespace), &mut tasks, |d: &mut Deployment| {
                d.status = None;
                if let Some(s) = d.spec.as_mut() {
                    s.template.spec = None;
                }
            }),
            replica_sets: reflect(api(client, namespace), &mut tasks, |r: &mut ReplicaSet| {
                r.status = None;
                if let Some(s) = r.spec.as_mut() {
                    s.template = None;
                }
            }),
            stateful_sets: reflect(api(client, namespace), &mut tasks, |s: &mut StatefulSet| {
                s.status = None;
                if let Some(spec) = s.spec.as_mut() {
                    spec.template.spec = None;
                    spec.volume_claim_templates = None;
                }
            }),
            daemon_sets: reflect(api(client, namespace), &mut tasks, |d: &mut DaemonSet| {
                d.status = None;
                if let Some(s) = d.spec.as_mut() {
                    s.template.spec = None;
                }
            }),
            jobs: reflect(api(client, namespace), &mut tasks, |j: &mut Job| {
                j.status = None;
                if let Some(s) = j.spec.as_mut() {
                    s.template.spec = None;
                }
            }),
            cron_jobs: reflect(api(client, namespace), &mut tasks, |c: &mut CronJob| {
                c.status = None;
                if let Some(js) = c.spec.as_mut().and_then(|s| s.job_template.spec.as_mut()) {
                    js.template.spec = None;
                }
            }),
            replication_controllers: reflect(
                api(client, namespace),
                &mut tasks,
                |r: &mut ReplicationController| {
                    r.status = None;
                    if let Some(s) = r.spec.as_mut() {
                        s.template = None;
                    }
                },
            ),
            scales: Arc::default(),
            synced: Arc::new(AtomicBool::new(false)),
            _tasks: Arc::new(tasks),
        };
        let (vpas, scales, synced) = (view.vpas.clone(), view.scales.clone(), view.synced.clone());
        let client = client.clone();
        tokio::spawn(async move {
            let mut cache = ScaleCache::new(client);
            loop {
                // Polls the synced flag rather than awaiting the VPA store from a second task:
                // in our tests that second wait never resolved (the sync task above got it).
                if !synced.load(Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let all = vpas.read().unwrap_or_else(|e| e.into_inner()).all();
                cache.refresh(all).await;
                let mut fresh = ScaleTargets::default();
                for (namespace, kind, name, answer) in cache.answers() {
                    match answer {
                        Ok(selector) => {
                            let key = (namespace.to_owned(), kind.to_owned(), name.to_owned());
                            fresh.selectors.insert(key, selector.clone());
                            fresh.kinds.insert(kind.to_owned());
                        }
                        Err(why) => {
                            tracing::debug!(%namespace, %kind, %name, %why, "VPA target not resolvable")
                        }
                    }
                }
                *scales.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                tokio::time::sleep(SCALE_REFRESH).await;
            }
        });
        let v = view.clone();
        tokio::spawn(async move {
            // HPAs and ReplicationControllers are optional: a cluster (or API server) without
            // them must not keep every pod unpatched.
            let _ = futures::join!(
                wait_ready(v.vpas_ready.clone()),
                wait_ready(v.limit_ranges_ready.clone()),
                v.deployments.wait_until_ready(),
                v.replica_sets.wait_until_ready(),
                v.stateful_sets.wait_until_ready(),
                v.daemon_sets.wait_until_ready(),
                v.jobs.wait_until_ready(),
                v.cron_jobs.wait_until_ready(),
            );
            v.synced.store(true, Ordering::Release);
            tracing::info!("Watch caches synced");
        });
        view
    }
}

fn get<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

impl ControllerLookup for ReflectorView {
    fn owner_references(&self, ns: &str, key: &ControllerKey) -> Option<Vec<OwnerReference>> {
        let n = key.name.as_str();
        let owners = match key.kind.as_str() {
            "Deployment" => get(&self.deployments, ns, n)?.owner_references().to_vec(),
            "ReplicaSet" => get(&self.replica_sets, ns, n)?.owner_references().to_vec(),
            "StatefulSet" => get(&self.stateful_sets, ns, n)?.owner_references().to_vec(),
            "DaemonSet" => get(&self.daemon_sets, ns, n)?.owner_references().to_vec(),
            "Job" => get(&self.jobs, ns, n)?.owner_references().to_vec(),
            "CronJob" => get(&self.cron_jobs, ns, n)?.owner_references().to_vec(),
            "ReplicationController" => get(&self.replication_controllers, ns, n)?
                .owner_references()
                .to_vec(),
            // A scalable custom kind: its own owners are not cached, so the walk stops there.
            _ => {
                self.scale_selector(ns, key)?;
                Vec::new()
            }
        };
        Some(owners)
    }

    fn selector(&self, ns: &str, key: &ControllerKey) -> Option<LabelSelector> {
        let n = key.name.as_str();
        match key.kind.as_str() {
            "Deployment" => Some(
                get(&self.deployments, ns, n)?
                    .spec
                    .as_ref()?
                    .selector
                    .clone(),
            ),
            "ReplicaSet" => Some(
                get(&self.replica_sets, ns, n)?
                    .spec
                    .as_ref()?
                    .selector
                    .clone(),
            ),
            "StatefulSet" => Some(
                get(&self.stateful_sets, ns, n)?
                    .spec
                    .as_ref()?
                    .selector
                    .clone(),
            ),
            "DaemonSet" => Some(
                get(&self.daemon_sets, ns, n)?
                    .spec
                    .as_ref()?
                    .selector
                    .clone(),
            ),
            "Job" => get(&self.jobs, ns, n)?.spec.as_ref()?.selector.clone(),
            "CronJob" => {
                let cj = get(&self.cron_jobs, ns, n)?;
                let labels = cj
                    .spec
                    .as_ref()?
                    .job_template
                    .spec
                    .as_ref()?
                    .template
                    .metadata
                    .as_ref()?
                    .labels
                    .clone()?;
                Some(selector_from_labels(&labels))
            }
            "ReplicationController" => {
                let rc = get(&self.replication_controllers, ns, n)?;
                Some(selector_from_labels(rc.spec.as_ref()?.selector.as_ref()?))
            }
            _ => self.scale_selector(ns, key),
        }
    }

    fn is_scalable(&self, key: &ControllerKey) -> bool {
        let scales = self.scales.read().unwrap_or_else(|e| e.into_inner());
        scales.kinds.contains(&key.kind)
    }
}

impl ReflectorView {
    fn scale_selector(&self, ns: &str, key: &ControllerKey) -> Option<LabelSelector> {
        let scales = self.scales.read().unwrap_or_else(|e| e.into_inner());
        let wanted = (ns.to_owned(), key.kind.clone(), key.name.clone());
        scales.selectors.get(&wanted).cloned()
    }
}

impl ClusterView for ReflectorView {
    fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    fn vpas(&self, namespace: &str) -> Vec<Arc<IndexedVpa>> {
        let index = self.vpas.read().unwrap_or_else(|e| e.into_inner());
        index.in_namespace(namespace)
    }

    fn limits(&self, namespace: &str) -> NamespaceLimits {
        let ranges = self
            .limit_ranges
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .in_namespace(namespace);
        NamespaceLimits::from_limit_ranges(ranges.iter().map(|l| l.as_ref()))
    }

    fn hpas(&self, namespace: &str) -> Vec<Arc<HorizontalPodAutoscaler>> {
        self.hpas
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .in_namespace(namespace)
    }

    fn replicas(&self, ns: &str, key: &ControllerKey) -> Option<i32> {
        let n = key.name.as_str();
        match key.kind.as_str() {
            "Deployment" => get(&self.deployments, ns, n)?.spec.as_ref()?.replicas,
            "ReplicaSet" => get(&self.replica_sets, ns, n)?.spec.as_ref()?.replicas,
            "StatefulSet" => get(&self.stateful_sets, ns, n)?.spec.as_ref()?.replicas,
            "ReplicationController" => {
                get(&self.replication_controllers, ns, n)?
                    .spec
                    .as_ref()?
                    .replicas
            }
            _ => None,
        }
    }
}
