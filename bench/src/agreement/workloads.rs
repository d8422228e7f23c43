//! The usage both recommenders are fed in the live-agreement test (pure): five workloads of
//! [`PODS`] pods each, one sample per container per step, one simulated minute apart. Amounts stay above
//! the pod minimums (25 mCPU, 250 MiB split over the containers) so the floors do not hide what the
//! histograms say.

use serde_json::{Value, json};

/// Pods per workload. Odd, so that the memory peaks (one per pod and window, equal weights within a
/// window) never split exactly in half: at an exact tie the 50th percentile depends on the order
/// floating-point weights were summed in, which Go's map iteration makes random in upstream.
pub const PODS: usize = 3;

/// MiB in bytes.
const MIB: f64 = 1024.0 * 1024.0;

/// A workload and the shape of its usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Flat with a little deterministic noise.
    Steady,
    /// A low base with short high bursts.
    Spiky,
    /// Rising over the whole run.
    Growing,
    /// Memory climbing to its limit and OOM-killed at [`OOM_STEPS`].
    OomKilled,
    /// Two containers with different usage (`app` and `sidecar`).
    MultiContainer,
}

/// Every workload, in the order they are created.
pub const SHAPES: [Shape; 5] = [
    Shape::Steady,
    Shape::Spiky,
    Shape::Growing,
    Shape::OomKilled,
    Shape::MultiContainer,
];

/// Steps (0-based) after whose samples pod 0 of [`Shape::OomKilled`] is OOM-killed.
pub const OOM_STEPS: [usize; 2] = [14, 29];

/// Memory request and limit of the OOM-killed workload's container, MiB.
pub const OOM_LIMIT_MIB: f64 = 600.0;

impl Shape {
    /// Deployment name (and the VPA name stem).
    pub fn name(self) -> &'static str {
        match self {
            Shape::Steady => "steady",
            Shape::Spiky => "spiky",
            Shape::Growing => "growing",
            Shape::OomKilled => "oom-killed",
            Shape::MultiContainer => "multi-container",
        }
    }

    /// Container names of its pods.
    pub fn containers(self) -> &'static [&'static str] {
        match self {
            Shape::MultiContainer => &["app", "sidecar"],
            _ => &["app"],
        }
    }

    /// The pod template's containers: requests (and, for the OOM-killed one, a memory limit).
    pub fn container_specs(self) -> Value {
        let specs: Vec<Value> = self
            .containers()
            .iter()
            .map(|c| match self {
                Shape::OomKilled => json!({"name": c, "image": "app:1", "resources": {
                    "requests": {"cpu": "200m", "memory": format!("{OOM_LIMIT_MIB}Mi")},
                    "limits": {"memory": format!("{OOM_LIMIT_MIB}Mi")}}}),
                _ => json!({"name": c, "image": "app:1",
                    "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}}}),
            })
            .collect();
        Value::Array(specs)
    }

    /// Usage of `container` of pod `pod` at step `step`: (cores, bytes).
    pub fn usage(self, container: &str, pod: usize, step: usize) -> (f64, f64) {
        let k = step as f64;
        let p = pod as f64;
        // Deterministic noise in [0, 1): differs per pod, step and container.
        let noise = ((step * 7 + pod * 13 + container.len() * 3) % 10) as f64 / 10.0;
        let (cpu, mib) = match (self, container) {
            (Shape::Steady, _) => (0.25 + 0.02 * noise + 0.01 * p, 320.0 + 8.0 * noise),
            (Shape::Spiky, _) => {
                let burst = step % 6 == 5;
                let mem_burst = step % 10 == 9;
                (
                    if burst { 1.2 } else { 0.1 + 0.01 * noise },
                    if mem_burst {
                        900.0
                    } else {
                        300.0 + 4.0 * noise + 10.0 * p
                    },
                )
            }
            (Shape::Growing, _) => (0.05 + 0.012 * k + 0.005 * p, 280.0 + 9.0 * k + 5.0 * p),
            (Shape::OomKilled, _) => {
                // Climbs towards the limit from each (re)start; pod 1 stays well below it.
                let since_start = OOM_STEPS
                    .iter()
                    .filter(|&&s| s < step)
                    .map(|s| step - s - 1)
                    .min()
                    .unwrap_or(step) as f64;
                let mib = if pod == 0 {
                    (380.0 + 14.0 * since_start).min(OOM_LIMIT_MIB - 5.0)
                } else {
                    385.0 + 3.0 * noise + 15.0 * p
                };
                (0.3 + 0.05 * noise, mib)
            }
            (Shape::MultiContainer, "sidecar") => (0.04 + 0.004 * noise, 160.0 + 2.0 * noise),
            (Shape::MultiContainer, _) => (
                0.5 + 0.3 * (k * 0.7).sin().abs() + 0.02 * p,
                700.0 + 60.0 * (k * 0.3).cos() + 5.0 * noise,
            ),
        };
        (cpu, mib * MIB)
    }
}

/// The `usage` map of a PodMetrics container: nanocores and KiB, as metrics-server writes them.
pub fn usage_json(cores: f64, bytes: f64) -> Value {
    json!({"cpu": format!("{}n", (cores * 1e9).round() as i64),
        "memory": format!("{}Ki", (bytes / 1024.0).round() as i64)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_stays_above_the_pod_minimums() {
        for shape in SHAPES {
            let per_container_floor = 250.0 * MIB / shape.containers().len() as f64;
            for c in shape.containers() {
                for pod in 0..PODS {
                    for step in 0..40 {
                        let (cpu, mem) = shape.usage(c, pod, step);
                        assert!(cpu >= 0.025, "{shape:?}/{c} cpu {cpu} at step {step}");
                        assert!(mem > per_container_floor, "{shape:?}/{c} memory {mem}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_oom_killed_container_climbs_to_its_limit_before_each_kill() {
        let (_, before_first) = Shape::OomKilled.usage("app", 0, OOM_STEPS[0]);
        let (_, after_first) = Shape::OomKilled.usage("app", 0, OOM_STEPS[0] + 1);
        assert!(before_first > 0.9 * OOM_LIMIT_MIB * MIB);
        assert!(before_first < OOM_LIMIT_MIB * MIB);
        assert!(
            after_first < 400.0 * MIB,
            "usage restarts low after the kill"
        );
    }

    #[test]
    fn usage_json_is_in_metrics_server_units() {
        assert_eq!(
            usage_json(0.25, 2048.0),
            json!({"cpu": "250000000n", "memory": "2Ki"})
        );
    }
}
