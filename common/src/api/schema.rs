//! JSON-schema fragments that make the generated CRDs as strict as upstream's.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Upstream's quantity pattern (`resource.Quantity`).
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// A quantity: an integer or a string in quantity syntax.
pub fn quantity(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": QUANTITY_PATTERN,
        "x-kubernetes-int-or-string": true
    })
}

/// A ResourceList: resource name -> quantity.
pub fn resource_list(g: &mut SchemaGenerator) -> Schema {
    let inner = quantity(g);
    json_schema!({ "type": "object", "additionalProperties": inner })
}

/// `controlledResources`: a list of resource names, each `cpu` or `memory` (upstream #9951; the
/// API server's validation ratcheting keeps existing objects with other names editable).
pub fn controlled_resources(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": ["cpu", "memory"] }
    })
}

/// A timestamp that upstream may write as `null`.
pub fn nullable_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "nullable": true })
}

/// Checkpoint bucket weights: a free-form object keyed by bucket index.
pub fn bucket_weights(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}
