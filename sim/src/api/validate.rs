//! Checking a written object against its kind (pure apart from the shared state it reads):
//! apiVersion and kind, pruning of unknown fields, duplicate fields, `fieldValidation`, schema
//! errors, and the built-in kind's defaults.

use bytes::Bytes;
use serde_json::{Value, json};

use super::Shared;
use crate::error::{ApiError, ApiResult};
use crate::resource::{ResourceInfo, Schema};
use crate::schema::{self, Mode};

/// `?fieldValidation=`: what to do with unknown or duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and answer with `Warning` headers (the default).
    #[default]
    Warn,
    /// Reject the request with 400.
    Strict,
}

impl FieldValidation {
    /// Parses the query value (unknown values read as Warn).
    pub fn parse(s: &str) -> Self {
        match s {
            "Strict" => FieldValidation::Strict,
            "Ignore" => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        }
    }
}

/// Options of a create, update or patch.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `fieldManager` (server-side apply).
    pub field_manager: String,
    /// The raw body, to find duplicate fields.
    pub raw: Option<Bytes>,
}

impl Shared {
    /// Checks apiVersion/kind, prunes unknown fields, and validates `obj` against the schema.
    /// Returns warnings for dropped fields.
    pub(super) fn validate(
        &self,
        info: &ResourceInfo,
        obj: &mut Value,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<String>> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let cannot = format!(
            "{} in version \"{}\" cannot be handled as a {}",
            info.kind, info.version, info.kind
        );
        if let Some(k) = obj.get("kind").and_then(Value::as_str)
            && k != info.kind
        {
            return Err(ApiError::bad_request(format!(
                "{cannot}: the kind in the data ({k}) does not match the expected kind ({})",
                info.kind
            )));
        }
        obj["apiVersion"] = json!(info.api_version());
        obj["kind"] = json!(info.kind);
        // A CRD's schema is borrowed, not cloned: the VPA schema is tens of kilobytes of tree.
        let builtin_ref;
        let (schema, defs, mode) = match &info.schema {
            Schema::Builtin(n) => {
                builtin_ref = json!({"$ref": format!("{}{n}", schema::REF_PREFIX)});
                (&builtin_ref, schema::builtin_defs(), Mode::Builtin)
            }
            Schema::Crd(s) => (&**s, schema::builtin_defs(), Mode::Crd),
            Schema::None => return Ok(Vec::new()),
        };
        let check = schema::check(obj, schema, defs, mode);
        let dups = opts
            .raw
            .as_deref()
            .map(schema::duplicate_fields)
            .unwrap_or_default();
        let mut problems: Vec<String> = check
            .unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        problems.extend(dups.iter().map(|f| format!("duplicate field \"{f}\"")));
        if opts.validation == FieldValidation::Strict && !problems.is_empty() {
            return Err(ApiError::bad_request(format!(
                "{cannot}: strict decoding error: {}",
                problems.join(", ")
            )));
        }
        if !check.errors.is_empty() {
            if mode == Mode::Builtin {
                let c = &check.errors[0];
                return Err(ApiError::bad_request(format!(
                    "{cannot}: json: cannot unmarshal into Go struct field {} ({})",
                    c.field, c.message
                )));
            }
            return Err(ApiError::invalid(
                &info.group,
                &info.kind,
                &name,
                check.errors,
            ));
        }
        if mode == Mode::Builtin
            && let Some(defaults) = info.defaults
        {
            defaults(obj);
        }
        Ok(if opts.validation == FieldValidation::Warn {
            problems
        } else {
            Vec::new()
        })
    }
}
