//! Patches as the real server applies them: JSON, merge, strategic merge and server-side apply,
//! on the object or its scale (the Scale's replicas written back through the kind's scale
//! semantics), retried on write conflicts without a resourceVersion precondition.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Shared, WriteOptions, ns_of};
use crate::auth::UserInfo;
use crate::error::{ApiError, ApiResult};
use crate::patch::{self, PatchType};
use crate::resource::{ResourceInfo, Schema};
use crate::schema;
use crate::store::StoredObject;

impl Shared {
    /// Patches an object (or a subresource), retrying on write conflicts like the real server.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        sub: &str,
        ptype: PatchType,
        body: &[u8],
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>, bool)> {
        let gr = info.gr();
        if ptype == PatchType::Strategic && !matches!(info.schema, Schema::Builtin(_)) {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ));
        }
        let parsed = if ptype == PatchType::Json {
            Value::Null
        } else {
            schema::decode_json(body)?
        };
        let mut opts = opts.clone();
        if ptype != PatchType::Json && ptype != PatchType::Apply {
            opts.raw = Some(Bytes::copy_from_slice(body));
        }
        for _ in 0..8 {
            let Some(cur) = self.store.get(&gr, ns_of(info, ns), name) else {
                if ptype == PatchType::Apply && sub.is_empty() {
                    let mut obj =
                        patch::apply(None, &parsed, &opts.field_manager, "", &self.store.now());
                    obj["metadata"]["name"] = json!(name);
                    let (o, w) = self.create(user, info, ns, obj, &opts).await?;
                    return Ok((o, w, true));
                }
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            // The patches copy only what they keep of the stored object.
            let scale;
            let base = if sub == "scale" {
                scale = crate::resource::scale_of(info, &cur.value);
                &scale
            } else {
                &cur.value
            };
            let mut new = match ptype {
                PatchType::Json => patch::json_patch(base, body)?,
                PatchType::Merge => patch::merge_patch(base, &parsed),
                PatchType::Strategic => patch::strategic_merge(base, &parsed),
                PatchType::Apply => patch::apply(
                    Some(base),
                    &parsed,
                    &opts.field_manager,
                    sub,
                    &self.store.now(),
                ),
            };
            if sub == "scale" {
                let replicas = new.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
                // The Scale's resourceVersion (a PUT's) is a precondition on the object.
                let rv = new.pointer("/metadata/resourceVersion").cloned();
                new = cur.value.clone();
                crate::resource::set_scale_replicas(info, &mut new, replicas);
                if let Some(rv) = rv.filter(|v| v.is_string()) {
                    new["metadata"]["resourceVersion"] = rv;
                }
            }
            let expected = new
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok());
            if expected.is_some_and(|rv| rv != cur.rv) {
                return Err(ApiError::stale(&info.group, &info.plural, name));
            }
            let mut warnings = self.validate(info, &mut new, &opts)?;
            let merged_as = if sub == "scale" { "" } else { sub };
            let (new, admission_warnings) = self
                .admit_update(
                    user,
                    info,
                    ns,
                    name,
                    (sub, merged_as),
                    &cur.value,
                    new,
                    &opts,
                )
                .await?;
            warnings.extend(admission_warnings);
            match self
                .store
                .update(&gr, ns_of(info, ns), name, new, Some(cur.rv), opts.dry_run)
            {
                Ok(out) => {
                    if !opts.dry_run {
                        self.after_write(info, &out);
                    }
                    return Ok((out, warnings, false));
                }
                Err(e) if e.code == 409 && expected.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::stale(&info.group, &info.plural, name))
    }
}
