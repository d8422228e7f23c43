//! Validation and pruning of an object against an OpenAPI v3 schema: unknown fields (removed and
//! reported, for `fieldValidation`), types, enums, required fields and bounds (reported as
//! `Invalid` causes with field paths). Pure.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::path::Path;
use super::{builtin_defs, resolve};
use crate::error::Cause;

/// How strictly a schema is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A built-in type: objects without properties are free-form and null is always allowed.
    Builtin,
    /// A CRD's structural schema: objects without properties hold nothing, nulls are dropped.
    Crd,
}

/// What a check found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Check {
    /// Paths of fields the schema does not declare (already removed from the object).
    pub unknown: Vec<String>,
    /// Type, enum, required and bound violations.
    pub errors: Vec<Cause>,
}

/// Checks (and prunes) `value` against `schema`. The root may always carry apiVersion, kind and
/// metadata (checked as ObjectMeta).
pub fn check(value: &mut Value, schema: &Value, defs: &Map<String, Value>, mode: Mode) -> Check {
    let mut out = Check::default();
    walk(value, schema, defs, mode, &Path::Root, true, &mut out);
    out
}

/// The schema of `metadata` in an embedded resource (and at the root).
fn object_meta_ref() -> &'static Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(|| {
        serde_json::json!({"$ref": format!("{}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", super::REF_PREFIX)})
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 64 {
        format!("{}...", &s[..60])
    } else {
        s
    }
}

/// Returns true when the caller should drop `value` (a null a CRD schema does not allow).
fn walk(
    value: &mut Value,
    schema: &Value,
    defs: &Map<String, Value>,
    mode: Mode,
    path: &Path<'_>,
    root: bool,
    out: &mut Check,
) -> bool {
    let s = resolve(schema, defs);
    let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
    if value.is_null() {
        return mode == Mode::Crd && !flag("nullable") && !root;
    }
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_string() || type_ok(value, "integer")) {
            out.errors
                .push(type_cause(path, value, "integer-or-string"));
        }
        return false;
    }
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !type_ok(value, ty)
    {
        out.errors.push(type_cause(path, value, ty));
        return false;
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.errors.push(Cause::new(
            "FieldValueNotSupported",
            path.to_string(),
            format!(
                "Unsupported value: {}: supported values: {}",
                short(value),
                list.join(", ")
            ),
        ));
    }
    bounds(value, s, path, out);
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(
                        item,
                        item_schema,
                        defs,
                        mode,
                        &Path::Index(path, i),
                        false,
                        out,
                    );
                }
            }
        }
        Value::Object(obj) => walk_object(obj, s, defs, mode, path, root, out),
        _ => {}
    }
    // CEL rules see the pruned value, as in the real server.
    if mode == Mode::Crd {
        for v in s
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rule = v.get("rule").and_then(Value::as_str).unwrap_or_default();
            if super::cel::eval(rule, value) == Some(false) {
                let msg = v
                    .get("message")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .unwrap_or_else(|| format!("failed rule: {rule}"));
                out.errors.push(Cause::new(
                    "FieldValueInvalid",
                    path.to_string(),
                    format!("Invalid value: \"{}\": {msg}", type_name(value)),
                ));
            }
        }
    }
    false
}

fn walk_object(
    obj: &mut Map<String, Value>,
    s: &Value,
    defs: &Map<String, Value>,
    mode: Mode,
    path: &Path<'_>,
    root: bool,
    out: &mut Check,
) {
    let props = s.get("properties").and_then(Value::as_object);
    let addl = s.get("additionalProperties");
    let preserve = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let embedded = root
        || s.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let required = if mode == Mode::Crd {
        s.get("required").and_then(Value::as_array)
    } else {
        None
    };
    for r in required.into_iter().flatten().filter_map(Value::as_str) {
        if !obj.contains_key(r) {
            out.errors.push(Cause::new(
                "FieldValueRequired",
                Path::Field(path, r).to_string(),
                "Required value",
            ));
        }
    }
    let mut dropped = Vec::new();
    for (key, child) in obj.iter_mut() {
        let child_path = Path::Field(path, key);
        let drop = if let Some(ps) = props.and_then(|p| p.get(key)) {
            walk(child, ps, defs, mode, &child_path, false, out)
        } else if embedded && (key == "apiVersion" || key == "kind") {
            if !child.is_string() {
                out.errors.push(type_cause(&child_path, child, "string"));
            }
            false
        } else if embedded && key == "metadata" {
            walk(
                child,
                object_meta_ref(),
                builtin_defs(),
                Mode::Builtin,
                &child_path,
                false,
                out,
            )
        } else if let Some(a) = addl.filter(|a| a.is_object()) {
            walk(child, a, defs, mode, &child_path, false, out)
        } else if preserve
            || addl.and_then(Value::as_bool) == Some(true)
            || (mode == Mode::Builtin && props.is_none())
        {
            false
        } else {
            out.unknown.push(child_path.to_string());
            true
        };
        if drop {
            dropped.push(key.clone());
        }
    }
    for key in dropped {
        obj.remove(&key);
    }
}

