//! Listing (pure reads under the lock): pages of a resource's objects in (namespace, name)
//! order, with continue keys and remaining counts, and the resources that hold objects.

use std::ops::Bound;
use std::sync::Arc;

use super::{Key, Store, StoredObject};
use crate::resource::GroupResource;

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

impl Store {
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
