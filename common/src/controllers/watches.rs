//! The watches of the well-known controllers (edge): one compact watch cache per kind, each
//! object kept as its [`ControllerInfo`] record, readable live (the admission controller reads
//! them per request) or as a snapshot (one loop of the recommender or updater).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::index::{ControllerMap, ControllerRecords};
use super::{ControllerInfo, Controllers, ScaleTargets};
use crate::scale::ScaleCache;
use crate::watch::api;
use crate::watch::compact::{CompactStore, reflect_compact};

/// The caches of the well-known controllers, by kind; cheap to clone. The watches run on the
/// task set given to [`ControllerWatches::start`] and stop with it.
#[derive(Clone)]
pub struct ControllerWatches {
    stores: Vec<(&'static str, CompactStore<ControllerInfo>)>,
}

fn watch<K>(
    client: &Client,
    namespace: Option<&str>,
    tasks: &mut JoinSet<()>,
    record: fn(K) -> ControllerInfo,
) -> (&'static str, CompactStore<ControllerInfo>)
where
    K: k8s_openapi::Resource<Scope = NamespaceResourceScope>,
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    K: Clone + DeserializeOwned + Debug + Send + 'static,
{
    let store = reflect_compact(
        api::<K>(client, namespace),
        watcher::Config::default(),
        tasks,
        record,
        |_, _| {},
    );
    (<K as k8s_openapi::Resource>::KIND, store)
}

impl ControllerWatches {
    /// Starts on `tasks` a watch of each well-known kind (all namespaces, or only `namespace`).
    pub fn start(client: &Client, namespace: Option<&str>, tasks: &mut JoinSet<()>) -> Self {
        use super::{
            cron_job, daemon_set, deployment, job, replica_set, replication_controller,
            stateful_set,
        };
        Self {
            stores: vec![
                watch(client, namespace, tasks, deployment),
                watch(client, namespace, tasks, replica_set),
                watch(client, namespace, tasks, stateful_set),
                watch(client, namespace, tasks, daemon_set),
                watch(client, namespace, tasks, job),
                watch(client, namespace, tasks, cron_job),
                watch(client, namespace, tasks, replication_controller),
            ],
        }
    }

    /// Waits up to `timeout` (for all kinds at once) for each kind's first full list; returns
    /// the kinds still not listed (not served, or hidden by RBAC), whose caches stay empty.
    pub async fn unsynced_within(&self, timeout: Duration) -> Vec<&'static str> {
        let waits = self.stores.iter().map(|(kind, store)| async move {
            let ready = tokio::time::timeout(timeout, store.wait_until_ready());
            (*kind, matches!(ready.await, Ok(true)))
        });
        futures::future::join_all(waits)
            .await
            .into_iter()
            .filter_map(|(kind, ready)| (!ready).then_some(kind))
            .collect()
    }

    /// Waits, without a deadline, for the first full list of every kind except `optional`
    /// ones; `false` when a watch ended first.
    pub async fn wait_synced(&self, optional: &[&str]) -> bool {
        let waits = self
            .stores
            .iter()
            .filter(|(kind, _)| !optional.contains(kind))
            .map(|(_, store)| store.wait_until_ready());
        futures::future::join_all(waits)
            .await
            .into_iter()
            .all(|r| r)
    }

    /// A snapshot index of the records cached now (sharing them) with the answers `scales`
    /// holds.
    pub fn snapshot(&self, scales: &ScaleCache) -> Controllers {
        let mut map = ControllerMap::default();
        for (kind, store) in &self.stores {
            store.for_each(|namespace, name, info| map.insert(namespace, kind, name, info.clone()));
        }
        let mut index = Controllers::new(map);
        index.set_scale(ScaleTargets::from_cache(scales));
        index
    }
}

impl ControllerRecords for ControllerWatches {
    fn record(&self, namespace: &str, kind: &str, name: &str) -> Option<Arc<ControllerInfo>> {
        let (_, store) = self.stores.iter().find(|(k, _)| *k == kind)?;
        store.get(namespace, name)
    }
}
