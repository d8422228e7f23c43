//! Discovery documents in the legacy (unaggregated) form kubectl falls back to: `/version`,
//! `/api`, `/apis`, `/apis/<group>` and the per-group-version resource lists. Pure.

use serde_json::{Value, json};

use crate::resource::{Registry, ResourceInfo, api_version};

/// The Kubernetes version the server claims (kubectl 1.32's skew window).
pub const GIT_VERSION: &str = "v1.32.4";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": GIT_VERSION, "gitCommit": "vpa-sim", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"
    })
}

/// `/api`.
pub fn core_versions(server: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]})
}

fn group(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": api_version(name, v), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

/// `/apis`.
pub fn group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, if served.
pub fn api_group(reg: &Registry, name: &str) -> Option<Value> {
    reg.groups()
        .iter()
        .find(|(g, _)| g == name && !g.is_empty())
        .map(|(g, v)| {
            let mut doc = group(g, v);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        })
}

fn resource_entry(r: &ResourceInfo) -> Vec<Value> {
    let mut out = vec![json!({
        "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
        "verbs": r.verbs, "shortNames": r.short_names, "categories": r.categories,
    })];
    for s in &r.subresources {
        let mut e = json!({
            "name": format!("{}/{}", r.plural, s.name), "singularName": "", "namespaced": r.namespaced,
            "kind": if s.kind.is_empty() { r.kind.as_str() } else { s.kind }, "verbs": s.verbs,
        });
        if let Some(g) = s.group {
            e["group"] = json!(g);
        }
        if let Some(v) = s.version {
            e["version"] = json!(v);
        }
        out.push(e);
    }
    out
}

/// `/api/v1` or `/apis/<group>/<version>`, if served.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources = reg.resources(group, version);
    if resources.is_empty() {
        return None;
    }
    let list: Vec<Value> = resources.iter().flat_map(|r| resource_entry(r)).collect();
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version), "resources": list}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_groups_and_subresources() {
        let reg = Registry::builtin();
        let groups = group_list(&reg);
        assert!(
            groups["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "apps")
        );
        assert!(
            !groups["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "")
        );
        let core = resource_list(&reg, "", "v1").unwrap();
        let eviction = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods/eviction")
            .unwrap();
        assert_eq!(
            (eviction["group"].as_str(), eviction["kind"].as_str()),
            (Some("policy"), Some("Eviction"))
        );
        assert!(resource_list(&reg, "nope", "v1").is_none());
    }
}
