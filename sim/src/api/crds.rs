//! CRD registration: the served kinds re-derived from the stored CRDs, the accepted status
//! written after each CRD write, and the rule that a CRD keeps every stored version.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;

use super::{CRDS, Shared};
use crate::crd;
use crate::error::{ApiError, ApiResult};
use crate::resource::{GroupResource, Registry, ResourceInfo, Schema};
use crate::store::StoredObject;

impl Shared {
    /// Re-derives the served CRD kinds from the stored CRDs.
    pub fn sync_crds(&self) {
        let mut reg = Registry::builtin();
        let crds = self
            .store
            .list(&GroupResource::new(CRDS.0, CRDS.1), None, None, 0, |_| true)
            .items;
        for c in crds {
            let infos = crd::resource_infos(&c.value);
            if let Some(first) = infos.first() {
                let (group, plural) = (first.group.clone(), first.plural.clone());
                reg.remove(&group, &plural);
                let mut versions = Vec::new();
                for info in infos {
                    versions.push(info.version.clone());
                    reg.insert(info);
                }
                reg.set_versions(&group, versions);
            }
        }
        let no_status_subresource = reg
            .all()
            .filter(|r| matches!(r.schema, Schema::Crd(_)) && !r.has_subresource("status"))
            .map(|r| r.gr())
            .collect();
        self.store.set_status_in_generation(no_status_subresource);
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(reg);
        self.registry_gen.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn current_or(&self, gr: &GroupResource, o: Arc<StoredObject>) -> Arc<StoredObject> {
        if gr.group == CRDS.0 && gr.resource == CRDS.1 {
            return self.store.get(gr, "", o.name()).unwrap_or(o);
        }
        o
    }

    pub(super) fn after_write(&self, info: &ResourceInfo, obj: &StoredObject) {
        if info.group != CRDS.0 || info.plural != CRDS.1 {
            return;
        }
        let gr = info.gr();
        if let Some(cur) = self.store.get(&gr, "", obj.name()) {
            let status = crd::accepted_status(&cur.value, &self.store.now());
            if cur.value["status"]["acceptedNames"] != status["acceptedNames"]
                || cur.value["status"]["storedVersions"] != status["storedVersions"]
            {
                let mut v = cur.value.clone();
                v["status"] = status;
                let _ = self.store.update(&gr, "", cur.name(), v, None, false);
            }
        }
        self.sync_crds();
    }

    /// The real server's update rules beyond the schema: a CRD keeps every stored version.
    pub(super) fn check_update(
        info: &ResourceInfo,
        name: &str,
        old: &Value,
        new: &Value,
    ) -> ApiResult<()> {
        if info.group != CRDS.0 || info.plural != CRDS.1 {
            return Ok(());
        }
        let causes = crd::stored_version_problems(old, new);
        if causes.is_empty() {
            return Ok(());
        }
        Err(ApiError::invalid(&info.group, &info.kind, name, causes))
    }
}
