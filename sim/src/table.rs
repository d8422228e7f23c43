//! Server-side printing: `meta.k8s.io/v1 Table` objects for `kubectl get`, with the built-in
//! kinds' columns and CRD printer columns (a small JSONPath for them), and ages printed like
//! Kubernetes' `HumanDuration`. Pure: `now` is passed in.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resource::{PrinterColumn, ResourceInfo};

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Index(usize),
    Wildcard,
    Filter(Vec<String>, bool, Value),
}

fn parse_path(path: &str) -> Vec<Seg> {
    let p = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    let mut segs = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                segs.push(Seg::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            let inner = &r[..end];
            rest = &r[end + 1..];
            if inner == "*" {
                segs.push(Seg::Wildcard);
            } else if let Ok(i) = inner.parse() {
                segs.push(Seg::Index(i));
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                let (lhs, eq, rhs) = match f.split_once("==") {
                    Some((l, r)) => (l, true, r),
                    None => match f.split_once("!=") {
                        Some((l, r)) => (l, false, r),
                        None => continue,
                    },
                };
                let field: Vec<String> = lhs
                    .trim()
                    .trim_start_matches('@')
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                let rhs = rhs.trim();
                let lit = if let Some(s) = rhs.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                {
                    json!(s)
                } else if let Some(s) = rhs.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    json!(s)
                } else {
                    serde_json::from_str(rhs).unwrap_or(json!(rhs))
                };
                segs.push(Seg::Filter(field, eq, lit));
            } else {
                segs.push(Seg::Field(inner.trim_matches(['\'', '"']).to_string()));
            }
        } else {
            break;
        }
    }
    segs
}

/// Evaluates a Kubernetes JSONPath (`.a.b[0]`, `[*]`, `[?(@.type=='X')]`) and returns the matches.
pub fn jsonpath<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![v];
    for seg in parse_path(path) {
        let mut next = Vec::new();
        for c in cur {
            match &seg {
                Seg::Field(f) => next.extend(c.get(f.as_str())),
                Seg::Index(i) => next.extend(c.get(*i)),
                Seg::Wildcard => match c {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Seg::Filter(field, eq, lit) => {
                    for item in c.as_array().into_iter().flatten() {
                        let mut x = Some(item);
                        for f in field {
                            x = x.and_then(|x| x.get(f.as_str()));
                        }
                        if (x == Some(lit)) == *eq {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

/// A duration printed like Kubernetes' `duration.HumanDuration` (`45s`, `3m20s`, `5h`, `2d3h`).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    if s < 120 {
        return format!("{s}s");
    }
    let m = s / 60;
    if m < 10 {
        return if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        };
    }
    if m < 180 {
        return format!("{m}m");
    }
    let h = m / 60;
    if h < 8 {
        return if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        };
    }
    if h < 48 {
        return format!("{h}h");
    }
    let d = h / 24;
    if h < 24 * 8 {
        return if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        };
    }
    if h < 24 * 365 * 2 {
        return format!("{d}d");
    }
    let y = d / 365;
    if h < 24 * 365 * 8 {
        format!("{y}y{}d", d % 365)
    } else {
        format!("{y}y")
    }
}

fn age(ts: Option<&Value>, now: DateTime<Utc>) -> Value {
    match ts
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    {
        Some(t) => json!(human_duration((now - t.with_timezone(&Utc)).num_seconds())),
        None => json!("<unknown>"),
    }
}

fn count<F: Fn(&Value) -> bool>(v: &Value, ptr: &str, f: F) -> usize {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|x| f(x)).count())
        .unwrap_or(0)
}

