//! The object store: JSON objects per group/resource and namespace/name, a cluster-wide
//! resourceVersion, a bounded event history per resource for watches, a broadcast bus per watched
//! resource, and the owner index behind garbage collection. Synchronous and lock-based; every write
//! is published on its resource's bus while the lock is held, so subscribers see changes in commit
//! order.

mod gc;
mod names;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::resource::GroupResource;

/// A stored object with its serialized form (so lists and watches copy bytes, not trees).
#[derive(Debug)]
pub struct StoredObject {
    /// The object.
    pub value: Value,
    /// `value` serialized as JSON.
    pub json: Bytes,
    /// Its resourceVersion.
    pub rv: u64,
}

impl StoredObject {
    fn new(value: Value, rv: u64) -> Arc<Self> {
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(StoredObject { value, json, rv })
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        meta_str(&self.value, "name")
    }

    /// `metadata.namespace` (empty when cluster-scoped).
    pub fn namespace(&self) -> &str {
        meta_str(&self.value, "namespace")
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        meta_str(&self.value, "uid")
    }
}

/// A string field of `metadata`, or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct WatchEvent {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// Which resource changed.
    pub gr: GroupResource,
    /// What happened.
    pub type_: EventType,
    /// The object after the change (for deletes: its last state, at the delete's rv).
    pub object: Arc<StoredObject>,
    /// The object before the change.
    pub prev: Option<Arc<StoredObject>>,
}

/// How dependents are treated when their owner is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are deleted after the owner (the default).
    #[default]
    Background,
    /// Dependents are deleted before the owner.
    Foreground,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Cascading policy.
    pub propagation: Propagation,
    /// Only delete when the uid matches.
    pub uid: Option<String>,
    /// Only delete when the resourceVersion matches.
    pub resource_version: Option<u64>,
    /// Validate only.
    pub dry_run: bool,
}

/// The result of a delete.
#[derive(Debug, Clone)]
pub enum Deleted {
    /// Removed now; the final state.
    Gone(Arc<StoredObject>),
    /// Finalizers hold it: it now has a deletionTimestamp.
    Pending(Arc<StoredObject>),
}

/// A clock; the cluster behaviour issue replaces it with simulated time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The start of a watch: the backlog to send first and the live feed.
pub struct WatchStart {
    /// Events (or, without a resourceVersion, synthetic ADDED of every object) to send first.
    pub backlog: Vec<Arc<WatchEvent>>,
    /// Every later change of the watched resource.
    pub rx: broadcast::Receiver<Arc<WatchEvent>>,
    /// The resourceVersion the backlog ends at.
    pub rv: u64,
}

/// One page of a list.
pub struct ListPage {
    /// The matching objects in (namespace, name) order.
    pub items: Vec<Arc<StoredObject>>,
    /// The store's resourceVersion when listed.
    pub rv: u64,
    /// The key to continue after, when `limit` cut the list.
    pub next: Option<(String, String)>,
    /// How many matching objects follow (only with a limit).
    pub remaining: usize,
}

type Key = (String, String);
type ObjRef = (GroupResource, String, String);

/// One resource's recent events and the version its history starts after.
#[derive(Default)]
struct ResourceHistory {
    events: VecDeque<Arc<WatchEvent>>,
    /// The resourceVersion of the last event dropped from `events`.
    compacted: u64,
}

pub(crate) struct Inner {
    rv: u64,
    tables: HashMap<GroupResource, BTreeMap<Key, Arc<StoredObject>>>,
    /// Recent events per resource, as kube-apiserver's watch cache keeps them: churn of one
    /// resource (PodMetrics, say) does not push another's events out of reach.
    history: HashMap<GroupResource, ResourceHistory>,
    /// Events kept per resource.
    history_cap: usize,
    /// The floor set by [`Store::compact`]: every resource's older versions are gone.
    compacted: u64,
    dependents: HashMap<String, HashSet<ObjRef>>,
    /// Kinds whose status is part of what generation tracks (CRDs without a status subresource).
    status_in_generation: HashSet<GroupResource>,
    /// A live feed per resource that has been watched. One bus for all would wake every watcher
    /// for every write: 50k PodMetrics refreshes woke each pod, VPA and Lease watch 50k times.
    buses: HashMap<GroupResource, broadcast::Sender<Arc<WatchEvent>>>,
}

/// Events a watcher may fall behind by before its watch is closed (as kube-apiserver closes a
/// watcher whose buffer is full; the client then resumes from its last resourceVersion).
const BUS_CAPACITY: usize = 16 * 1024;

