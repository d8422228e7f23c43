//! Rendering the report as an aligned table, JSON or CSV (pure). Quantities are Kubernetes
//! quantities (`587m`, `250Mi`); changes are signed; an unknown request is `-` (table, CSV) or
//! `null` (JSON).

use serde_json::{Value, json};
use vpa_common::resources::{CPU, MEMORY, quantity};

use super::rows::{ReportRow, totals};

fn amount(resource: &str, value: Option<i64>) -> String {
    value.map_or_else(|| "-".into(), |v| quantity(resource, v).0)
}

fn change(resource: &str, value: Option<i64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v < 0 => format!("-{}", quantity(resource, -v).0),
        Some(v) => format!("+{}", quantity(resource, v).0),
    }
}

fn cells(r: &ReportRow) -> [String; 9] {
    [
        r.namespace.clone(),
        r.workload.clone(),
        r.container.clone(),
        amount(CPU, r.requests.cpu),
        amount(CPU, Some(r.cpu_target)),
        change(CPU, r.cpu_change()),
        amount(MEMORY, r.requests.memory),
        amount(MEMORY, Some(r.memory_target)),
        change(MEMORY, r.memory_change()),
    ]
}

const HEADER: [&str; 9] = [
    "NAMESPACE",
    "WORKLOAD",
    "CONTAINER",
    "CPU REQUEST",
    "CPU TARGET",
    "CPU CHANGE",
    "MEMORY REQUEST",
    "MEMORY TARGET",
    "MEMORY CHANGE",
];

fn total_cells(rows: &[ReportRow]) -> [String; 9] {
    let ((cpu_req, cpu_target), (mem_req, mem_target)) = totals(rows);
    [
        "TOTAL".into(),
        String::new(),
        String::new(),
        amount(CPU, Some(cpu_req)),
        amount(CPU, Some(cpu_target)),
        change(CPU, Some(cpu_target - cpu_req)),
        amount(MEMORY, Some(mem_req)),
        amount(MEMORY, Some(mem_target)),
        change(MEMORY, Some(mem_target - mem_req)),
    ]
}

/// One line per container and a `TOTAL` line over the containers whose request is known.
pub fn table(rows: &[ReportRow]) -> String {
    let mut lines: Vec<[String; 9]> = vec![HEADER.map(String::from)];
    lines.extend(rows.iter().map(cells));
    lines.push(total_cells(rows));
    let widths: Vec<usize> = (0..9)
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &lines {
        let padded: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// CSV with a header; no total line (sum the columns instead).
pub fn csv(rows: &[ReportRow]) -> String {
    let header = "namespace,workload,container,cpu_request_millicores,cpu_target_millicores,\
                  cpu_change_millicores,memory_request_bytes,memory_target_bytes,memory_change_bytes";
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut out = format!("{header}\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.namespace,
            r.workload,
            r.container,
            opt(r.requests.cpu),
            r.cpu_target,
            opt(r.cpu_change()),
            opt(r.requests.memory),
            r.memory_target,
            opt(r.memory_change()),
        ));
    }
    out
}

/// `{"containers": [...], "total": {...}}` with CPU in millicores and memory in bytes.
pub fn json(rows: &[ReportRow]) -> String {
    let containers: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "namespace": r.namespace, "workload": r.workload, "container": r.container,
                "cpu": {"requestMillicores": r.requests.cpu, "targetMillicores": r.cpu_target,
                        "changeMillicores": r.cpu_change()},
                "memory": {"requestBytes": r.requests.memory, "targetBytes": r.memory_target,
                           "changeBytes": r.memory_change()},
            })
        })
        .collect();
    let ((cpu_req, cpu_target), (mem_req, mem_target)) = totals(rows);
    let doc = json!({
        "containers": containers,
        "total": {
            "cpu": {"requestMillicores": cpu_req, "targetMillicores": cpu_target},
            "memory": {"requestBytes": mem_req, "targetBytes": mem_target},
        },
    });
    serde_json::to_string_pretty(&doc).expect("JSON values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rows::Requests;

    fn rows() -> Vec<ReportRow> {
        vec![
            ReportRow {
                namespace: "shop".into(),
                workload: "web".into(),
                container: "app".into(),
                requests: Requests {
                    cpu: Some(1000),
                    memory: Some(512 << 20),
                },
                cpu_target: 587,
                memory_target: 262_144_000,
            },
            ReportRow {
                namespace: "shop".into(),
                workload: "db".into(),
                container: "pg".into(),
                requests: Requests::default(),
                cpu_target: 1200,
                memory_target: 1 << 30,
            },
        ]
    }

    #[test]
    fn table_shows_signed_changes_and_a_total_over_known_requests() {
        let text = table(&rows());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE  WORKLOAD"), "{text}");
        let web: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            web,
            [
                "shop", "web", "app", "1", "587m", "-413m", "512Mi", "250Mi", "-262Mi"
            ]
        );
        let db: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(db[3..6], ["-", "1200m", "-"]);
        let total: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            total,
            ["TOTAL", "1", "587m", "-413m", "512Mi", "250Mi", "-262Mi"]
        );
    }

    #[test]
    fn csv_and_json_carry_raw_units() {
        let text = csv(&rows());
        assert_eq!(
            text.lines().nth(1),
            Some("shop,web,app,1000,587,-413,536870912,262144000,-274726912")
        );
        assert_eq!(text.lines().nth(2), Some("shop,db,pg,,1200,,,1073741824,"));
        let doc: Value = serde_json::from_str(&json(&rows())).unwrap();
        assert_eq!(doc["containers"][0]["cpu"]["changeMillicores"], -413);
        assert_eq!(doc["containers"][1]["memory"]["requestBytes"], Value::Null);
        assert_eq!(doc["total"]["cpu"]["requestMillicores"], 1000);
    }
}
