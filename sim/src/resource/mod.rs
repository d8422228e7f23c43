//! What the server serves: one `ResourceInfo` per group/version/resource, the one record of a
//! kind (names, verbs, subresources, schema, table columns, scale semantics), for the built-in
//! kinds (a fixed table, [`builtin`]) and for CRDs (derived from the CRD objects). Pure data.

mod builtin;
mod registry;
mod scale;

use std::sync::Arc;

use serde_json::Value;

use crate::proto::Field;
use crate::table::PrinterColumn;

pub use builtin::builtin_resources;
pub use registry::{Registry, builtin_registry};
pub use scale::{ScaleInfo, SelectorForm, scale_of, set_scale_replicas};

/// The verbs of a fully writable resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs of a read-only resource (metrics).
pub const READ_VERBS: &[&str] = &["get", "list"];
/// The verbs of a create-only resource (reviews).
pub const CREATE_VERBS: &[&str] = &["create"];

/// A group and resource (plural), the storage key of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// `GroupResource { group, resource }`.
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// A subresource as listed in discovery (`pods/eviction`).
#[derive(Debug, Clone)]
pub struct Subresource {
    /// Name after the slash.
    pub name: &'static str,
    /// Kind of the object sent and received.
    pub kind: &'static str,
    /// Group of that kind when it differs from the parent's (`policy` for evictions).
    pub group: Option<&'static str>,
    /// Version of that kind when it differs from the parent's.
    pub version: Option<&'static str>,
    /// Allowed verbs.
    pub verbs: &'static [&'static str],
    /// The protobuf fields of `kind`, when typed clients send it as protobuf.
    pub proto: Option<&'static [Field]>,
}

/// The status subresource.
pub(crate) const STATUS: Subresource = Subresource {
    name: "status",
    kind: "",
    group: None,
    version: None,
    verbs: &["get", "patch", "update"],
    proto: None,
};
/// The autoscaling/v1 scale subresource.
pub(crate) const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group: Some("autoscaling"),
    version: Some("v1"),
    verbs: &["get", "patch", "update"],
    proto: None,
};

/// Where a kind's schema comes from.
#[derive(Debug, Clone)]
pub enum Schema {
    /// A built-in type: the name of its component in the generated definitions.
    Builtin(&'static str),
    /// A CRD version's `openAPIV3Schema`.
    Crd(Arc<Value>),
    /// Not validated (reviews, metrics).
    None,
}

/// Everything the server knows about one group/version/resource.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`po`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Verbs on the main resource.
    pub verbs: Vec<String>,
    /// Subresources.
    pub subresources: Vec<Subresource>,
    /// Columns for tables (NAME is added in front when missing); empty means NAME and AGE.
    pub columns: Vec<PrinterColumn>,
    /// The schema used for validation and OpenAPI.
    pub schema: Schema,
    /// Whether objects are stored (reviews are not).
    pub stored: bool,
    /// The version objects are stored in (CRDs with several versions).
    pub storage_version: String,
    /// What the scale subresource reads and writes, for kinds that have one.
    pub scale: Option<ScaleInfo>,
    /// The defaults kube-apiserver fills in on every write of a built-in kind.
    pub defaults: Option<fn(&mut Value)>,
    /// The protobuf fields of the kind, when typed clients send it as protobuf.
    pub proto: Option<&'static [Field]>,
}

impl ResourceInfo {
    /// The group/resource storage key.
    pub fn gr(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// `group/version` or `version` for core.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// Group, version, kind and plural for kube's dynamic API.
    pub fn api_resource(&self) -> kube::core::ApiResource {
        kube::core::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// Whether this resource has the named subresource.
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }

    /// Whether `verb` is allowed on the main resource.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// `group/version`, or `version` for the core group.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Splits an apiVersion into group and version.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}
