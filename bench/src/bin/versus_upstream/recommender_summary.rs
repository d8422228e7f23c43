//! The recommender table's columns and how runs reduce to them (pure): per run the medians of its
//! steady loops (every loop after the first), then the median over rounds.

use vpa_bench::report::Metric;
use vpa_bench::stats::median;

use crate::recommender_run::{RunResult, STEPS};

/// The columns, in order.
pub fn metrics() -> Vec<Metric> {
    let mut m = vec![
        Metric::cost("peak RSS (MiB)", 0),
        Metric::cost("steady RSS (MiB)", 0),
        Metric::cost("KiB per container", 2),
        Metric::cost("CPU s per loop", 2),
        Metric::cost("CPU µs per container per loop", 1),
        Metric::cost("loop (s)", 3),
    ];
    m.extend(STEPS.iter().map(|s| Metric::cost(&format!("{s} (s)"), 3)));
    m.extend([
        Metric::info("API requests per loop", 0),
        Metric::cost("first loop (s)", 2),
        Metric::cost("CPU s to the end of the first loop", 2),
    ]);
    m
}

/// One run's figures in column order; `containers` is what the workload tracks.
fn run_values(run: &RunResult, containers: usize) -> Vec<Option<f64>> {
    let steady = &run.loops[1.min(run.loops.len())..];
    let of = |f: &dyn Fn(&crate::recommender_run::LoopSample) -> f64| {
        median(&steady.iter().map(f).collect::<Vec<_>>())
    };
    let rss = of(&|l| l.rss_mib);
    let cpu = of(&|l| l.cpu_s);
    let per_container = |v: Option<f64>, scale: f64| v.map(|v| v * scale / containers as f64);
    let mut values = vec![
        Some(run.peak_rss_mib),
        rss,
        per_container(rss, 1024.0),
        cpu,
        per_container(cpu, 1e6),
        of(&|l| l.total_s),
    ];
    values.extend(
        STEPS
            .iter()
            .map(|s| of(&|l| l.steps.get(*s).copied().unwrap_or(0.0))),
    );
    let first = run.loops.first();
    values.extend([
        of(&|l| l.requests as f64),
        first.map(|l| l.total_s),
        first.map(|l| l.cpu_s),
    ]);
    values
}

/// The medians over `runs` of each column.
pub fn values(runs: &[RunResult], containers: usize) -> Vec<Option<f64>> {
    let per_run: Vec<Vec<Option<f64>>> = runs.iter().map(|r| run_values(r, containers)).collect();
    (0..metrics().len())
        .map(|i| {
            let column: Vec<f64> = per_run.iter().filter_map(|v| v[i]).collect();
            median(&column)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommender_run::LoopSample;

    fn sample(total_s: f64, cpu_s: f64, rss_mib: f64) -> LoopSample {
        LoopSample {
            steps: [("UpdateVPAs".to_string(), total_s / 2.0)].into(),
            total_s,
            cpu_s,
            requests: 30,
            rss_mib,
        }
    }

    #[test]
    fn steady_figures_leave_the_first_loop_out_and_scale_per_container() {
        let run = RunResult {
            loops: vec![
                sample(9.0, 20.0, 50.0),
                sample(2.0, 1.0, 100.0),
                sample(4.0, 3.0, 100.0),
            ],
            peak_rss_mib: 120.0,
        };
        let v = values(&[run], 1024);
        let col = |name: &str| v[metrics().iter().position(|m| m.name == name).unwrap()];
        assert_eq!(col("peak RSS (MiB)"), Some(120.0));
        assert_eq!(col("steady RSS (MiB)"), Some(100.0));
        assert_eq!(col("KiB per container"), Some(100.0));
        assert_eq!(col("CPU s per loop"), Some(2.0));
        assert_eq!(col("loop (s)"), Some(3.0));
        assert_eq!(col("UpdateVPAs (s)"), Some(1.5));
        assert_eq!(col("LoadVPAs (s)"), Some(0.0));
        assert_eq!(col("first loop (s)"), Some(9.0));
        assert_eq!(col("CPU s to the end of the first loop"), Some(20.0));
        assert_eq!(col("API requests per loop"), Some(30.0));
    }

    #[test]
    fn rounds_reduce_to_their_median() {
        let run = |peak| RunResult {
            loops: vec![sample(1.0, 1.0, 1.0), sample(1.0, 1.0, 1.0)],
            peak_rss_mib: peak,
        };
        let v = values(&[run(10.0), run(30.0), run(20.0)], 1);
        assert_eq!(v[0], Some(20.0));
        assert_eq!(v.len(), metrics().len());
    }
}
