//! The served resources, indexed by group/version/plural, with each group's version preference
//! and the groups' discovery order. Pure data.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use super::{ResourceInfo, builtin_resources};
use crate::proto::Field;

/// The built-in resources, indexed once for lookups that do not depend on the served CRDs.
pub fn builtin_registry() -> &'static Registry {
    static BUILTIN: LazyLock<Registry> = LazyLock::new(Registry::builtin);
    &BUILTIN
}

/// The served resources, indexed by group/version/plural.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_gvr: BTreeMap<(String, String, String), Arc<ResourceInfo>>,
    /// Versions of each group in preference order.
    groups: BTreeMap<String, Vec<String>>,
    /// Group order for discovery.
    group_order: Vec<String>,
}

impl Registry {
    /// A registry with the built-in resources.
    pub fn builtin() -> Self {
        let mut r = Registry::default();
        for info in builtin_resources() {
            r.insert(info);
        }
        r
    }

    /// Adds or replaces one resource.
    pub fn insert(&mut self, info: ResourceInfo) {
        if !self.group_order.contains(&info.group) {
            self.group_order.push(info.group.clone());
        }
        let versions = self.groups.entry(info.group.clone()).or_default();
        if !versions.contains(&info.version) {
            versions.push(info.version.clone());
        }
        self.by_gvr.insert(
            (
                info.group.clone(),
                info.version.clone(),
                info.plural.clone(),
            ),
            Arc::new(info),
        );
    }

    /// Removes every version of `group`/`plural`; drops the group when it becomes empty.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.by_gvr
            .retain(|(g, _, p), _| !(g == group && p == plural));
        let remaining: Vec<String> = self
            .by_gvr
            .keys()
            .filter(|(g, _, _)| g == group)
            .map(|(_, v, _)| v.clone())
            .collect();
        if let Some(versions) = self.groups.get_mut(group) {
            versions.retain(|v| remaining.contains(v));
            if versions.is_empty() {
                self.groups.remove(group);
                self.group_order.retain(|g| g != group);
            }
        }
    }

    /// Sets the version preference order of a group.
    pub fn set_versions(&mut self, group: &str, versions: Vec<String>) {
        self.groups.insert(group.to_string(), versions);
    }

    /// Looks up one resource.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// The resource of `kind` in `group`/`version`.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.by_gvr
            .values()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    /// The groups in discovery order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        self.group_order
            .iter()
            .filter_map(|g| self.groups.get(g).map(|v| (g.clone(), v.clone())))
            .collect()
    }

    /// The resources of one group/version.
    pub fn resources(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.by_gvr
            .values()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }

    /// The protobuf fields of `kind`: those of the resource of that kind, else of a subresource
    /// sending that kind (`TokenRequest`).
    pub fn proto_fields(&self, kind: &str) -> Option<&'static [Field]> {
        self.all()
            .filter(|r| r.kind == kind)
            .find_map(|r| r.proto)
            .or_else(|| {
                self.all()
                    .flat_map(|r| &r.subresources)
                    .filter(|s| s.kind == kind)
                    .find_map(|s| s.proto)
            })
    }

    /// Every served resource.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        self.by_gvr.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_serves_the_issue_resources() {
        let r = Registry::builtin();
        let pods = r.get("", "v1", "pods").unwrap();
        assert!(pods.has_subresource("eviction") && pods.has_subresource("resize"));
        assert!(
            r.get("apps", "v1", "deployments")
                .unwrap()
                .has_subresource("scale")
        );
        assert!(r.get("metrics.k8s.io", "v1beta1", "nodes").is_some());
        assert!(
            !r.get("metrics.k8s.io", "v1beta1", "pods")
                .unwrap()
                .allows("create")
        );
        assert_eq!(r.groups()[0].0, "");
    }

    #[test]
    fn removing_the_last_resource_drops_the_group() {
        let mut r = Registry::builtin();
        r.remove("coordination.k8s.io", "leases");
        assert!(!r.groups().iter().any(|(g, _)| g == "coordination.k8s.io"));
    }
}
