//! Watch caches (edge): the shared controller caches (`vpa_common::controllers`, read live per
//! request) and watches feeding per-namespace indexes of VPAs, LimitRanges and HPAs (a request
//! reads only its namespace's), behind [`ClusterView`].

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::LimitRange;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use vpa_common::controllers::{ControllerIndex, ControllerWatches, Replicas, ScaleTargets};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::matching::{ControllerKey, ControllerLookup};
use vpa_common::scale::ScaleCache;
use vpa_common::watch::api;

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
    /// The well-known controllers, read live, with the scale answers of other kinds' VPA
    /// targets (replaced by the refresh task).
    controllers: Arc<RwLock<ControllerIndex<ControllerWatches>>>,
    synced: Arc<AtomicBool>,
    /// The reflector tasks; they stop when the last clone of the view is dropped.
    _tasks: Arc<JoinSet<()>>,
}

/// How often the scale-subresource selectors of custom-kind VPA targets are refreshed (only
/// missing, failed or ten-minute-old answers are fetched again).
const SCALE_REFRESH: Duration = Duration::from_secs(10);

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
        let watches = ControllerWatches::start(client, namespace, &mut tasks);
        let view = Self {
            vpas,
            vpas_ready,
            limit_ranges,
            limit_ranges_ready,
            hpas,
            controllers: Arc::new(RwLock::new(ControllerIndex::new(watches.clone()))),
            synced: Arc::new(AtomicBool::new(false)),
            _tasks: Arc::new(tasks),
        };
        let (vpas, controllers, synced) = (
            view.vpas.clone(),
            view.controllers.clone(),
            view.synced.clone(),
        );
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
                let fresh = ScaleTargets::from_cache(&cache);
                controllers
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .set_scale(fresh);
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
                watches.wait_synced(&["ReplicationController"]),
            );
            v.synced.store(true, Ordering::Release);
            tracing::info!("Watch caches synced");
        });
        view
    }
}

impl ReflectorView {
    fn controllers(&self) -> RwLockReadGuard<'_, ControllerIndex<ControllerWatches>> {
        self.controllers.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl ControllerLookup for ReflectorView {
    fn owner_references(&self, ns: &str, key: &ControllerKey) -> Option<Vec<OwnerReference>> {
        self.controllers().owner_references(ns, key)
    }

    fn selector(&self, ns: &str, key: &ControllerKey) -> Option<LabelSelector> {
        self.controllers().selector(ns, key)
    }

    fn is_scalable(&self, key: &ControllerKey) -> bool {
        self.controllers().is_scalable(key)
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
        self.controllers()
            .replicas(ns, &key.kind, &key.name)
            .and_then(Replicas::desired)
    }
}
