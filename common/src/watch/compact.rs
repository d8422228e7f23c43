//! Watch caches that keep a compact record per object instead of the decoded object (edge).
//!
//! kube-runtime's reflector stores every object as decoded, keyed by an `ObjectRef` holding
//! four more strings. A k8s-openapi object is large even with most fields empty, because every
//! optional field takes its room inline (a `Deployment` with its template cleared is still
//! kilobytes), so at 50k pods and 20k controllers the caches alone were hundreds of MiB. Here
//! each object is decoded as the wire type `K`, turned by the caller into its record `T` (only
//! what the component reads), and `K` is dropped at once. Records are kept by namespace and
//! name; a relist (after a watch expired) replaces the whole set atomically, as the reflector's
//! does.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch as signal;
use tokio::task::JoinSet;
use tracing::{debug, warn};

type Objects<T> = HashMap<Box<str>, HashMap<Box<str>, Arc<T>>>;

/// The reading side of a compact watch cache; cheap to clone.
pub struct CompactStore<T> {
    objects: Arc<RwLock<Objects<T>>>,
    ready: signal::Receiver<bool>,
}

impl<T> Clone for CompactStore<T> {
    fn clone(&self) -> Self {
        Self {
            objects: self.objects.clone(),
            ready: self.ready.clone(),
        }
    }
}

impl<T> CompactStore<T> {
    /// Every record (in no particular order).
    pub fn state(&self) -> Vec<Arc<T>> {
        let objects = self.read();
        let mut out = Vec::with_capacity(objects.values().map(HashMap::len).sum());
        for names in objects.values() {
            out.extend(names.values().cloned());
        }
        out
    }

    /// Calls `f` with the namespace, name and record of every object (under the read lock, so
    /// `f` should be quick).
    pub fn for_each(&self, mut f: impl FnMut(&str, &str, &Arc<T>)) {
        for (namespace, names) in self.read().iter() {
            for (name, record) in names {
                f(namespace, name, record);
            }
        }
    }

    /// The record of `namespace`/`name` (cluster-scoped objects: namespace `""`).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<T>> {
        self.read().get(namespace)?.get(name).cloned()
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.read().values().map(HashMap::len).sum()
    }

    /// Whether the cache holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first full list has arrived.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Resolves once the first full list has arrived (any number of tasks may wait); `false`
    /// when the watch task ended first.
    pub async fn wait_until_ready(&self) -> bool {
        let mut ready = self.ready.clone();
        ready.wait_for(|r| *r).await.is_ok()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Objects<T>> {
        // A panic while holding the lock cannot leave the map half-updated (each write is one
        // insert, remove or swap), so a poisoned lock is still consistent.
        self.objects.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A store filled by hand (tests and benchmarks), already marked ready.
    pub fn from_records(records: impl IntoIterator<Item = (String, String, T)>) -> Self {
        let mut objects: Objects<T> = HashMap::new();
        for (namespace, name, record) in records {
            objects
                .entry(namespace.into())
                .or_default()
                .insert(name.into(), Arc::new(record));
        }
        let (tx, ready) = signal::channel(true);
        drop(tx);
        Self {
            objects: Arc::new(RwLock::new(objects)),
            ready,
        }
    }
}

/// Applies watcher events to the map: the writing side, owned by the watch task.
struct Writer<T> {
    objects: Arc<RwLock<Objects<T>>>,
    ready: signal::Sender<bool>,
    /// Records of a relist in progress; they replace the map at `InitDone`.
    relist: Option<Objects<T>>,
}

impl<T> Writer<T> {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Objects<T>> {
        self.objects.write().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self, namespace: &str, name: &str) -> Option<Arc<T>> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        objects.get(namespace)?.get(name).cloned()
    }

    fn apply(&mut self, namespace: &str, name: &str, record: T) {
        let record = Arc::new(record);
        match &mut self.relist {
            Some(relist) => insert(relist, namespace, name, record),
            None => insert(&mut self.write(), namespace, name, record),
        }
    }

    fn delete(&mut self, namespace: &str, name: &str) {
        let mut objects = self.write();
        if let Some(names) = objects.get_mut(namespace) {
            names.remove(name);
            if names.is_empty() {
                objects.remove(namespace);
            }
        }
    }

    fn init_done(&mut self) {
        if let Some(relist) = self.relist.take() {
            *self.write() = relist;
        }
        self.ready.send_replace(true);
    }
}

