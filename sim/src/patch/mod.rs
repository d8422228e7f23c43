//! Patch semantics: JSON patch, JSON merge patch, strategic merge patch (lists of known fields
//! merge by key, `$patch`/`$deleteFromPrimitiveList`/`$setElementOrder`/`$retainKeys` directives)
//! and a server-side-apply subset that tracks each applier's fields in `managedFields`. Pure.
//! JSON and merge patches are here, strategic merge in `strategic`, apply in `apply`.

mod apply;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::error::ApiError;
pub use apply::apply;
pub use strategic::strategic_merge;

/// The patch formats of a PATCH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
    /// Server-side apply.
    Apply,
}

impl PatchType {
    /// The type named by a Content-Type header.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        match ct {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}
/// Applies an RFC 6902 JSON patch to `base`, which is left as it is.
pub fn json_patch(base: &Value, patch: &[u8]) -> Result<Value, ApiError> {
    let p: json_patch::Patch = serde_json::from_slice(patch)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut out = clone_kept(base, &p);
    json_patch::patch(&mut out, &p).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(out)
}

/// A copy of `base` for `patch` to work on, without copying the top-level fields the patch
/// replaces wholesale and never reads (an `add` or `replace` of `/status`, say, as the
/// recommender writes checkpoints): those hold `null` in the copy, which the operation then
/// overwrites, so the result is the same as patching a full copy. Copying a checkpoint's old
/// histograms only to drop them was most of a checkpoint write's cost in the sim.
fn clone_kept(base: &Value, patch: &json_patch::Patch) -> Value {
    use json_patch::PatchOperation as Op;
    let Value::Object(fields) = base else {
        return base.clone();
    };
    let top = |p: &json_patch::jsonptr::Pointer| p.first().map(|t| t.decoded().into_owned());
    let mut replaced = std::collections::HashSet::new();
    let mut read = std::collections::HashSet::new();
    for op in &patch.0 {
        let (path, from) = match op {
            Op::Move(m) => (op.path(), Some(&*m.from)),
            Op::Copy(c) => (op.path(), Some(&*c.from)),
            op => (op.path(), None),
        };
        if path.is_root() || from.is_some_and(|f| f.is_root()) {
            return base.clone();
        }
        let wholesale = matches!(op, Op::Add(_) | Op::Replace(_)) && path.count() == 1;
        let target = if wholesale { &mut replaced } else { &mut read };
        target.extend(top(path));
        read.extend(from.and_then(top));
    }
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| {
                let skip = replaced.contains(k) && !read.contains(k);
                (k.clone(), if skip { Value::Null } else { v.clone() })
            })
            .collect(),
    )
}

/// Applies an RFC 7386 merge patch to `base`, which is left as it is. Builds the result from
/// the parts of `base` the patch keeps, so fields it replaces or removes are never copied.
pub fn merge_patch(base: &Value, patch: &Value) -> Value {
    let Value::Object(changes) = patch else {
        return patch.clone();
    };
    let empty = Map::new();
    let fields = base.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in fields {
        match changes.get(k) {
            None => {
                out.insert(k.clone(), v.clone());
            }
            Some(Value::Null) => {}
            Some(change) => {
                out.insert(k.clone(), merge_patch(v, change));
            }
        }
    }
    for (k, change) in changes {
        if !change.is_null() && !fields.contains_key(k) {
            out.insert(k.clone(), merge_patch(&Value::Null, change));
        }
    }
    Value::Object(out)
}