fn type_cause(path: &Path<'_>, value: &Value, ty: &str) -> Cause {
    let got = type_name(value);
    Cause::new(
        "FieldValueTypeInvalid",
        path.to_string(),
        format!("Invalid value: \"{got}\": {path} in body must be of type {ty}: \"{got}\""),
    )
}

fn bounds(value: &Value, s: &Value, path: &Path<'_>, out: &mut Check) {
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    let mut invalid = |msg: String| {
        out.errors.push(Cause::new(
            "FieldValueInvalid",
            path.to_string(),
            format!("Invalid value: {}: {path} in body {msg}", short(value)),
        ))
    };
    if let Some(x) = value.as_f64() {
        let excl_min = s
            .get("exclusiveMinimum")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let excl_max = s
            .get("exclusiveMaximum")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(m) = num("minimum")
            && (x < m || (excl_min && x == m))
        {
            invalid(format!(
                "should be greater than {}{m}",
                if excl_min { "" } else { "or equal to " }
            ));
        }
        if let Some(m) = num("maximum")
            && (x > m || (excl_max && x == m))
        {
            invalid(format!(
                "should be less than {}{m}",
                if excl_max { "" } else { "or equal to " }
            ));
        }
    }
    let len = value
        .as_str()
        .map(|s| s.chars().count())
        .or_else(|| value.as_array().map(Vec::len));
    if let Some(n) = len.map(|n| n as f64) {
        let (lo, hi) = if value.is_string() {
            ("minLength", "maxLength")
        } else {
            ("minItems", "maxItems")
        };
        let what = if value.is_string() {
            "chars long"
        } else {
            "items"
        };
        if num(lo).is_some_and(|m| n < m) {
            invalid(format!(
                "should be at least {} {what}",
                num(lo).unwrap_or_default()
            ));
        }
        if num(hi).is_some_and(|m| n > m) {
            invalid(format!(
                "may not be more than {} {what}",
                num(hi).unwrap_or_default()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn crd_schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["targetRef"], "properties": {
                "targetRef": {"type": "object", "properties": {"name": {"type": "string"}}},
                "mode": {"type": "string", "enum": ["Off", "Auto"]},
                "min": {"type": "integer", "minimum": 0},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "q": {"x-kubernetes-int-or-string": true},
                "opt": {"type": "string"},
                "boost": {"type": "object", "properties": {"type": {"type": "string"}, "factor": {"type": "number"}}, "x-kubernetes-validations": [
                    {"rule": "(self.type == 'Factor') == has(self.factor)", "message": "factor is required when type is Factor"}
                ]}
            }},
            "status": {"type": "object", "nullable": true}
        }})
    }

    #[test]
    fn crd_check_prunes_unknown_fields_and_reports_invalid_ones() {
        let mut obj = json!({
            "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "bogus": 1},
            "spec": {"mode": "Sometimes", "min": "3", "free": {"any": 1}, "q": 1, "extra": true, "opt": null, "boost": {"type": "Factor"}}
        });
        let c = check(&mut obj, &crd_schema(), &Map::new(), Mode::Crd);
        assert_eq!(c.unknown, ["metadata.bogus", "spec.extra"]);
        let fields: Vec<&str> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["spec.targetRef", "spec.boost", "spec.min", "spec.mode"]
        );
        assert_eq!(
            c.errors[1].message,
            "Invalid value: \"object\": factor is required when type is Factor"
        );
        assert_eq!(
            c.errors[2].message,
            "Invalid value: \"string\": spec.min in body must be of type integer: \"string\""
        );
        assert!(
            c.errors[3].message.starts_with(
                "Unsupported value: \"Sometimes\": supported values: \"Off\", \"Auto\""
            )
        );
        assert!(obj["spec"].get("extra").is_none() && obj["spec"].get("opt").is_none());
        assert_eq!(obj["spec"]["free"]["any"], 1);
    }

    #[test]
    fn builtin_check_finds_unknown_nested_fields() {
        let defs = builtin_defs();
        let schema = json!({"$ref": "#/components/schemas/io.k8s.api.apps.v1.Deployment"});
        let mut obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {
                "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "100m", "memory": 1}}, "foo": 1}]
            }}}
        });
        let c = check(&mut obj, &schema, defs, Mode::Builtin);
        assert_eq!(c.unknown, ["spec.template.spec.containers[0].foo"]);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let mut bad = json!({"spec": {"replicas": "one"}});
        assert_eq!(
            check(&mut bad, &schema, defs, Mode::Builtin).errors[0].field,
            "spec.replicas"
        );
    }
}
