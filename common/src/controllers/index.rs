//! The controller index (pure): records by namespace, kind and name, from a snapshot
//! ([`ControllerMap`]) or the live watch caches, plus the scale-subresource answers for targets
//! of other kinds ([`ScaleTargets`]), behind [`ControllerLookup`]. Lookups by `&str` allocate
//! nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};

use super::{ControllerInfo, Replicas};
use crate::matching::{ControllerKey, ControllerLookup};
use crate::scale::ScaleCache;

/// Values by namespace, kind and name.
type Nested<V> = HashMap<String, HashMap<String, HashMap<String, V>>>;

fn get<'a, V>(map: &'a Nested<V>, namespace: &str, kind: &str, name: &str) -> Option<&'a V> {
    map.get(namespace)?.get(kind)?.get(name)
}

/// Inserts `value`, allocating the namespace and kind keys only when they are new (a snapshot
/// inserts every controller each loop).
fn insert<V>(map: &mut Nested<V>, namespace: &str, kind: &str, name: &str, value: V) -> Option<V> {
    if !map.contains_key(namespace) {
        map.insert(namespace.into(), HashMap::new());
    }
    let kinds = map.get_mut(namespace)?;
    if !kinds.contains_key(kind) {
        kinds.insert(kind.into(), HashMap::new());
    }
    kinds.get_mut(kind)?.insert(name.into(), value)
}

/// Where an index reads its records: a [`ControllerMap`] or the live
/// [`ControllerWatches`](super::ControllerWatches).
pub trait ControllerRecords {
    /// The record of controller `kind` `namespace/name`.
    fn record(&self, namespace: &str, kind: &str, name: &str) -> Option<Arc<ControllerInfo>>;
}

/// Records held in memory: a snapshot of the watch caches, or filled by hand.
#[derive(Clone, Debug, Default)]
pub struct ControllerMap {
    objects: Nested<Arc<ControllerInfo>>,
    count: usize,
}

impl ControllerMap {
    /// Adds or replaces a record (shared with the cache it comes from).
    pub fn insert(&mut self, namespace: &str, kind: &str, name: &str, info: Arc<ControllerInfo>) {
        if insert(&mut self.objects, namespace, kind, name, info).is_none() {
            self.count += 1;
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl ControllerRecords for ControllerMap {
    fn record(&self, namespace: &str, kind: &str, name: &str) -> Option<Arc<ControllerInfo>> {
        get(&self.objects, namespace, kind, name).cloned()
    }
}

/// What the scale subresources of VPA targets outside the well-known kinds answered: a
/// selector, or why there is none. A kind with some selector has a scale subresource, so it
/// counts as a controller when walking a pod's owners.
#[derive(Clone, Debug, Default)]
pub struct ScaleTargets {
    answers: Nested<Result<Arc<LabelSelector>, String>>,
    scalable_kinds: HashSet<String>,
}

impl ScaleTargets {
    /// The answers `cache` holds now.
    pub fn from_cache(cache: &ScaleCache) -> Self {
        let mut targets = Self::default();
        for (namespace, kind, name, answer) in cache.answers() {
            targets.insert(namespace, kind, name, answer.clone());
        }
        targets
    }

    /// Records the answer for the target `kind` `namespace/name`.
    pub fn insert(
        &mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        answer: Result<LabelSelector, String>,
    ) {
        if answer.is_ok() {
            self.scalable_kinds.insert(kind.into());
        }
        insert(
            &mut self.answers,
            namespace,
            kind,
            name,
            answer.map(Arc::new),
        );
    }

    /// The answer for the target `kind` `namespace/name`, if it was asked.
    pub fn answer(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Option<&Result<Arc<LabelSelector>, String>> {
        get(&self.answers, namespace, kind, name)
    }

    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<&Arc<LabelSelector>> {
        self.answer(namespace, &key.kind, &key.name)?.as_ref().ok()
    }
}

/// Controllers by namespace, kind and name from `R`, falling back to the scale answers for
/// other kinds.
#[derive(Clone, Debug, Default)]
pub struct ControllerIndex<R> {
    records: R,
    scale: ScaleTargets,
}

/// An index over records in memory: what one loop of the recommender or updater reads.
pub type Controllers = ControllerIndex<ControllerMap>;

impl<R> ControllerIndex<R> {
    /// An index over `records` without scale answers.
    pub fn new(records: R) -> Self {
        Self {
            records,
            scale: ScaleTargets::default(),
        }
    }

    /// Replaces the scale answers.
    pub fn set_scale(&mut self, scale: ScaleTargets) {
        self.scale = scale;
    }

    /// The records.
    pub fn records(&self) -> &R {
        &self.records
    }

    /// The scale answers.
    pub fn scale(&self) -> &ScaleTargets {
        &self.scale
    }
}

impl Controllers {
    /// Adds or replaces a controller (tests and benchmarks fill an index by hand).
    pub fn insert(&mut self, namespace: &str, kind: &str, name: &str, info: ControllerInfo) {
        self.records.insert(namespace, kind, name, Arc::new(info));
    }

    /// Records a scale-subresource answer (see [`ScaleTargets::insert`]).
    pub fn insert_scale(
        &mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        answer: Result<LabelSelector, String>,
    ) {
        self.scale.insert(namespace, kind, name, answer);
    }

    /// Number of controllers recorded (scale targets not counted).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no controller is recorded.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl<R: ControllerRecords> ControllerIndex<R> {
    /// The record of controller `kind` `namespace/name`.
    pub fn get(&self, namespace: &str, kind: &str, name: &str) -> Option<Arc<ControllerInfo>> {
        self.records.record(namespace, kind, name)
    }

    /// The replica count of controller `kind` `namespace/name`, when known.
    pub fn replicas(&self, namespace: &str, kind: &str, name: &str) -> Option<Replicas> {
        self.get(namespace, kind, name)?.replicas
    }
}

impl<R: ControllerRecords> ControllerLookup for ControllerIndex<R> {
    /// A scale target's own owners are not known, so the walk stops there.
    fn owner_references(
        &self,
        namespace: &str,
        key: &ControllerKey,
    ) -> Option<Vec<OwnerReference>> {
        match self.get(namespace, &key.kind, &key.name) {
            Some(info) => Some(info.owner_references().to_vec()),
            None => self.scale.selector(namespace, key).map(|_| Vec::new()),
        }
    }

    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<LabelSelector> {
        match self.get(namespace, &key.kind, &key.name) {
            Some(info) => info.selector.as_deref().cloned(),
            None => self.scale.selector(namespace, key).map(|s| (**s).clone()),
        }
    }

    fn is_scalable(&self, key: &ControllerKey) -> bool {
        self.scale.scalable_kinds.contains(&key.kind)
    }
}
