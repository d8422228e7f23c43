//! Create, update and delete through the API's rules: namespaces, status handling, admission
//! hooks in order, resourceVersion preconditions, and CRD follow-ups.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{AdmissionHook, AdmissionRequest, CRDS, Shared, WriteOptions, ns_of};
use crate::auth::UserInfo;
use crate::error::{ApiError, ApiResult};
use crate::resource::{GroupResource, ResourceInfo, Schema};
use crate::store::{DeleteOptions, Deleted, StoredObject};

impl Shared {
    #[allow(clippy::too_many_arguments)]
    async fn admit(
        &self,
        op: &'static str,
        info: &ResourceInfo,
        sub: &str,
        ns: &str,
        obj: Value,
        old: Option<&Value>,
        user: &UserInfo,
        dry_run: bool,
    ) -> ApiResult<(Value, Vec<String>)> {
        let hooks: Vec<Arc<dyn AdmissionHook>> = self
            .admission
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut obj = obj;
        let mut warnings = Vec::new();
        for h in hooks {
            let req = AdmissionRequest {
                operation: op,
                group: info.group.clone(),
                version: info.version.clone(),
                resource: info.plural.clone(),
                kind: info.kind.clone(),
                subresource: sub.to_string(),
                namespace: ns.to_string(),
                object: obj,
                old_object: old.cloned(),
                user: user.clone(),
                dry_run,
            };
            let (admitted, w) = h.admit_with_warnings(req).await?;
            obj = admitted;
            warnings.extend(w);
        }
        Ok((obj, warnings))
    }

    /// What every update of `old` to `new` passes after validation: the rules of the subresource
    /// it is merged as (`subs.1`; the scale subresource merges as the main resource), the update
    /// checks, and the admission hooks for subresource `subs.0`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn admit_update(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        subs: (&str, &str),
        old: &Value,
        new: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Value, Vec<String>)> {
        let new = Self::merge_for_subresource(info, subs.1, old, new);
        Self::check_update(info, name, old, &new)?;
        self.admit(
            "UPDATE",
            info,
            subs.0,
            ns,
            new,
            Some(old),
            user,
            opts.dry_run,
        )
        .await
    }

    /// Creates an object in `ns` (ignored for cluster-scoped kinds).
    pub async fn create(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>)> {
        let mut warnings = self.validate(info, &mut obj, opts)?;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        if info.namespaced {
            let body_ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !body_ns.is_empty() && !ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            obj["metadata"]["namespace"] = json!(if ns.is_empty() {
                body_ns
            } else {
                ns.to_string()
            });
        }
        if info.group.is_empty()
            && info.plural == "namespaces"
            && obj.pointer("/status/phase").is_none()
        {
            obj["status"] = json!({"phase": "Active"});
        }
        if matches!(info.schema, Schema::Crd(_)) && info.has_subresource("status") {
            obj.as_object_mut().map(|m| m.remove("status"));
        }
        let (obj, admission_warnings) = self
            .admit("CREATE", info, "", ns, obj, None, user, opts.dry_run)
            .await?;
        warnings.extend(admission_warnings);
        let created = self
            .store
            .create(&info.gr(), info.namespaced, obj, opts.dry_run)?;
        if !opts.dry_run {
            self.after_write(info, &created);
        }
        Ok((self.current_or(&info.gr(), created), warnings))
    }

    /// Replaces an object (or its status/resize subresource).
    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        sub: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>)> {
        let gr = info.gr();
        let body_name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(name);
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let mut warnings = self.validate(info, &mut obj, opts)?;
        let expected = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().unwrap_or(0));
        let cur = self
            .store
            .get(&gr, ns_of(info, ns), name)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        if expected.is_some_and(|rv| rv != cur.rv) {
            return Err(ApiError::stale(&info.group, &info.plural, name));
        }
        let (new, admission_warnings) = self
            .admit_update(user, info, ns, name, (sub, sub), &cur.value, obj, opts)
            .await?;
        warnings.extend(admission_warnings);
        let out = self
            .store
            .update(&gr, ns_of(info, ns), name, new, Some(cur.rv), opts.dry_run)?;
        if !opts.dry_run {
            self.after_write(info, &out);
        }
        Ok((out, warnings))
    }

    /// Deletes an object; deleting a CRD removes its kind and objects.
    pub fn delete(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Deleted> {
        let out = self.store.delete(&info.gr(), ns_of(info, ns), name, opts)?;
        if let Deleted::Gone(o) = &out
            && !opts.dry_run
            && info.group == CRDS.0
            && info.plural == CRDS.1
        {
            let group = o.value["spec"]["group"].as_str().unwrap_or_default();
            let plural = o.value["spec"]["names"]["plural"]
                .as_str()
                .unwrap_or_default();
            self.store.drop_resource(&GroupResource::new(group, plural));
            self.sync_crds();
        }
        Ok(out)
    }
}
