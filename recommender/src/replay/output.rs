//! Rendering replay results as a table or JSON (pure).

use serde_json::{Value, json};

use super::WorkloadRecommendation;
use crate::logic::RecommendedResources;
use crate::model::Resource;

/// JSON: an array of `{namespace, workload, container, target, lowerBound, upperBound,
/// uncappedTarget}`, each resource map with CPU in millicores (`"587m"`) and memory as a whole
/// number of bytes (`"262144000"`).
pub fn render_json(recommendations: &[WorkloadRecommendation]) -> String {
    let items: Vec<Value> = recommendations
        .iter()
        .map(|r| {
            json!({
                "namespace": r.namespace,
                "workload": r.workload,
                "container": r.container,
                "target": resources_json(&r.target),
                "lowerBound": resources_json(&r.lower_bound),
                "upperBound": resources_json(&r.upper_bound),
                "uncappedTarget": resources_json(&r.uncapped_target),
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("JSON values always serialize")
}

fn resources_json(resources: &RecommendedResources) -> Value {
    let mut map = serde_json::Map::new();
    if let Some(cpu) = resources.cpu {
        map.insert("cpu".into(), format!("{cpu}m").into());
    }
    if let Some(memory) = resources.memory {
        map.insert("memory".into(), memory.to_string().into());
    }
    Value::Object(map)
}

/// A table with one row per container and `cpu / memory` in each recommendation column, as
/// canonical Kubernetes quantities (`587m`, `250Mi`).
pub fn render_table(recommendations: &[WorkloadRecommendation]) -> String {
    let mut rows = vec![
        [
            "NAMESPACE",
            "WORKLOAD",
            "CONTAINER",
            "TARGET",
            "LOWER BOUND",
            "UPPER BOUND",
            "UNCAPPED TARGET",
        ]
        .map(String::from),
    ];
    rows.extend(recommendations.iter().map(|r| {
        [
            r.namespace.clone(),
            r.workload.clone(),
            r.container.clone(),
            resources_cell(&r.target),
            resources_cell(&r.lower_bound),
            resources_cell(&r.upper_bound),
            resources_cell(&r.uncapped_target),
        ]
    }));
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn resources_cell(resources: &RecommendedResources) -> String {
    let quantity = |resource: Resource| {
        resources.get(resource).map_or_else(
            || "-".to_owned(),
            |amount| vpa_common::resources::quantity(resource.name(), amount).0,
        )
    };
    format!(
        "{} / {}",
        quantity(Resource::Cpu),
        quantity(Resource::Memory)
    )
}
