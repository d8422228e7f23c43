//! Server-side printing: `meta.k8s.io/v1 Table` objects for `kubectl get`. A kind's columns
//! ([`PrinterColumn`], part of its record) show its name, its age, a JSONPath (CRD printer
//! columns, see [`mod@jsonpath`]) or a value computed by a function of the built-in kind ([`cells`]);
//! ages print like Kubernetes' `HumanDuration` ([`mod@age`]). Pure: `now` is passed in.

pub(crate) mod age;
pub(crate) mod cells;
mod jsonpath;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use age::age;
pub use jsonpath::jsonpath;

/// A computed cell: the value shown for an object at `now`.
pub type Compute = fn(&Value, DateTime<Utc>) -> Value;

/// What a column shows.
#[derive(Debug, Clone)]
pub enum ColumnValue {
    /// `metadata.name`.
    Name,
    /// The age of `metadata.creationTimestamp`.
    Age,
    /// The first match of a JSONPath, formatted by the column's type.
    JsonPath(String),
    /// A built-in kind's computed value (a pod's READY, an HPA's TARGETS).
    Computed(Compute),
}

/// A column of `kubectl get` output (a CRD's additionalPrinterColumns, or a built-in's).
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    /// Header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// `format`, e.g. `name`.
    pub format: String,
    /// Column description.
    pub description: String,
    /// 0 shows by default; higher only with `-o wide`.
    pub priority: i64,
    /// What the cells show.
    pub value: ColumnValue,
}

impl PrinterColumn {
    /// A built-in kind's column: a `date` for AGE, the `name` format for NAME, else a string.
    pub fn builtin(name: &str, value: ColumnValue, priority: i64) -> Self {
        PrinterColumn {
            name: name.to_string(),
            type_: if name == "AGE" { "date" } else { "string" }.into(),
            format: if name == "NAME" { "name" } else { "" }.into(),
            description: String::new(),
            priority,
            value,
        }
    }

    /// One of a CRD version's `additionalPrinterColumns`. A `jsonPath` that is not one (which
    /// kube-apiserver would have refused) shows nothing; an empty one the name, or the age for a
    /// `date` column.
    pub fn from_crd(c: &Value) -> Self {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let (type_, path) = (s(&c["type"]), s(&c["jsonPath"]));
        let value = if path.is_empty() {
            if type_ == "date" {
                ColumnValue::Age
            } else {
                ColumnValue::Name
            }
        } else if path.starts_with('.') || path.starts_with('{') {
            ColumnValue::JsonPath(path)
        } else {
            ColumnValue::Computed(|_, _| Value::Null)
        };
        PrinterColumn {
            name: s(&c["name"]),
            type_,
            format: s(&c["format"]),
            description: s(&c["description"]),
            priority: c["priority"].as_i64().unwrap_or(0),
            value,
        }
    }
}

fn cell(col: &PrinterColumn, o: &Value, now: DateTime<Utc>) -> Value {
    let path = match &col.value {
        ColumnValue::Name => return o["metadata"]["name"].clone(),
        ColumnValue::Age => return age(o.pointer("/metadata/creationTimestamp"), now),
        ColumnValue::Computed(f) => return f(o, now),
        ColumnValue::JsonPath(path) => path,
    };
    let Some(v) = jsonpath(o, path).into_iter().next() else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "date" => age(Some(v), now),
        "string" => match v {
            Value::String(_) => v.clone(),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        },
        _ => v.clone(),
    }
}

/// The columns of a table: a kind's own (NAME first), or NAME and AGE.
pub fn columns(own: &[PrinterColumn]) -> Vec<PrinterColumn> {
    let name = || PrinterColumn::builtin("NAME", ColumnValue::Name, 0);
    if own.is_empty() {
        return vec![name(), PrinterColumn::builtin("AGE", ColumnValue::Age, 0)];
    }
    let mut cols = own.to_vec();
    if cols[0].name != "NAME" {
        cols.insert(0, name());
    }
    cols
}

/// Which part of each object a table row carries (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A PartialObjectMetadata (the default).
    Metadata,
    /// The whole object.
    Object,
}

fn row(o: &Value, cols: &[PrinterColumn], include: IncludeObject, now: DateTime<Utc>) -> Value {
    let cells: Vec<Value> = cols.iter().map(|c| cell(c, o, now)).collect();
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]});
        }
        IncludeObject::Object => row["object"] = o.clone(),
    }
    row
}

/// A Table of `objs` with a kind's columns `own`, and list metadata `meta` (resourceVersion,
/// continue).
pub fn table(
    own: &[PrinterColumn],
    objs: &[&Value],
    meta: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let cols = columns(own);
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| json!({"name": c.name, "type": if c.type_ == "date" { "string" } else { &c.type_ }, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let rows: Vec<Value> = objs.iter().map(|o| row(o, &cols, include, now)).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Registry;

    #[test]
    fn pod_table_has_ready_status_restarts_age() {
        let r = Registry::builtin();
        let pods = r.get("", "v1", "pods").unwrap();
        let now = Utc::now();
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": (now - chrono::Duration::seconds(30)).to_rfc3339()},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 2}]}});
        let t = table(
            &pods.columns,
            &[&pod],
            json!({}),
            IncludeObject::Metadata,
            now,
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[..5],
            [
                json!("p"),
                json!("1/1"),
                json!("Running"),
                json!(2),
                json!("30s")
            ]
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn hpa_table_shows_reference_and_targets() {
        let r = Registry::builtin();
        let hpas = r
            .get("autoscaling", "v2", "horizontalpodautoscalers")
            .unwrap();
        let now = Utc::now();
        let hpa = json!({"metadata": {"name": "h", "creationTimestamp": now.to_rfc3339()},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 4,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}]},
            "status": {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 35}}}]}});
        let t = table(&hpas.columns, &[&hpa], json!({}), IncludeObject::None, now);
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[..6],
            [
                json!("h"),
                json!("Deployment/web"),
                json!("cpu: 35%/80%, memory: <unknown>/100Mi"),
                json!("1"),
                json!("4"),
                json!("2")
            ]
        );
    }
}
