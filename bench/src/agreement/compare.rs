//! Comparing two VPA statuses (pure): every container's target, lowerBound, upperBound and
//! uncappedTarget, CPU and memory, agree within one histogram bucket (5 %, the ratio between
//! neighbouring buckets), or the difference is listed.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use vpa_common::quantity::Quantity;

/// The fields compared, as `status.recommendation.containerRecommendations[]` names them.
pub const FIELDS: [&str; 4] = ["target", "lowerBound", "upperBound", "uncappedTarget"];

/// The resources compared.
pub const RESOURCES: [&str; 2] = ["cpu", "memory"];

/// Relative tolerance: one histogram bucket.
pub const TOLERANCE: f64 = 0.05;

/// Values by (container, field, resource): cores and bytes.
pub type Recommendation = BTreeMap<(String, String, String), f64>;

/// The recommendation of a VPA object (empty when it has none).
pub fn recommendation(vpa: &Value) -> Recommendation {
    let mut out = Recommendation::new();
    let containers = vpa
        .pointer("/status/recommendation/containerRecommendations")
        .and_then(Value::as_array);
    for c in containers.into_iter().flatten() {
        let name = c["containerName"].as_str().unwrap_or_default();
        for field in FIELDS {
            for resource in RESOURCES {
                let amount = c[field][resource]
                    .as_str()
                    .and_then(|q| q.parse::<Quantity>().ok());
                if let Some(q) = amount {
                    out.insert((name.into(), field.into(), resource.into()), q.as_f64());
                }
            }
        }
    }
    out
}

/// One value that differs by more than [`TOLERANCE`], or is present on one side only.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// What the values belong to (e.g. the workload).
    pub subject: String,
    /// Container name.
    pub container: String,
    /// Status field.
    pub field: String,
    /// `cpu` or `memory`.
    pub resource: String,
    /// Ours (None: missing).
    pub ours: Option<f64>,
    /// Upstream's (None: missing).
    pub upstream: Option<f64>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<f64>| v.map_or("missing".to_string(), |v| format!("{v:.4e}"));
        write!(
            f,
            "{}/{} {}.{}: ours {} upstream {}",
            self.subject,
            self.container,
            self.field,
            self.resource,
            show(self.ours),
            show(self.upstream)
        )
    }
}

/// Whether two amounts are within one bucket of each other (relative to the larger one; an
/// absolute slack of one unit of rounding: 1 millicore, 1 byte).
pub fn agree(a: f64, b: f64, resource: &str) -> bool {
    let slack = if resource == "cpu" { 0.001 } else { 1.0 };
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()) + slack
}

/// Every difference between `ours` and `upstream`, each tagged with `subject`.
pub fn differences(
    subject: &str,
    ours: &Recommendation,
    upstream: &Recommendation,
) -> Vec<Difference> {
    let keys: std::collections::BTreeSet<_> = ours.keys().chain(upstream.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (o, u) = (ours.get(key).copied(), upstream.get(key).copied());
            let same = matches!((o, u), (Some(a), Some(b)) if agree(a, b, &key.2));
            (!same).then(|| Difference {
                subject: subject.to_string(),
                container: key.0.clone(),
                field: key.1.clone(),
                resource: key.2.clone(),
                ours: o,
                upstream: u,
            })
        })
        .collect()
}

/// Largest difference allowed between two checkpoints' bucket weights (stored scaled to 10,000
/// for the largest bucket): the floating-point order of summing can move a weight by one unit.
pub const BUCKET_WEIGHT_SLACK: i64 = 10;

/// How two checkpoints' statuses differ: the histograms' buckets and weights (within
/// [`BUCKET_WEIGHT_SLACK`]), the first and last sample times and the sample count. Empty when they
/// hold the same history.
pub fn checkpoint_differences(ours: &Value, upstream: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for field in ["firstSampleStart", "lastSampleStart", "totalSamplesCount"] {
        if ours[field] != upstream[field] {
            out.push(format!(
                "{field}: ours {} upstream {}",
                ours[field], upstream[field]
            ));
        }
    }
    for histogram in ["cpuHistogram", "memoryHistogram"] {
        let weights = |v: &Value| -> BTreeMap<String, i64> {
            v[histogram]["bucketWeights"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, w)| (k.clone(), w.as_i64().unwrap_or(-1)))
                .collect()
        };
        let (o, u) = (weights(ours), weights(upstream));
        let buckets: std::collections::BTreeSet<&String> = o.keys().chain(u.keys()).collect();
        for b in buckets {
            let (wo, wu) = (o.get(b).copied(), u.get(b).copied());
            let close =
                matches!((wo, wu), (Some(a), Some(c)) if (a - c).abs() <= BUCKET_WEIGHT_SLACK);
            if !close {
                out.push(format!(
                    "{histogram} bucket {b}: ours {wo:?} upstream {wu:?}"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vpa(cpu: &str, memory: &str) -> Value {
        json!({"status": {"recommendation": {"containerRecommendations": [{
            "containerName": "app",
            "target": {"cpu": cpu, "memory": memory},
            "lowerBound": {"cpu": "10m", "memory": "100Mi"},
        }]}}})
    }

    #[test]
    fn a_status_becomes_values_in_cores_and_bytes() {
        let r = recommendation(&vpa("250m", "1Gi"));
        let key = |f: &str, r: &str| ("app".to_string(), f.to_string(), r.to_string());
        assert_eq!(r[&key("target", "cpu")], 0.25);
        assert_eq!(r[&key("target", "memory")], 1024.0 * 1024.0 * 1024.0);
        assert_eq!(r.len(), 4);
        assert!(recommendation(&json!({})).is_empty());
    }

    #[test]
    fn checkpoints_differ_in_buckets_weights_and_sample_times() {
        let cp = |bucket: &str, weight: i64, count: i64| {
            json!({"cpuHistogram": {"bucketWeights": {bucket: weight}},
                "memoryHistogram": {"bucketWeights": {"3": 10000}},
                "firstSampleStart": "2026-01-01T00:00:00Z", "totalSamplesCount": count})
        };
        assert!(checkpoint_differences(&cp("5", 10000, 80), &cp("5", 9995, 80)).is_empty());
        assert_eq!(
            checkpoint_differences(&cp("5", 10000, 80), &cp("6", 10000, 78)),
            [
                "totalSamplesCount: ours 80 upstream 78",
                "cpuHistogram bucket 5: ours Some(10000) upstream None",
                "cpuHistogram bucket 6: ours None upstream Some(10000)",
            ]
        );
    }

    #[test]
    fn one_bucket_apart_agrees_and_two_do_not() {
        assert!(agree(1.0, 1.05, "cpu"));
        assert!(!agree(1.0, 1.1025, "cpu"));
        assert!(agree(0.0, 0.001, "cpu"), "one millicore of rounding");
        assert!(!agree(0.0, 0.01, "cpu"));
    }

    #[test]
    fn differences_name_the_value_and_missing_sides() {
        let ours = recommendation(&vpa("250m", "1Gi"));
        let upstream = recommendation(&vpa("300m", "1Gi"));
        let d = differences("steady", &ours, &upstream);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "target");
        assert_eq!(d[0].resource, "cpu");
        assert_eq!(
            d[0].to_string(),
            "steady/app target.cpu: ours 2.5000e-1 upstream 3.0000e-1"
        );
        let missing = differences("steady", &ours, &Recommendation::new());
        assert_eq!(missing.len(), 4);
        assert!(missing.iter().all(|d| d.upstream.is_none()));
    }
}
