//! Tests of the patch formats, against hand-written cases and the json-patch reference.

use serde_json::json;

use super::*;

fn deployment() -> Value {
    json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "b", "image": "b:1"}
    ]}}}, "metadata": {"finalizers": ["f1"]}})
}

#[test]
fn strategic_merge_merges_containers_by_name() {
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}});
    let out = strategic_merge(&deployment(), &patch);
    let cs = out
        .pointer("/spec/template/spec/containers")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0]["image"], "a:1");
    assert_eq!(cs[1]["image"], "b:2");
}

#[test]
fn strategic_merge_directives() {
    let patch = json!({
        "metadata": {"finalizers": ["f2"]},
        "spec": {"replicas": null, "template": {"spec": {
            "containers": [{"name": "a", "$patch": "delete"}],
            "$setElementOrder/containers": [{"name": "b"}]
        }}}
    });
    let out = strategic_merge(&deployment(), &patch);
    assert!(out["spec"].get("replicas").is_none());
    assert_eq!(
        out.pointer("/spec/template/spec/containers")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["f1", "f2"]));
    let del = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}});
    assert_eq!(
        strategic_merge(&deployment(), &del)["metadata"]["finalizers"],
        json!([])
    );
}

#[test]
fn strategic_merge_nested_lists_merge_by_their_keys() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "protocol": "TCP"}]}
    ]}}}});
    let out = strategic_merge(&deployment(), &patch);
    let a = &out.pointer("/spec/template/spec/containers/0").unwrap();
    assert_eq!(a["env"].as_array().unwrap().len(), 2);
    assert_eq!(
        a["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
    );
}

#[test]
fn apply_records_fields_and_removes_dropped_ones() {
    let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1", "y": "2"}});
    let created = apply(None, &first, "me", "", "t");
    assert_eq!(
        created["metadata"]["managedFields"][0]["fieldsV1"]["f:data"],
        json!({"f:x": {}, "f:y": {}})
    );
    let mut current = created.clone();
    current["data"]["z"] = json!("kept: another manager's");
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "2"}});
    let out = apply(Some(&current), &second, "me", "", "t");
    assert_eq!(
        out["data"],
        json!({"x": "2", "z": "kept: another manager's"})
    );
    assert_eq!(out["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(
        out["metadata"]["managedFields"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn apply_removes_dropped_keyed_list_items() {
    let first =
        json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
    let created = apply(None, &first, "me", "", "t");
    let second = json!({"spec": {"containers": [{"name": "a", "image": "z"}]}});
    let out = apply(Some(&created), &second, "me", "", "t");
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "a", "image": "z"}])
    );
}

#[test]
fn json_and_merge_patches() {
    let out = json_patch(
        &json!({"a": 1}),
        br#"[{"op": "replace", "path": "/a", "value": 2}]"#,
    )
    .unwrap();
    assert_eq!(out, json!({"a": 2}));
    assert_eq!(
        json_patch(&json!({}), br#"[{"op": "test", "path": "/a", "value": 2}]"#)
            .unwrap_err()
            .code,
        422
    );
    assert_eq!(
        merge_patch(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"b": null}})),
        json!({"a": {"c": 2}})
    );
}

/// The patches applied without copying replaced fields give what the json-patch crate gives
/// on a full copy, errors included.
#[test]
fn patches_match_the_reference_implementation() {
    let base = json!({"metadata": {"name": "c", "labels": {"a": "1"}},
        "status": {"cpuHistogram": {"bucketWeights": {"1": 10000, "4": 12}}, "version": "v3"},
        "spec": {"containerName": "app", "list": [1, 2]}});
    let json_patches: [&[u8]; 8] = [
        br#"[{"op": "add", "path": "/status", "value": {"version": "v3"}}]"#,
        br#"[{"op": "replace", "path": "/status", "value": 1}, {"op": "add", "path": "/spec/x", "value": 2}]"#,
        br#"[{"op": "replace", "path": "/missing", "value": 1}]"#,
        br#"[{"op": "add", "path": "/status", "value": {}}, {"op": "copy", "from": "/status", "path": "/spec/s"}]"#,
        br#"[{"op": "copy", "from": "/status/version", "path": "/v"}, {"op": "replace", "path": "/status", "value": null}]"#,
        br#"[{"op": "add", "path": "/spec", "value": 1}, {"op": "test", "path": "/spec", "value": 1}]"#,
        br#"[{"op": "remove", "path": "/spec/list/0"}, {"op": "add", "path": "/spec/list/-", "value": 3}]"#,
        br#"[{"op": "replace", "path": "", "value": {"a": 1}}]"#,
    ];
    for p in json_patches {
        let ops: json_patch::Patch = serde_json::from_slice(p).unwrap();
        let mut reference = base.clone();
        let expected = json_patch::patch(&mut reference, &ops).map(|_| reference);
        let ours = json_patch(&base, p);
        match (expected, ours) {
            (Ok(want), Ok(got)) => assert_eq!(got, want, "{}", String::from_utf8_lossy(p)),
            (Err(_), Err(e)) => assert_eq!(e.code, 422),
            (want, got) => panic!("{}: {want:?} vs {got:?}", String::from_utf8_lossy(p)),
        }
    }
    let merge_patches = [
        json!({"status": {"cpuHistogram": null, "new": {"a": null, "b": 1}}}),
        json!({"status": null, "spec": {"list": [3]}}),
        json!({"metadata": {"labels": {"a": null, "b": "2"}}, "other": {"x": {"y": null}}}),
        json!([1, 2]),
        json!({"spec": "scalar"}),
    ];
    for p in &merge_patches {
        let mut reference = base.clone();
        json_patch::merge(&mut reference, p);
        assert_eq!(merge_patch(&base, p), reference, "{p}");
    }
    assert_eq!(
        merge_patch(&json!(3), &json!({"a": {"b": null}})),
        json!({"a": {}})
    );
}
