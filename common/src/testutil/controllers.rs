//! Hand-filled [`Controllers`] indexes for tests: the real index with test data.

use std::collections::BTreeMap;

use super::owner_ref;
use crate::controllers::{ControllerInfo, Controllers};
use crate::matching::selector_from_labels;

impl Controllers {
    /// Adds controller `kind` `namespace/name`, optionally owned by `owner` (kind, name),
    /// selecting `labels`.
    pub fn with(
        mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        owner: Option<(&str, &str)>,
        labels: &[(&str, &str)],
    ) -> Self {
        let info = ControllerInfo::new(
            owner.map(|(k, n)| owner_ref(k, n)),
            Some(selector_from_labels(&label_map(labels))),
            None,
        );
        self.insert(namespace, kind, name, info);
        self
    }

    /// Adds a target of a kind outside the well-known ones whose scale subresource selects
    /// `labels` (so the kind counts as scalable).
    pub fn with_scale_target(
        mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Self {
        let selector = selector_from_labels(&label_map(labels));
        self.insert_scale(namespace, kind, name, Ok(selector));
        self
    }

    /// The usual chain: Deployment `name` owning ReplicaSet `<name>-rs`, selecting `app=<name>`.
    pub fn with_deployment(self, namespace: &str, name: &str) -> Self {
        let rs = format!("{name}-rs");
        self.with(namespace, "Deployment", name, None, &[("app", name)])
            .with(
                namespace,
                "ReplicaSet",
                &rs,
                Some(("Deployment", name)),
                &[("app", name)],
            )
    }
}

fn label_map(labels: &[(&str, &str)]) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