fn computed(key: &str, o: &Value, now: DateTime<Utc>) -> Value {
    let num = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    match key {
        "pod:ready" => {
            let total = count(o, "/spec/containers", |_| true);
            let ready = count(o, "/status/containerStatuses", |c| c["ready"] == true);
            json!(format!("{ready}/{total}"))
        }
        "pod:status" => {
            if o.pointer("/metadata/deletionTimestamp").is_some() {
                return json!("Terminating");
            }
            let waiting = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find_map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str))
                });
            json!(
                waiting
                    .or(o.pointer("/status/phase").and_then(Value::as_str))
                    .unwrap_or("Pending")
            )
        }
        "pod:restarts" => json!(
            o.pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .map(|cs| cs
                    .iter()
                    .filter_map(|c| c["restartCount"].as_i64())
                    .sum::<i64>())
                .unwrap_or(0)
        ),
        "deploy:ready" => json!(format!(
            "{}/{}",
            num("/status/readyReplicas"),
            num("/spec/replicas")
        )),
        "node:status" => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .is_some_and(|c| c["status"] == "True");
            json!(if ready { "Ready" } else { "NotReady" })
        }
        "node:roles" => json!("<none>"),
        "hpa:reference" => json!(format!(
            "{}/{}",
            o.pointer("/spec/scaleTargetRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            o.pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )),
        "hpa:targets" => json!(hpa_targets(o)),
        "slice:ports" => {
            let ports: Vec<String> = o["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["port"].as_i64().map(|n| n.to_string()))
                .collect();
            json!(if ports.is_empty() {
                "<unset>".to_string()
            } else {
                ports.join(",")
            })
        }
        "slice:endpoints" => {
            let addrs: Vec<&str> = o["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            json!(match addrs.len() {
                0 => "<unset>".to_string(),
                n if n > 3 => format!("{} + {} more...", addrs[..3].join(","), n - 3),
                _ => addrs.join(","),
            })
        }
        "service:ports" => {
            let ports: Vec<String> = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!(if ports.is_empty() {
                "<none>".to_string()
            } else {
                ports.join(",")
            })
        }
        "map:data" => json!(
            o.get("data")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
        ),
        "event:lastseen" => age(
            o.get("lastTimestamp")
                .filter(|v| !v.is_null())
                .or(o.get("eventTime"))
                .or(o.pointer("/metadata/creationTimestamp")),
            now,
        ),
        "event:object" => json!(format!(
            "{}/{}",
            o.pointer("/involvedObject/kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase(),
            o.pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )),
        _ => Value::Null,
    }
}

/// An HPA's TARGETS cell: each Resource metric as `<name>: <current>/<target>`, with
/// `<unknown>` while the status carries no current value.
fn hpa_targets(o: &Value) -> String {
    let current = |name: &str| {
        o.pointer("/status/currentMetrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|m| m.pointer("/resource/name").and_then(Value::as_str) == Some(name))
            .and_then(|m| m.pointer("/resource/current").cloned())
    };
    let parts: Vec<String> = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let Some(res) = m.get("resource") else {
                return format!("{}: <unknown>", m["type"].as_str().unwrap_or("metric"));
            };
            let name = res["name"].as_str().unwrap_or_default();
            let target = &res["target"];
            let (want, have) = match target["averageUtilization"].as_i64() {
                Some(pct) => (
                    format!("{pct}%"),
                    current(name)
                        .and_then(|c| c["averageUtilization"].as_i64())
                        .map(|c| format!("{c}%")),
                ),
                None => (
                    target["averageValue"]
                        .as_str()
                        .or(target["value"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                    current(name).and_then(|c| {
                        c["averageValue"]
                            .as_str()
                            .or(c["value"].as_str())
                            .map(String::from)
                    }),
                ),
            };
            format!(
                "{name}: {}/{want}",
                have.unwrap_or_else(|| "<unknown>".into())
            )
        })
        .collect();
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}

fn cell(col: &PrinterColumn, o: &Value, now: DateTime<Utc>) -> Value {
    if col.json_path.is_empty() {
        return if col.type_ == "date" {
            age(o.pointer("/metadata/creationTimestamp"), now)
        } else {
            o["metadata"]["name"].clone()
        };
    }
    if !col.json_path.starts_with('.') && !col.json_path.starts_with('{') {
        return computed(&col.json_path, o, now);
    }
    let Some(v) = jsonpath(o, &col.json_path).into_iter().next() else {
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

/// The columns of a resource: its own, or NAME and AGE.
pub fn columns(info: &ResourceInfo) -> Vec<PrinterColumn> {
    let col = |name: &str, type_: &str, format: &str| PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: format.into(),
        description: String::new(),
        priority: 0,
        json_path: String::new(),
    };
    if info.columns.is_empty() {
        return vec![col("NAME", "string", "name"), col("AGE", "date", "")];
    }
    let mut cols = info.columns.clone();
    if cols[0].name != "NAME" {
        cols.insert(0, col("NAME", "string", "name"));
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

/// A Table of `objs`, with list metadata `meta` (resourceVersion, continue).
pub fn table(
    info: &ResourceInfo,
    objs: &[&Value],
    meta: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let cols = columns(info);
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
    fn jsonpath_fields_indexes_and_filters() {
        let v = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "RecommendationProvided", "status": "True"}],
            "recommendation": {"containerRecommendations": [{"target": {"cpu": "587m"}}]}}});
        assert_eq!(
            jsonpath(
                &v,
                ".status.conditions[?(@.type=='RecommendationProvided')].status"
            ),
            [&json!("True")]
        );
        assert_eq!(
            jsonpath(
                &v,
                ".status.recommendation.containerRecommendations[0].target.cpu"
            ),
            [&json!("587m")]
        );
        assert_eq!(jsonpath(&v, "{.status.conditions[*].type}").len(), 2);
        assert!(jsonpath(&v, ".spec.missing").is_empty());
    }

    #[test]
    fn human_durations_like_kubernetes() {
        for (s, want) in [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (50 * 3600, "2d2h"),
            (30 * 86400, "30d"),
        ] {
            assert_eq!(human_duration(s), want);
        }
    }

    #[test]
    fn pod_table_has_ready_status_restarts_age() {
        let r = Registry::builtin();
        let pods = r.get("", "v1", "pods").unwrap();
        let now = Utc::now();
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": (now - chrono::Duration::seconds(30)).to_rfc3339()},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 2}]}});
        let t = table(&pods, &[&pod], json!({}), IncludeObject::Metadata, now);
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
        let t = table(&hpas, &[&hpa], json!({}), IncludeObject::None, now);
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