/// The in-memory object store.
pub struct Store {
    inner: RwLock<Inner>,
    clock: Clock,
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

/// A random RFC 4122 v4 uid.
pub fn new_uid() -> String {
    let b: [u8; 16] = std::array::from_fn(|i| match i {
        6 => (fastrand::u8(..) & 0x0f) | 0x40,
        8 => (fastrand::u8(..) & 0x3f) | 0x80,
        _ => fastrand::u8(..),
    });
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `a` and `b` agree on what `generation` tracks: every top-level field except
/// metadata, apiVersion and kind (and status, unless `with_status`). Compares in place: cloning
/// both objects per write cost more than the rest of an update for large objects.
fn same_spec(a: &Value, b: &Value, with_status: bool) -> bool {
    let tracked = |k: &String| {
        !matches!(k.as_str(), "metadata" | "apiVersion" | "kind") && (with_status || k != "status")
    };
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let count =
                |m: &serde_json::Map<String, Value>| m.keys().filter(|k| tracked(k)).count();
            count(a) == count(b)
                && a.iter()
                    .filter(|(k, _)| tracked(k))
                    .all(|(k, v)| b.get(k) == Some(v))
        }
        _ => a == b,
    }
}

impl Inner {
    /// The oldest resourceVersion a watch of `gr` can resume from.
    fn compacted_rv(&self, gr: &GroupResource) -> u64 {
        let own = self.history.get(gr).map_or(0, |h| h.compacted);
        own.max(self.compacted)
    }

    fn table(&mut self, gr: &GroupResource) -> &mut BTreeMap<Key, Arc<StoredObject>> {
        self.tables.entry(gr.clone()).or_default()
    }

