//! Deletion with finalizers and garbage collection: cascading to dependents through
//! ownerReferences (background, foreground, orphan) and to the contents of a deleted namespace.
//! Runs inside the store's write lock, so a cascade is one atomic step.

use serde_json::{Value, json};

use super::{Deleted, EventType, Inner, Key, ObjRef, Propagation, StoredObject};
use crate::resource::GroupResource;

fn has_finalizers(v: &Value) -> bool {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

/// Deletes one object: marks it when finalizers hold it, else removes it and collects what it owned.
pub(super) fn delete(
    inner: &mut Inner,
    now: &str,
    gr: &GroupResource,
    key: &Key,
    propagation: Propagation,
) -> Deleted {
    let Some(cur) = inner.get(gr, key).cloned() else {
        unreachable!("delete of a missing object is checked by the caller")
    };
    if propagation == Propagation::Foreground {
        delete_dependents(inner, now, cur.uid());
    }
    if has_finalizers(&cur.value) {
        if propagation == Propagation::Orphan {
            orphan_dependents(inner, cur.uid());
        }
        if cur.value.pointer("/metadata/deletionTimestamp").is_some() {
            return Deleted::Pending(cur);
        }
        let mut v = cur.value.clone();
        v["metadata"]["deletionTimestamp"] = json!(now);
        v["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        let generation = v
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        v["metadata"]["generation"] = json!(generation + 1);
        return Deleted::Pending(inner.put(gr, v, EventType::Modified));
    }
    let gone = inner.remove(gr, key).expect("object exists");
    collect(inner, now, gr, &gone, propagation);
    Deleted::Gone(gone)
}

/// After `gone` left the store: deletes a namespace's contents and handles its dependents.
pub(super) fn collect(
    inner: &mut Inner,
    now: &str,
    gr: &GroupResource,
    gone: &StoredObject,
    propagation: Propagation,
) {
    if gr.group.is_empty() && gr.resource == "namespaces" {
        let ns = gone.name().to_string();
        let contents: Vec<(GroupResource, Key)> = inner
            .tables
            .iter()
            .flat_map(|(g, t)| {
                t.keys()
                    .filter(|k| k.0 == ns)
                    .map(move |k| (g.clone(), k.clone()))
            })
            .collect();
        for (g, k) in contents {
            if inner.get(&g, &k).is_some() {
                delete(inner, now, &g, &k, Propagation::Background);
            }
        }
    }
    match propagation {
        Propagation::Orphan => orphan_dependents(inner, gone.uid()),
        _ => delete_dependents(inner, now, gone.uid()),
    }
}

fn dependents(inner: &Inner, uid: &str) -> Vec<ObjRef> {
    let mut deps: Vec<ObjRef> = inner
        .dependents
        .get(uid)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    deps.sort();
    deps
}

fn without_owner(v: &Value, uid: &str) -> Value {
    let mut v = v.clone();
    if let Some(refs) = v
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)
    {
        refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
        if refs.is_empty() {
            v["metadata"]
                .as_object_mut()
                .map(|m| m.remove("ownerReferences"));
        }
    }
    v
}

/// Deletes the dependents that `uid` was the only owner of; the others just lose the reference.
fn delete_dependents(inner: &mut Inner, now: &str, uid: &str) {
    for (gr, ns, name) in dependents(inner, uid) {
        let key = (ns, name);
        let Some(dep) = inner.get(&gr, &key).cloned() else {
            continue;
        };
        let stripped = without_owner(&dep.value, uid);
        if stripped.pointer("/metadata/ownerReferences").is_some() {
            inner.put(&gr, stripped, EventType::Modified);
        } else if dep.value.pointer("/metadata/deletionTimestamp").is_none() {
            delete(inner, now, &gr, &key, Propagation::Background);
        }
    }
}

/// Removes the owner reference to `uid` from every dependent.
fn orphan_dependents(inner: &mut Inner, uid: &str) {
    for (gr, ns, name) in dependents(inner, uid) {
        let key = (ns, name);
        if let Some(dep) = inner.get(&gr, &key).cloned() {
            let v = without_owner(&dep.value, uid);
            inner.put(&gr, v, EventType::Modified);
        }
    }
}
