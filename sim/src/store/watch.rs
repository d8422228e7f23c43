//! Watching: the bounded history per resource, 410 Gone below it, and the backlog plus live
//! feed a watch starts with (subscribed under the write lock, so no change falls between).

use std::sync::Arc;

use tokio::sync::broadcast;

use super::{EventType, Store, WatchEvent};
use crate::error::{ApiError, ApiResult};
use crate::resource::GroupResource;

/// Events a watcher may fall behind by before its watch is closed (as kube-apiserver closes a
/// watcher whose buffer is full; the client then resumes from its last resourceVersion).
const BUS_CAPACITY: usize = 16 * 1024;

/// The start of a watch: the backlog to send first and the live feed.
pub struct WatchStart {
    /// Events (or, without a resourceVersion, synthetic ADDED of every object) to send first.
    pub backlog: Vec<Arc<WatchEvent>>,
    /// Every later change of the watched resource.
    pub rx: broadcast::Receiver<Arc<WatchEvent>>,
    /// The resourceVersion the backlog ends at.
    pub rv: u64,
}

impl Store {
    /// Whether a resourceVersion of `gr` is older than its retained history.
    pub fn is_compacted(&self, gr: &GroupResource, rv: u64) -> bool {
        rv < self.compacted_rv(gr)
    }

    /// The oldest resourceVersion a watch of `gr` can start from.
    pub fn compacted_rv(&self, gr: &GroupResource) -> u64 {
        self.read().compacted_rv(gr)
    }

    /// Starts a watch of `gr`: from `since` (410 when compacted) or, without it, from now with
    /// synthetic ADDED events of every current object.
    pub fn watch(&self, gr: &GroupResource, since: Option<u64>) -> ApiResult<WatchStart> {
        // The write lock: the bus may need creating, and no write may land between reading the
        // history and subscribing.
        let mut inner = self.write();
        let rx = inner
            .buses
            .entry(gr.clone())
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .subscribe();
        let rv = inner.rv;
        let backlog = match since {
            Some(since) => {
                let floor = inner.compacted_rv(gr);
                if since < floor {
                    return Err(ApiError::gone(format!(
                        "too old resource version: {since} ({floor})"
                    )));
                }
                match inner.history.get(gr) {
                    Some(h) => {
                        let start = h.events.partition_point(|e| e.rv <= since);
                        h.events.range(start..).cloned().collect()
                    }
                    None => Vec::new(),
                }
            }
            None => inner
                .tables
                .get(gr)
                .into_iter()
                .flat_map(|t| t.values())
                .map(|o| {
                    Arc::new(WatchEvent {
                        rv: o.rv,
                        gr: gr.clone(),
                        type_: EventType::Added,
                        object: o.clone(),
                        prev: None,
                    })
                })
                .collect(),
        };
        Ok(WatchStart { backlog, rx, rv })
    }

    /// Forgets the history up to now: watches from any older resourceVersion get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.write();
        inner.compacted = inner.rv;
        inner.history.clear();
    }
}