    fn index(&mut self, gr: &GroupResource, key: &Key, old: Option<&Value>, new: Option<&Value>) {
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

    fn record(&mut self, ev: WatchEvent) -> Arc<WatchEvent> {
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
    fn put(&mut self, gr: &GroupResource, mut value: Value, type_: EventType) -> Arc<StoredObject> {
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
    fn remove(&mut self, gr: &GroupResource, key: &Key) -> Option<Arc<StoredObject>> {
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

    fn get(&self, gr: &GroupResource, key: &Key) -> Option<&Arc<StoredObject>> {
        self.tables.get(gr).and_then(|t| t.get(key))
    }
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

    /// Objects of `gr` (in `namespace` when given) after `after`, at most `limit` (0 = all), that pass `keep`.
    pub fn list(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        after: Option<&Key>,
        limit: usize,
        keep: impl Fn(&StoredObject) -> bool,
    ) -> ListPage {
        let inner = self.read();
        let rv = inner.rv;
        let mut page = ListPage {
            items: Vec::new(),
            rv,
            next: None,
            remaining: 0,
        };
        let Some(table) = inner.tables.get(gr) else {
            return page;
        };
        let start = match (after, namespace) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        for (key, obj) in table.range((start, Bound::Unbounded)) {
            if namespace.is_some_and(|ns| key.0 != ns) {
                break;
            }
            if !keep(obj) {
                continue;
            }
            if limit > 0 && page.items.len() >= limit {
                if page.next.is_none() {
                    page.next = page.items.last().map(|o: &Arc<StoredObject>| {
                        (o.namespace().to_string(), o.name().to_string())
                    });
                }
                page.remaining += 1;
                continue;
            }
            page.items.push(obj.clone());
        }
        page
    }

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

    /// Creates an object. Its metadata gets uid, creationTimestamp, generation and resourceVersion;
    /// `generateName` makes a name. `namespaced` objects need an existing, live namespace.
    pub fn create(
        &self,
        gr: &GroupResource,
        namespaced: bool,
        mut obj: Value,
        dry_run: bool,
    ) -> ApiResult<Arc<StoredObject>> {
        let now = self.now();
        let mut inner = self.write();
        let ns = if namespaced {
            meta_str(&obj, "namespace").to_string()
        } else {
            String::new()
        };
        if namespaced {
            let nsgr = GroupResource::new("", "namespaces");
            match inner.get(&nsgr, &(String::new(), ns.clone())) {
                None => return Err(ApiError::not_found("", "namespaces", &ns)),
                Some(n) if n.value.pointer("/metadata/deletionTimestamp").is_some() => {
                    let mut e = ApiError::new(
                        403,
                        "Forbidden",
                        format!(
                            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            gr.resource,
                            meta_str(&obj, "name")
                        ),
                    );
                    e.causes = vec![crate::error::Cause::new(
                        "NamespaceTerminating",
                        "metadata.namespace",
                        &ns,
                    )];
                    return Err(e);
                }
                _ => {}
            }
        }
        let mut name = meta_str(&obj, "name").to_string();
        if name.is_empty() {
            let prefix = meta_str(&obj, "generateName").to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &gr.group,
                    &gr.resource,
                    "",
                    vec![crate::error::Cause::new(
                        "FieldValueRequired",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    )],
                ));
            }
            loop {
                let suffix: String = (0..5)
                    .map(|_| {
                        fastrand::choice(b"bcdfghjklmnpqrstvwxz2456789")
                            .map(|c| *c as char)
                            .unwrap_or('x')
                    })
                    .collect();
                name = format!("{prefix}{suffix}");
                if inner.get(gr, &(ns.clone(), name.clone())).is_none() {
                    break;
                }
            }
        }
        if let Some(message) = names::name_error(&gr.group, &name) {
            let kind = obj["kind"].as_str().unwrap_or(&gr.resource).to_string();
            return Err(ApiError::invalid(
                &gr.group,
                &kind,
                &name,
                vec![crate::error::Cause::new(
                    "FieldValueInvalid",
                    "metadata.name",
                    &message,
                )],
            ));
        }
        if inner.get(gr, &(ns.clone(), name.clone())).is_some() {
            return Err(ApiError::already_exists(&gr.group, &gr.resource, &name));
        }
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        meta.insert("name".into(), json!(name));
        if namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("creationTimestamp".into(), json!(now));
        meta.insert("generation".into(), json!(1));
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        if dry_run {
            return Ok(StoredObject::new(obj, inner.rv));
        }
        Ok(inner.put(gr, obj, EventType::Added))
    }

    /// Replaces an object. Fails with 409 when `expected_rv` is stale; keeps the server-owned
    /// metadata; bumps generation when anything but metadata and status changed; finishes a
    /// pending delete when the last finalizer goes. A no-op update writes nothing.
    pub fn update(
        &self,
        gr: &GroupResource,
        namespace: &str,
        name: &str,
        mut obj: Value,
        expected_rv: Option<u64>,
        dry_run: bool,
    ) -> ApiResult<Arc<StoredObject>> {
        let mut inner = self.write();
        let key = (namespace.to_string(), name.to_string());
        let cur = inner
            .get(gr, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&gr.group, &gr.resource, name))?;
        if expected_rv.is_some_and(|rv| rv != cur.rv) {
            return Err(ApiError::stale(&gr.group, &gr.resource, name));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let no_meta = serde_json::Map::new();
        let old_meta = cur.value["metadata"].as_object().unwrap_or(&no_meta);
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.insert("resourceVersion".into(), json!(cur.rv.to_string()));
        let generation = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let with_status = inner.status_in_generation.contains(gr);
        if !same_spec(&cur.value, &obj, with_status) {
            obj["metadata"]["generation"] = json!(generation + 1);
        }
        if obj == cur.value {
            return Ok(cur);
        }
        let finalizers_empty = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
        if dry_run {
            return Ok(StoredObject::new(obj, cur.rv));
        }
        if old_meta.contains_key("deletionTimestamp") && finalizers_empty {
            inner.put(gr, obj, EventType::Modified);
            let gone = inner.remove(gr, &key).expect("object just written");
            gc::collect(
                &mut inner,
                &now_str(&self.clock),
                gr,
                &gone,
                Propagation::Background,
            );
            return Ok(gone);
        }
        Ok(inner.put(gr, obj, EventType::Modified))
    }

    /// Deletes an object, cascading to dependents and (for namespaces) to contents.
    pub fn delete(
        &self,
        gr: &GroupResource,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Deleted> {
        let now = self.now();
        let mut inner = self.write();
        let key = (namespace.to_string(), name.to_string());
        let cur = inner
            .get(gr, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&gr.group, &gr.resource, name))?;
        if opts.uid.as_deref().is_some_and(|u| u != cur.uid()) {
            return Err(ApiError::conflict(
                &gr.group,
                &gr.resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                    opts.uid.as_deref().unwrap_or_default(),
                    cur.uid()
                ),
            ));
        }
        if opts.resource_version.is_some_and(|rv| rv != cur.rv) {
            return Err(ApiError::conflict(
                &gr.group,
                &gr.resource,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}",
                    opts.resource_version.unwrap_or_default(),
                    cur.rv
                ),
            ));
        }
        if opts.dry_run {
            return Ok(Deleted::Gone(cur));
        }
        Ok(gc::delete(&mut inner, &now, gr, &key, opts.propagation))
    }

    /// Removes every object of `gr` (when its CRD goes), publishing DELETED for each.
    pub fn drop_resource(&self, gr: &GroupResource) {
        let mut inner = self.write();
        let keys: Vec<Key> = inner
            .tables
            .get(gr)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            inner.remove(gr, &k);
        }
        inner.tables.remove(gr);
    }

    /// Sets the kinds whose status changes bump generation (those without a status subresource
    /// among CRDs; built-in kinds keep status out).
    pub fn set_status_in_generation(&self, kinds: HashSet<GroupResource>) {
        self.write().status_in_generation = kinds;
    }

    /// Every group/resource that holds objects.
    pub fn resources(&self) -> Vec<GroupResource> {
        self.read()
            .tables
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(gr, _)| gr.clone())
            .collect()
    }
}

fn now_str(clock: &Clock) -> String {
    clock().to_rfc3339_opts(SecondsFormat::Secs, true)
}