fn insert<T>(objects: &mut Objects<T>, namespace: &str, name: &str, record: Arc<T>) {
    match objects.get_mut(namespace) {
        Some(names) => {
            names.insert(name.into(), record);
        }
        None => {
            objects.insert(namespace.into(), HashMap::from([(name.into(), record)]));
        }
    }
}

/// Spawns on `tasks` a watch of `api` filtered by `config` whose objects are kept as
/// `convert(object)`. `on_apply` sees the cached record of the previous version (if any) and the
/// new one before the cache takes it (e.g. to spot OOM kills between two pod versions). Errors
/// are logged and retried with kube-runtime's default backoff; a 404 on the first list (a kind
/// the server does not serve) is logged at debug.
pub fn reflect_compact<K, T>(
    api: Api<K>,
    config: watcher::Config,
    tasks: &mut JoinSet<()>,
    mut convert: impl FnMut(K) -> T + Send + 'static,
    mut on_apply: impl FnMut(Option<&T>, &T) + Send + 'static,
) -> CompactStore<T>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
    T: Send + Sync + 'static,
{
    let objects = Arc::new(RwLock::new(HashMap::new()));
    let (ready_tx, ready) = signal::channel(false);
    let mut writer = Writer {
        objects: objects.clone(),
        ready: ready_tx,
        relist: None,
    };
    let kind = K::kind(&()).to_string();
    let mut stream = watcher(api, config).default_backoff().boxed();
    tasks.spawn(async move {
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => writer.relist = Some(HashMap::new()),
                Ok(watcher::Event::InitApply(o) | watcher::Event::Apply(o)) => {
                    let namespace = o.namespace().unwrap_or_default();
                    let name = o.name_any();
                    let record = convert(o);
                    let old = writer.current(&namespace, &name);
                    on_apply(old.as_deref(), &record);
                    writer.apply(&namespace, &name, record);
                }
                Ok(watcher::Event::Delete(o)) => {
                    writer.delete(&o.namespace().unwrap_or_default(), &o.name_any())
                }
                Ok(watcher::Event::InitDone) => writer.init_done(),
                Err(watcher::Error::InitialListFailed(kube::Error::Api(s))) if s.code == 404 => {
                    debug!(%kind, "Resource not served; retrying");
                }
                Err(error) => warn!(%kind, %error, "Watch error; retrying"),
            }
        }
    });
    CompactStore { objects, ready }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (Writer<u32>, CompactStore<u32>) {
        let objects = Arc::new(RwLock::new(HashMap::new()));
        let (tx, ready) = signal::channel(false);
        let store = CompactStore {
            objects: objects.clone(),
            ready,
        };
        let writer = Writer {
            objects,
            ready: tx,
            relist: None,
        };
        (writer, store)
    }

    #[tokio::test]
    async fn a_relist_replaces_the_set_at_once_and_marks_the_store_ready() {
        let (mut w, store) = writer();
        assert!(!store.is_ready());
        w.relist = Some(HashMap::new());
        w.apply("ns", "a", 1);
        w.apply("ns", "b", 2);
        assert!(store.is_empty(), "records of a relist wait for InitDone");
        let waiter = {
            let store = store.clone();
            tokio::spawn(async move { store.wait_until_ready().await })
        };
        let second = store.clone();
        w.init_done();
        assert!(waiter.await.unwrap());
        assert!(
            second.wait_until_ready().await,
            "a second waiter resolves too"
        );
        assert_eq!(store.len(), 2);
        assert_eq!(store.get("ns", "b").as_deref(), Some(&2));

        // Live events apply at once; a relist drops what it no longer lists.
        w.apply("other", "c", 3);
        w.delete("ns", "a");
        let mut all: Vec<u32> = store.state().iter().map(|r| **r).collect();
        all.sort();
        assert_eq!(all, [2, 3]);
        let mut named = Vec::new();
        store.for_each(|ns, name, r| named.push(format!("{ns}/{name}={r}")));
        named.sort();
        assert_eq!(named, ["ns/b=2", "other/c=3"]);
        w.relist = Some(HashMap::new());
        w.apply("ns", "b", 20);
        w.init_done();
        assert_eq!(store.len(), 1);
        assert_eq!(store.get("ns", "b").as_deref(), Some(&20));
        assert_eq!(store.get("other", "c"), None);
    }

    #[test]
    fn deleting_the_last_object_of_a_namespace_drops_the_namespace() {
        let (mut w, store) = writer();
        w.apply("ns", "a", 1);
        w.delete("ns", "a");
        w.delete("gone", "x");
        assert!(store.is_empty());
        assert!(w.objects.read().unwrap().is_empty());
    }
}
