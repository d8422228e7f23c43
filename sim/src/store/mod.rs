//! The object store: JSON objects per group/resource and namespace/name, a cluster-wide
//! resourceVersion, a bounded event history per resource for watches, a broadcast bus per watched
//! resource, and the owner index behind garbage collection. Synchronous and lock-based; every write
//! is published on its resource's bus while the lock is held, so subscribers see changes in commit
//! order. Split by concern: [`object`] (stored objects and events), `inner` (the tables under the
//! lock), `list`, `watch`, `write` (create and update), `delete` and `gc` (cascades).

mod delete;
mod gc;
mod inner;
mod list;
mod names;
mod object;
#[cfg(test)]
mod tests;
mod watch;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::resource::GroupResource;
pub use delete::{DeleteOptions, Deleted, Propagation};
use inner::Inner;
pub use list::ListPage;
pub use object::{EventType, StoredObject, WatchEvent, meta_str, new_uid};
pub use watch::WatchStart;

/// A clock; the cluster behaviour issue replaces it with simulated time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// An object's key in its table: namespace and name.
type Key = (String, String);
/// A reference to an object of any resource.
type ObjRef = (GroupResource, String, String);

/// The in-memory object store.
pub struct Store {
    inner: RwLock<Inner>,
    clock: Clock,
}

impl Store {
    /// An empty store keeping `history_cap` events for watches.
    pub fn new(history_cap: usize, clock: Clock) -> Self {
        Store {
            inner: RwLock::new(Inner {
                rv: 0,
                tables: HashMap::new(),
                history: HashMap::new(),
                history_cap: history_cap.max(1),
                compacted: 0,
                dependents: HashMap::new(),
                status_in_generation: HashSet::new(),
                buses: HashMap::new(),
            }),
            clock,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current time of the store's clock as an RFC 3339 timestamp.
    pub fn now(&self) -> String {
        (self.clock)().to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The current time of the store's clock.
    pub fn now_time(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.read().rv
    }

    /// One object.
    pub fn get(
        &self,
        gr: &GroupResource,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        self.read()
            .get(gr, &(namespace.to_string(), name.to_string()))
            .cloned()
    }
}

fn now_str(clock: &Clock) -> String {
    clock().to_rfc3339_opts(SecondsFormat::Secs, true)
}
