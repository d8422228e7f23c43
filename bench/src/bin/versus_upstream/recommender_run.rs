//! One recommender run: a binary against a prepared cluster for a number of loops, each loop's
//! steps, CPU, API requests and RSS taken at its end. Ours says when a loop ends in its `Loop done`
//! log line (its /metrics is tens of MiB at 10k VPAs, too costly to poll); upstream's loop end is
//! seen as its `vpa_recommender_execution_latency_seconds{step="total"}` count growing, polled
//! every 250 ms, and its steps are the growth of each step's sum. Edge.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use vpa_bench::child::{Measured, Stderr};
use vpa_bench::prom_text::{self, SumCount};

use crate::peers::{Kind, Peer};

/// The loop's steps, as both recommenders name them.
pub const STEPS: [&str; 6] = [
    "LoadVPAs",
    "LoadPods",
    "LoadMetrics",
    "UpdateVPAs",
    "MaintainCheckpoints",
    "GarbageCollect",
];

const LATENCY: &str = "vpa_recommender_execution_latency_seconds";

/// What a run is measured against.
pub struct Target {
    /// A kubeconfig of the identity whose requests [`Target::requests`] counts.
    pub kubeconfig: PathBuf,
    /// Requests that identity has sent so far.
    pub requests: Box<dyn Fn() -> u64 + Send + Sync>,
}

/// One loop.
#[derive(Clone, Debug, Default)]
pub struct LoopSample {
    /// Seconds per step.
    pub steps: BTreeMap<String, f64>,
    /// The whole loop, seconds.
    pub total_s: f64,
    /// CPU seconds since the previous loop's end (since the start, for the first).
    pub cpu_s: f64,
    /// API requests since the previous loop's end.
    pub requests: u64,
    /// RSS at its end, MiB.
    pub rss_mib: f64,
}

/// A run.
pub struct RunResult {
    /// Every loop, the first included.
    pub loops: Vec<LoopSample>,
    /// `VmHWM` at the end, MiB.
    pub peak_rss_mib: f64,
}

/// Where loop ends come from.
enum LoopSource {
    Log(mpsc::Receiver<Value>),
    Metrics {
        port: u16,
        /// The histograms at the end of the last loop seen.
        last: BTreeMap<String, SumCount>,
        polled: Instant,
    },
}

fn log_steps(fields: &Value) -> Option<(BTreeMap<String, f64>, f64)> {
    let steps = fields["steps"]
        .as_str()?
        .split_whitespace()
        .filter_map(|s| {
            let (step, ms) = s.split_once('=')?;
            Some((
                step.to_string(),
                ms.trim_end_matches("ms").parse::<f64>().ok()? / 1000.0,
            ))
        })
        .collect();
    Some((steps, fields["elapsed_ms"].as_f64()? / 1000.0))
}

async fn scrape(port: u16) -> Option<BTreeMap<String, SumCount>> {
    let (status, body) =
        tokio::task::spawn_blocking(move || vpa_e2e::prometheus::http_get(port, "/metrics"))
            .await
            .ok()?
            .ok()?;
    (status == 200).then(|| prom_text::histogram_by_label(&body, LATENCY, "step"))
}

/// Loops that ended since the previous poll: steps and total, seconds.
fn metric_loops(
    last: &BTreeMap<String, SumCount>,
    now: &BTreeMap<String, SumCount>,
) -> Vec<(BTreeMap<String, f64>, f64)> {
    let count = |m: &BTreeMap<String, SumCount>| m.get("total").map_or(0.0, |s| s.count);
    let n = (count(now) - count(last)).round();
    if n < 1.0 {
        return Vec::new();
    }
    let delta = |step: &str| {
        let sum = |m: &BTreeMap<String, SumCount>| m.get(step).map_or(0.0, |s| s.sum);
        (sum(now) - sum(last)) / n
    };
    let steps: BTreeMap<String, f64> = STEPS.iter().map(|s| (s.to_string(), delta(s))).collect();
    vec![(steps, delta("total")); n as usize]
}

impl LoopSource {
    async fn poll(&mut self) -> Vec<(BTreeMap<String, f64>, f64)> {
        match self {
            LoopSource::Log(rx) => rx
                .try_iter()
                .filter(|f| f["message"] == "Loop done")
                .filter_map(|f| log_steps(&f))
                .collect(),
            LoopSource::Metrics { port, last, polled } => {
                if polled.elapsed() < Duration::from_millis(250) {
                    return Vec::new();
                }
                *polled = Instant::now();
                let Some(now) = scrape(*port).await else {
                    return Vec::new();
                };
                let loops = metric_loops(last, &now);
                // The baseline moves only at a loop's end: a scrape in the middle of a loop holds
                // its first steps, which belong to the loop that has not ended yet.
                if !loops.is_empty() {
                    *last = now;
                }
                loops
            }
        }
    }
}

