//! Deleting: options and outcome, uid and resourceVersion preconditions, and removing every
//! object of a resource whose CRD goes. The cascades themselves are in `gc`.

use std::sync::Arc;

use super::{Key, Store, StoredObject, gc};
use crate::error::{ApiError, ApiResult};
use crate::resource::GroupResource;

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

impl Store {
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
}
