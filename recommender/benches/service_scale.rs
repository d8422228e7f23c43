//! The recommender service at scale: the release `vpa-recommender` binary as a child process
//! against the in-memory API server (`vpa-sim`, in this process), seeded with 10k VPAs, 10k
//! Deployments with one ReplicaSet each, 50k pods of 1 to 3 containers over 100 namespaces, and
//! PodMetrics for every pod, refreshed through each interval as metrics-server would. Prints the
//! per-step durations of every loop (from the binary's "Loop done" log line) and the child's own
//! RSS (`/proc/<pid>/status`), so the sim's memory does not count.
//!
//! Run: `cargo bench -p vpa-recommender --bench service_scale`. Environment:
//! `VPA_BENCH_SCALE` (default 1.0; 0.1 is a quick smoke run), `VPA_BENCH_LOOPS` (default 4: the
//! first loop and three steady ones), `VPA_BENCH_INTERVAL` (default `10s`),
//! `VPA_BENCH_CHECKPOINTS_TIMEOUT` (default upstream's `1m`), `VPA_BENCH_WRAPPER` (a profiler to run
//! the binary under, e.g. `heaptrack -o /tmp/rec`, which needs the bench run with
//! `--no-default-features`: heaptrack sees only the C library's malloc, not jemalloc),
//! `VPA_BENCH_ARGS` (extra flags for the binary, split on whitespace, e.g.
//! `--update-worker-count=20`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use vpa_sim::{Sim, SimOptions};

/// The sim (this process) on the allocator the recommender uses: with glibc's malloc, allocation
/// was a fifth of the sim's CPU, which shares the two cores with the binary being measured.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use vpa_bench::proc_stats;
use vpa_bench::recommender_workload::{
    self as seed, NAMESPACES, PODS_PER_WORKLOAD, containers, put_metrics, refresh_metrics,
};

const STEPS: [&str; 7] = [
    "LoadVPAs",
    "LoadPods",
    "LoadMetrics",
    "UpdateVPAs",
    "MaintainCheckpoints",
    "GarbageCollect",
    "total",
];

struct Profile {
    vpas: usize,
    loops: usize,
    interval: String,
    checkpoints_timeout: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

impl Profile {
    fn from_env() -> Self {
        let scale: f64 = env_or("VPA_BENCH_SCALE", "1.0").parse().unwrap_or(1.0);
        Self {
            vpas: ((10_000.0 * scale) as usize).max(1),
            loops: env_or("VPA_BENCH_LOOPS", "4").parse().unwrap_or(4).max(2),
            interval: env_or("VPA_BENCH_INTERVAL", "10s"),
            checkpoints_timeout: env_or("VPA_BENCH_CHECKPOINTS_TIMEOUT", "1m"),
        }
    }

    fn interval(&self) -> Duration {
        vpa_common::duration::parse_duration(&self.interval).expect("VPA_BENCH_INTERVAL")
    }
}

/// `VmRSS` and `VmHWM` of `pid`, MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let s = proc_stats::read(pid);
    (s.rss_mib, s.peak_rss_mib)
}

/// CPU time (user + system) `pid` has used, seconds.
fn cpu_seconds(pid: u32) -> f64 {
    proc_stats::read(pid).cpu_seconds
}

/// One "Loop done" line: step durations (ms) and counts, plus the child's RSS when it arrived.
struct LoopLine {
    steps: Vec<(String, u64)>,
    statuses: u64,
    checkpoints: u64,
    rss: f64,
    /// The child's CPU seconds used when the line arrived.
    cpu: f64,
    /// This process's (the sim's) CPU seconds used when the line arrived.
    sim_cpu: f64,
}

fn parse_loop(fields: &Value, rss: f64, cpu: f64, sim_cpu: f64) -> LoopLine {
    let steps = fields["steps"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| {
            let (step, ms) = s.split_once('=')?;
            Some((step.to_string(), ms.trim_end_matches("ms").parse().ok()?))
        })
        .chain(
            fields["elapsed_ms"]
                .as_u64()
                .map(|ms| ("total".to_string(), ms)),
        )
        .collect();
    LoopLine {
        steps,
        statuses: fields["statuses_written"].as_u64().unwrap_or(0),
        checkpoints: fields["checkpoints_written"].as_u64().unwrap_or(0),
        rss,
        cpu,
        sim_cpu,
    }
}

