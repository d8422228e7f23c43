//! The tables under the store's lock: objects per resource, the owner index, each resource's
//! recent events and the live buses. Every write goes through `put` or `remove`, which bump the
//! resourceVersion, index owners and publish the event.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{EventType, Key, ObjRef, StoredObject, WatchEvent, meta_str};
use crate::resource::GroupResource;

/// One resource's recent events and the version its history starts after.
#[derive(Default)]
pub(super) struct ResourceHistory {
    pub(super) events: VecDeque<Arc<WatchEvent>>,
    /// The resourceVersion of the last event dropped from `events`.
    pub(super) compacted: u64,
}

pub(super) struct Inner {
    pub(super) rv: u64,
    pub(super) tables: HashMap<GroupResource, BTreeMap<Key, Arc<StoredObject>>>,
    /// Recent events per resource, as kube-apiserver's watch cache keeps them: churn of one
    /// resource (PodMetrics, say) does not push another's events out of reach.
    pub(super) history: HashMap<GroupResource, ResourceHistory>,
    /// Events kept per resource.
    pub(super) history_cap: usize,
    /// The floor set by [`Store::compact`](super::Store::compact): every resource's older versions are gone.
    pub(super) compacted: u64,
    pub(super) dependents: HashMap<String, HashSet<ObjRef>>,
    /// Kinds whose status is part of what generation tracks (CRDs without a status subresource).
    pub(super) status_in_generation: HashSet<GroupResource>,
    /// A live feed per resource that has been watched. One bus for all would wake every watcher
    /// for every write: 50k PodMetrics refreshes woke each pod, VPA and Lease watch 50k times.
    pub(super) buses: HashMap<GroupResource, broadcast::Sender<Arc<WatchEvent>>>,
}

fn owner_uids(v: &Value) -> Vec<String> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Inner {
    /// The oldest resourceVersion a watch of `gr` can resume from.
    pub(super) fn compacted_rv(&self, gr: &GroupResource) -> u64 {
        let own = self.history.get(gr).map_or(0, |h| h.compacted);
        own.max(self.compacted)
    }

    pub(super) fn table(&mut self, gr: &GroupResource) -> &mut BTreeMap<Key, Arc<StoredObject>> {
        self.tables.entry(gr.clone()).or_default()
    }

    pub(super) fn index(
        &mut self,
        gr: &GroupResource,
        key: &Key,
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        let old_uids = old.map(owner_uids).unwrap_or_default();
        let new_uids = new.map(owner_uids).unwrap_or_default();
        let r = (gr.clone(), key.0.clone(), key.1.clone());
        for u in old_uids.iter().filter(|u| !new_uids.contains(u)) {
            if let Some(set) = self.dependents.get_mut(u) {
                set.remove(&r);
                if set.is_empty() {
                    self.dependents.remove(u);
                }
            }
        }
        for u in new_uids {
            self.dependents.entry(u).or_default().insert(r.clone());
        }
    }

    pub(super) fn record(&mut self, ev: WatchEvent) -> Arc<WatchEvent> {
        let ev = Arc::new(ev);
        let history = self.history.entry(ev.gr.clone()).or_default();
        history.events.push_back(ev.clone());
        while history.events.len() > self.history_cap {
            if let Some(old) = history.events.pop_front() {
                history.compacted = old.rv;
            }
        }
        if let Some(bus) = self.buses.get(&ev.gr) {
            let _ = bus.send(ev.clone());
        }
        ev
    }

    /// Writes `value` (whose metadata is final except resourceVersion) and publishes the event.
    pub(super) fn put(
        &mut self,
        gr: &GroupResource,
        mut value: Value,
        type_: EventType,
    ) -> Arc<StoredObject> {
        self.rv += 1;
        let rv = self.rv;
        value["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = (
            meta_str(&value, "namespace").to_string(),
            meta_str(&value, "name").to_string(),
        );
        let obj = StoredObject::new(value, rv);
        let prev = self.table(gr).insert(key.clone(), obj.clone());
        self.index(gr, &key, prev.as_ref().map(|p| &p.value), Some(&obj.value));
        self.record(WatchEvent {
            rv,
            gr: gr.clone(),
            type_,
            object: obj.clone(),
            prev,
        });
        obj
    }

    /// Removes an object and publishes DELETED at a new resourceVersion.
    pub(super) fn remove(&mut self, gr: &GroupResource, key: &Key) -> Option<Arc<StoredObject>> {
        let prev = self.table(gr).remove(key)?;
        self.rv += 1;
        let rv = self.rv;
        let mut value = prev.value.clone();
        value["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = StoredObject::new(value, rv);
        self.index(gr, key, Some(&prev.value), None);
        self.record(WatchEvent {
            rv,
            gr: gr.clone(),
            type_: EventType::Deleted,
            object: obj.clone(),
            prev: Some(prev),
        });
        Some(obj)
    }

    pub(super) fn get(&self, gr: &GroupResource, key: &Key) -> Option<&Arc<StoredObject>> {
        self.tables.get(gr).and_then(|t| t.get(key))
    }
}
