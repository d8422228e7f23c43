//! The built-in kinds, one record each: names, verbs, subresources, schema component, table
//! columns and scale semantics, in discovery order. Pure data; a small builder keeps each
//! record to a few lines.

mod core_v1;
mod platform;
mod workloads;

use serde_json::Value;

use crate::proto::Field;
use crate::table::{ColumnValue, PrinterColumn};

use super::{
    ALL_VERBS, ResourceInfo, SCALE, STATUS, ScaleInfo, Schema, SelectorForm, Subresource,
    split_api_version,
};

/// One record in the making.
pub(super) struct B {
    info: ResourceInfo,
}

/// A built-in kind served at `gv` (`v1`, `apps/v1`) as `plural`, validated against the schema
/// component `schema` (none when empty).
pub(super) fn res(gv: &str, plural: &str, kind: &str, namespaced: bool, schema: &'static str) -> B {
    let (group, version) = split_api_version(gv);
    B {
        info: ResourceInfo {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
            subresources: Vec::new(),
            columns: Vec::new(),
            schema: if schema.is_empty() {
                Schema::None
            } else {
                Schema::Builtin(schema)
            },
            stored: true,
            storage_version: version.to_string(),
            scale: None,
            defaults: None,
            proto: None,
        },
    }
}

impl B {
    pub(super) fn short(mut self, names: &[&str]) -> Self {
        self.info.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub(super) fn all(mut self) -> Self {
        self.info.categories = vec!["all".to_string()];
        self
    }
    pub(super) fn cat(mut self, c: &str) -> Self {
        self.info.categories.push(c.to_string());
        self
    }
    pub(super) fn sub(mut self, s: Subresource) -> Self {
        self.info.subresources.push(s);
        self
    }
    pub(super) fn status(self) -> Self {
        self.sub(STATUS)
    }
    /// The scale subresource over `spec.replicas` (missing reads as `default_replicas`),
    /// `status.replicas` and a `spec.selector` of the given form.
    pub(super) fn scale(mut self, default_replicas: i64, selector: SelectorForm) -> Self {
        self.info.scale = Some(ScaleInfo::Builtin {
            default_replicas,
            selector,
        });
        self.sub(SCALE)
    }
    /// The defaults filled in on every write.
    pub(super) fn defaults(mut self, defaults: fn(&mut Value)) -> Self {
        self.info.defaults = Some(defaults);
        self
    }
    /// The protobuf fields typed clients send the kind with.
    pub(super) fn proto(mut self, fields: &'static [Field]) -> Self {
        self.info.proto = Some(fields);
        self
    }
    pub(super) fn verbs(mut self, verbs: &[&str]) -> Self {
        self.info.verbs = verbs.iter().map(|s| s.to_string()).collect();
        self
    }
    pub(super) fn unstored(mut self) -> Self {
        self.info.stored = false;
        self
    }
    /// The table columns: header, value, priority (0 shows by default, 1 with `-o wide`).
    pub(super) fn cols<const N: usize>(mut self, cols: [(&str, ColumnValue, i64); N]) -> Self {
        self.info.columns = cols
            .into_iter()
            .map(|(name, value, priority)| PrinterColumn::builtin(name, value, priority))
            .collect();
        self
    }

    /// The columns of a ReplicaSet or ReplicationController: desired, current and ready replicas.
    pub(super) fn replica_columns(self) -> Self {
        self.cols([
            ("NAME", ColumnValue::Name, 0),
            ("DESIRED", path(".spec.replicas"), 0),
            ("CURRENT", path(".status.replicas"), 0),
            ("READY", path(".status.readyReplicas"), 0),
            ("AGE", ColumnValue::Age, 0),
        ])
    }
}

/// A column showing the first match of a JSONPath.
pub(super) fn path(p: &str) -> ColumnValue {
    ColumnValue::JsonPath(p.to_string())
}

/// The built-in resources, in discovery order.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    [core_v1::kinds(), workloads::kinds(), platform::kinds()]
        .into_iter()
        .flatten()
        .map(|b| b.info)
        .collect()
}