/// The table; `cpu_before` is the child's and the sim's CPU seconds when the caches had synced.
fn print_table(loops: &[LoopLine], (mut cpu_before, mut sim_before): (f64, f64)) {
    println!(
        "\n| loop | {} | statuses written | VPAs checkpointed | recommender CPU (s) | sim CPU (s) | RSS after (MiB) |",
        STEPS.join(" | ")
    );
    println!("|{}", "---|".repeat(STEPS.len() + 6));
    for (i, l) in loops.iter().enumerate() {
        let cells: Vec<String> = STEPS
            .iter()
            .map(|s| {
                let ms = l
                    .steps
                    .iter()
                    .find(|(n, _)| n == s)
                    .map_or(0, |(_, ms)| *ms);
                format!("{:.2} s", ms as f64 / 1000.0)
            })
            .collect();
        let label = if i == 0 {
            "1 (first)".to_string()
        } else {
            format!("{}", i + 1)
        };
        println!(
            "| {label} | {} | {} | {} | {:.1} | {:.1} | {:.0} |",
            cells.join(" | "),
            l.statuses,
            l.checkpoints,
            l.cpu - cpu_before,
            l.sim_cpu - sim_before,
            l.rss
        );
        cpu_before = l.cpu;
        sim_before = l.sim_cpu;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    vpa_common::install_crypto_provider();
    let profile = Profile::from_env();
    let interval = profile.interval();
    let sim = Sim::start(SimOptions {
        // Per resource: two loops of VPA status writes, so a resumed watch does not get 410,
        // without holding gigabytes of superseded checkpoints and PodMetrics in the sim.
        history_window: 20_000,
        ..SimOptions::default()
    })
    .await?;
    let client = sim.client().await?;
    vpa_test_support::install_vpa_crds(&client).await?;
    let t = Instant::now();
    let pods = seed::seed(sim.store(), profile.vpas);
    for w in 0..profile.vpas {
        put_metrics(sim.shared(), w, 0);
    }
    println!(
        "seeded {} VPAs, {} Deployments/ReplicaSets, {pods} pods ({} containers) with PodMetrics in {} namespaces in {:.1?}",
        profile.vpas,
        profile.vpas,
        (0..profile.vpas)
            .map(|w| containers(w) * PODS_PER_WORKLOAD)
            .sum::<usize>(),
        NAMESPACES.min(profile.vpas),
        t.elapsed()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let refresher = {
        let (shared, stop, n) = (sim.shared().clone(), stop.clone(), profile.vpas);
        std::thread::spawn(move || refresh_metrics(shared, n, interval, stop))
    };

    let port = vpa_sim::free_port();
    let started = Instant::now();
    // `VPA_BENCH_WRAPPER="heaptrack -o /tmp/rec"` runs the binary under a profiler (the RSS
    // figures are then the wrapper's).
    let binary = env!("CARGO_BIN_EXE_vpa-recommender");
    let wrapper = env_or("VPA_BENCH_WRAPPER", "");
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    let mut child = command
        .args([
            "--kubeconfig",
            sim.kubeconfig_path().to_str().expect("kubeconfig path"),
            "--address",
            &format!("127.0.0.1:{port}"),
            &format!("--recommender-interval={}", profile.interval),
            &format!("--checkpoints-timeout={}", profile.checkpoints_timeout),
            // The sim serves no ReplicationControllers: do not wait long for their cache.
            "--controllers-sync-timeout=2s",
        ])
        .args(env_or("VPA_BENCH_ARGS", "").split_whitespace())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<(Instant, Value)>();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if v["level"] == "WARN" || v["level"] == "ERROR" {
                        eprintln!("recommender: {line}");
                    }
                    let _ = tx.send((Instant::now(), v["fields"].clone()));
                }
                Err(_) => eprintln!("recommender: {line}"),
            }
        }
    });

    let mut loops = Vec::new();
    let mut synced = None;
    let mut peak_rss: f64 = 0.0;
    let deadline = Instant::now() + Duration::from_secs(600) + interval * profile.loops as u32;
    while loops.len() < profile.loops {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for loops");
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("vpa-recommender exited: {status}");
        }
        let (rss, _) = memory_mib(pid);
        peak_rss = peak_rss.max(rss);
        while let Ok((at, fields)) = rx.try_recv() {
            match fields["message"].as_str() {
                Some("Watch caches synced") => {
                    synced = Some((
                        at.duration_since(started),
                        memory_mib(pid).0,
                        cpu_seconds(pid),
                        cpu_seconds(std::process::id()),
                    ))
                }
                Some("Loop done") => loops.push(parse_loop(
                    &fields,
                    memory_mib(pid).0,
                    cpu_seconds(pid),
                    cpu_seconds(std::process::id()),
                )),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scrape = Instant::now();
    let (_, body) =
        tokio::task::spawn_blocking(move || vpa_e2e::prometheus::http_get(port, "/metrics"))
            .await??;
    let scrape = (
        scrape.elapsed(),
        body.len(),
        body.lines().filter(|l| !l.starts_with('#')).count(),
    );
    let (rss, hwm) = memory_mib(pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = tokio::task::spawn_blocking(move || child.wait()).await??;
    stop.store(true, Ordering::Relaxed);
    let _ = refresher.join();

    println!(
        "vpa-recommender --recommender-interval={} --checkpoints-timeout={}",
        profile.interval, profile.checkpoints_timeout
    );
    if let Some((after, rss, cpu, _)) = synced {
        println!(
            "watch caches synced {after:.1?} after start, RSS {rss:.0} MiB, recommender CPU {cpu:.1} s"
        );
    }
    print_table(&loops, synced.map_or((0.0, 0.0), |s| (s.2, s.3)));
    let steady = loops[1..]
        .iter()
        .filter_map(|l| {
            l.steps
                .iter()
                .find(|(n, _)| n == "total")
                .map(|(_, ms)| *ms)
        })
        .max()
        .unwrap_or(0);
    println!(
        "\nsteady loop (slowest of loops 2..{}): {:.2} s (goal < 5 s: {}); RSS now {rss:.0} MiB, peak VmHWM {hwm:.0} MiB (sampled peak {peak_rss:.0}; goal < 150 MiB: {})",
        loops.len(),
        steady as f64 / 1000.0,
        if steady < 5000 { "met" } else { "NOT met" },
        if hwm < 150.0 { "met" } else { "NOT met" },
    );
    println!(
        "/metrics scrape: {:.2?}, {:.1} MiB, {} series; exit after SIGTERM: {exit}",
        scrape.0,
        scrape.1 as f64 / 1_048_576.0,
        scrape.2
    );
    sim.shutdown().await;
    Ok(())
}
