//! The `autoscaling.k8s.io/v1` API types (pure data, no I/O).
//!
//! Field names, enum values and defaults follow upstream VPA exactly, so existing manifests and
//! checkpoints written by upstream components deserialize unchanged.

mod checkpoint;
mod parse;
mod schema;
mod vpa;

pub use checkpoint::*;
pub use parse::{ParseError, from_json_value, from_yaml_str};
pub use vpa::*;

/// API group of both VPA kinds.
pub const GROUP: &str = "autoscaling.k8s.io";
/// Served and stored version of both VPA kinds.
pub const VERSION: &str = "v1";

/// A map from resource name (`cpu`, `memory`, ...) to quantity, as `core/v1` ResourceList.
pub type ResourceList =
    std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>;
