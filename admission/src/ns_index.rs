//! Watched objects of one kind by namespace (pure), so that a request reads only its own
//! namespace's LimitRanges or HPAs instead of copying every one in the cluster.
//!
//! Fed by watch events with kube-runtime's relist protocol (`Init`, `InitApply`..., `InitDone`:
//! the relisted objects replace the old ones at `InitDone`), as [`crate::vpa_index::VpaIndex`]
//! is for VPAs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kube::Resource;
use kube::runtime::watcher::Event;

/// An index fed by the watch events of `K`.
pub trait WatchIndex<K> {
    /// Takes one watch event.
    fn handle(&mut self, event: Event<K>);
    /// Whether a first full list has completed.
    fn is_ready(&self) -> bool;
}

type ByNamespace<K> = HashMap<String, BTreeMap<String, Arc<K>>>;

/// Objects by namespace and name.
#[derive(Debug)]
pub struct NamespaceIndex<K> {
    current: ByNamespace<K>,
    /// The relist in progress: objects seen since `Init`, swapped in at `InitDone`.
    relist: Option<ByNamespace<K>>,
    ready: bool,
}

impl<K> Default for NamespaceIndex<K> {
    fn default() -> Self {
        Self {
            current: HashMap::new(),
            relist: None,
            ready: false,
        }
    }
}

fn key<K: Resource>(obj: &K) -> (String, String) {
    let m = obj.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

fn insert<K: Resource>(map: &mut ByNamespace<K>, obj: K) {
    let (namespace, name) = key(&obj);
    map.entry(namespace)
        .or_default()
        .insert(name, Arc::new(obj));
}

impl<K: Resource> NamespaceIndex<K> {
    /// An index holding `objects`, marked ready (for fixed views).
    pub fn from_objects(objects: impl IntoIterator<Item = K>) -> Self {
        let mut index = Self::default();
        for obj in objects {
            insert(&mut index.current, obj);
        }
        index.ready = true;
        index
    }

    /// The objects of `namespace`, by name.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        self.current
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How many namespaces hold at least one object.
    pub fn namespaces(&self) -> usize {
        self.current.len()
    }
}

impl<K: Resource> WatchIndex<K> for NamespaceIndex<K> {
    fn handle(&mut self, event: Event<K>) {
        match event {
            Event::Apply(obj) => insert(&mut self.current, obj),
            Event::Delete(obj) => {
                let (namespace, name) = key(&obj);
                if let Some(objects) = self.current.get_mut(&namespace) {
                    objects.remove(&name);
                    if objects.is_empty() {
                        self.current.remove(&namespace);
                    }
                }
            }
            Event::Init => self.relist = Some(HashMap::new()),
            Event::InitApply(obj) => insert(self.relist.get_or_insert_with(HashMap::new), obj),
            Event::InitDone => {
                self.current = self.relist.take().unwrap_or_default();
                self.ready = true;
            }
        }
    }

    fn is_ready(&self) -> bool {
        self.ready
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::LimitRange;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn lr(ns: &str, name: &str) -> LimitRange {
        LimitRange {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                ..Default::default()
            },
            spec: None,
        }
    }

    fn names(index: &NamespaceIndex<LimitRange>, ns: &str) -> Vec<String> {
        index
            .in_namespace(ns)
            .iter()
            .map(|l| l.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn lookup_returns_only_that_namespace_and_follows_deletes() {
        let mut index = NamespaceIndex::default();
        index.handle(Event::Apply(lr("a", "two")));
        index.handle(Event::Apply(lr("a", "one")));
        index.handle(Event::Apply(lr("b", "three")));
        assert_eq!(names(&index, "a"), ["one", "two"]);
        assert_eq!(names(&index, "b"), ["three"]);
        assert!(names(&index, "c").is_empty());
        index.handle(Event::Delete(lr("b", "three")));
        assert!(names(&index, "b").is_empty());
        assert_eq!(index.namespaces(), 1, "an emptied namespace is dropped");
        // Applying again replaces rather than duplicates.
        index.handle(Event::Apply(lr("a", "one")));
        assert_eq!(names(&index, "a"), ["one", "two"]);
    }

    #[test]
    fn a_relist_replaces_the_contents_at_init_done() {
        let mut index = NamespaceIndex::default();
        assert!(!index.is_ready());
        index.handle(Event::Init);
        index.handle(Event::InitApply(lr("a", "one")));
        assert!(names(&index, "a").is_empty(), "not visible before InitDone");
        index.handle(Event::InitDone);
        assert!(index.is_ready());
        assert_eq!(names(&index, "a"), ["one"]);
        // A relist without `one` (deleted while the watch was down) drops it.
        index.handle(Event::Init);
        index.handle(Event::InitApply(lr("b", "two")));
        assert_eq!(names(&index, "a"), ["one"], "old contents served meanwhile");
        index.handle(Event::InitDone);
        assert!(names(&index, "a").is_empty());
        assert_eq!(names(&index, "b"), ["two"]);
    }

    #[test]
    fn fixed_index_is_ready() {
        let index = NamespaceIndex::from_objects([lr("a", "x"), lr("b", "y")]);
        assert!(index.is_ready());
        assert_eq!(names(&index, "b"), ["y"]);
    }
}