/// Runs `peer` against `target` for `loops` loops.
pub async fn run(
    peer: &Peer,
    target: &Target,
    interval: Duration,
    loops: usize,
    log: &Path,
) -> anyhow::Result<RunResult> {
    let port = vpa_sim::free_port();
    let mut args = vec![
        format!("--kubeconfig={}", target.kubeconfig.display()),
        format!("--address=127.0.0.1:{port}"),
        format!("--recommender-interval={}s", interval.as_secs()),
        "--checkpoints-timeout=1m".to_string(),
    ];
    args.extend(peer.flags.iter().cloned());
    let (stderr, env): (Stderr, &[(&str, &str)]) = match peer.kind {
        Kind::Ours => (
            Stderr::Piped,
            &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")],
        ),
        Kind::Upstream => (Stderr::Log, &[("NAMESPACE", "kube-system")]),
    };
    let requests_at_start = (target.requests)();
    let mut child = Measured::start(&peer.binary, &args, env, log, stderr)?;
    let mut source = match child.take_stderr() {
        Some(pipe) => {
            let (tx, rx) = mpsc::channel();
            let copy = log.with_extension("warnings.log");
            std::thread::spawn(move || forward_log(pipe, tx, &copy));
            LoopSource::Log(rx)
        }
        None => LoopSource::Metrics {
            port,
            last: BTreeMap::new(),
            polled: Instant::now(),
        },
    };
    let deadline = Instant::now() + Duration::from_secs(300) + interval * 2 * loops as u32;
    let (mut cpu_before, mut requests_before) = (0.0, requests_at_start);
    let mut samples = Vec::new();
    while samples.len() < loops {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{}: {} of {loops} loops before the deadline; end of its log:\n{}",
            peer.label,
            samples.len(),
            child.log_tail(20)
        );
        child.check_running()?;
        for (steps, total_s) in source.poll().await {
            let now = child.stats();
            let requests = (target.requests)();
            samples.push(LoopSample {
                steps,
                total_s,
                cpu_s: now.cpu_seconds - cpu_before,
                requests: requests - requests_before,
                rss_mib: now.rss_mib,
            });
            (cpu_before, requests_before) = (now.cpu_seconds, requests);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak_rss_mib = child.stats().peak_rss_mib;
    child.stop();
    Ok(RunResult {
        loops: samples,
        peak_rss_mib,
    })
}

/// Passes ours' JSON log lines on, keeping warnings and errors (and unparsable lines) in `copy`.
fn forward_log(pipe: std::process::ChildStderr, tx: mpsc::Sender<Value>, copy: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(copy).ok();
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        match serde_json::from_str::<Value>(&line) {
            Ok(v) => {
                if v["level"] == "WARN" || v["level"] == "ERROR" {
                    file.as_mut().map(|f| writeln!(f, "{line}"));
                }
                let _ = tx.send(v["fields"].clone());
            }
            Err(_) => {
                file.as_mut().map(|f| writeln!(f, "{line}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_log_line_gives_steps_in_seconds() {
        let fields = serde_json::json!({"message": "Loop done", "elapsed_ms": 2860,
            "steps": "LoadVPAs=100ms LoadPods=0ms LoadMetrics=270ms UpdateVPAs=1340ms"});
        let (steps, total) = log_steps(&fields).unwrap();
        assert_eq!(total, 2.86);
        assert_eq!(steps["UpdateVPAs"], 1.34);
        assert_eq!(steps.len(), 4);
    }

    #[test]
    fn upstream_loops_are_the_growth_of_the_step_histograms() {
        let sc = |sum, count| SumCount { sum, count };
        let last = BTreeMap::from([
            ("total".to_string(), sc(10.0, 2.0)),
            ("UpdateVPAs".to_string(), sc(6.0, 2.0)),
        ]);
        let same = metric_loops(&last, &last);
        assert!(same.is_empty(), "no loop ended");
        let now = BTreeMap::from([
            ("total".to_string(), sc(18.0, 4.0)),
            ("UpdateVPAs".to_string(), sc(10.0, 4.0)),
        ]);
        let loops = metric_loops(&last, &now);
        assert_eq!(
            loops.len(),
            2,
            "two loops ended between polls share the growth"
        );
        assert_eq!(loops[0].1, 4.0);
        assert_eq!(loops[0].0["UpdateVPAs"], 2.0);
        assert_eq!(loops[0].0["LoadVPAs"], 0.0);
    }
}
