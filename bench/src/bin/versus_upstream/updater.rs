//! The updater comparison: per profile, rounds of ours and upstream back to back, each run on a
//! freshly seeded sim (its evictions delete pods), one loop with the eviction rate limit off
//! (`--eviction-rate-limit=-1`, upstream's default), timed by the binary's own
//! `vpa_updater_execution_latency_seconds{step}` histogram. Upstream's FilterPods only matches pods
//! to VPAs; ours also plans (capping, priority, disruption budget) in that step, work upstream does
//! inside EvictPods. Edge.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vpa_bench::child::{Measured, Stderr};
use vpa_bench::prom_text;
use vpa_bench::report::{Group, Metric, PeerRow, Table};
use vpa_bench::request_count::RequestCounter;
use vpa_bench::stats::median;
use vpa_bench::updater_workload::{self, PROFILES};
use vpa_sim::{Sim, SimOptions};

use crate::args::{Args, Component};
use crate::peers::{self, Binaries, Peer, UPSTREAM_DEFAULTS};

const PEER_USER: &str = "vpa-bench-peer";
const LATENCY: &str = "vpa_updater_execution_latency_seconds";
/// Steps, in the table's order.
const STEPS: [&str; 6] = [
    "FilterPods",
    "total",
    "ListVPAs",
    "ListPods",
    "AdmissionInit",
    "EvictPods",
];
/// `--updater-interval` of the upstream-defaults rows: upstream's default.
const DEFAULTS_INTERVAL: Duration = Duration::from_secs(60);

/// The columns.
pub fn metrics() -> Vec<Metric> {
    let mut m: Vec<Metric> = STEPS
        .iter()
        .map(|s| {
            let name = if *s == "total" { "loop" } else { s };
            Metric::cost(&format!("{name} (ms)"), 2)
        })
        .collect();
    m.extend([
        Metric::info("pods evicted in the loop", 0),
        Metric::info("API requests in the loop", 0),
        Metric::cost("peak RSS (MiB)", 0),
        Metric::cost("CPU s to the end of the loop", 2),
    ]);
    m
}

/// `--updater-interval` of the same-flags rows: long enough for the largest loop (the first loop
/// starts one interval after the caches synced, in both).
fn interval(pods: usize) -> Duration {
    Duration::from_secs(match pods {
        0..=2000 => 10,
        2001..=10_000 => 30,
        _ => 90,
    })
}

/// One run's figures in column order.
async fn run(
    peer: &Peer,
    vpas: usize,
    pods: usize,
    interval: Duration,
    log: &Path,
) -> anyhow::Result<Vec<f64>> {
    let sim = Sim::start(SimOptions {
        history_window: 4 * pods + 100_000,
        ..SimOptions::default()
    })
    .await?;
    vpa_test_support::install_vpa_crds(&sim.client().await?).await?;
    updater_workload::seed(sim.store(), vpas, pods);
    let stop = Arc::new(AtomicBool::new(false));
    let renewer = {
        let (shared, stop) = (sim.shared().clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                updater_workload::renew_admission_lease(&shared.store);
                for _ in 0..10 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        })
    };
    let counter = RequestCounter::install(&sim);
    let kubeconfig = log.with_extension("kubeconfig");
    std::fs::write(
        &kubeconfig,
        sim.kubeconfig_for(&sim.token_for_user(PEER_USER, &["system:masters"])),
    )?;
    let port = vpa_sim::free_port();
    let mut args = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--address=127.0.0.1:{port}"),
        format!("--updater-interval={}s", interval.as_secs()),
        "--eviction-rate-limit=-1".to_string(),
    ];
    args.extend(peer.flags.iter().cloned());
    let env = [("NAMESPACE", "kube-system"), ("RUST_LOG", "info")];
    let result = async {
        let mut child = Measured::start(&peer.binary, &args, &env, log, Stderr::Log)?;
        let deadline = Instant::now() + Duration::from_secs(300) + 2 * interval;
        loop {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{}: no loop before the deadline; end of its log:\n{}",
                peer.label,
                child.log_tail(20)
            );
            child.check_running()?;
            // Once a second: a scrape holds every evicted pod's VPA series, costly to render often.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Ok(Ok((200, body))) = tokio::task::spawn_blocking(move || {
                vpa_e2e::prometheus::http_get(port, "/metrics")
            })
            .await
            else {
                continue;
            };
            let steps = prom_text::histogram_by_label(&body, LATENCY, "step");
            if steps.get("total").is_none_or(|s| s.count < 1.0) {
                continue;
            }
            let now = child.stats();
            let mut values: Vec<f64> = STEPS
                .iter()
                .map(|s| steps.get(*s).map_or(0.0, |v| v.sum * 1000.0))
                .collect();
            values.extend([
                counter.evictions(PEER_USER) as f64,
                counter.requests(PEER_USER) as f64,
                now.peak_rss_mib,
                now.cpu_seconds,
            ]);
            return Ok(values);
        }
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    let _ = renewer.join();
    sim.shutdown().await;
    result
}

/// Runs every profile of `args` and returns the table.
pub async fn compare(args: &Args, bins: &Binaries, logs: &Path) -> anyhow::Result<Table> {
    let mut groups = Vec::new();
    for name in &args.updater_profiles {
        let Some(&(_, vpas, pods)) = PROFILES.iter().find(|(n, _, _)| n == name) else {
            anyhow::bail!(
                "no updater profile `{name}`; they are {:?}",
                PROFILES.map(|p| p.0)
            );
        };
        let with_defaults = args.upstream_defaults_profiles.contains(name);
        let peers = peers::peers(bins, Component::Updater, args, with_defaults);
        let mut runs: Vec<Vec<Vec<f64>>> = peers.iter().map(|_| Vec::new()).collect();
        for round in 0..args.rounds {
            for peer in peers::round_order(&peers, round) {
                let defaults = peer.label == UPSTREAM_DEFAULTS;
                if defaults && round >= args.upstream_defaults_rounds {
                    continue;
                }
                let slot = peers
                    .iter()
                    .position(|p| p.label == peer.label)
                    .unwrap_or(0);
                let every = if defaults {
                    DEFAULTS_INTERVAL
                } else {
                    interval(pods)
                };
                let log = logs.join(format!("updater-{name}-{round}-{slot}.log"));
                let values = run(peer, vpas, pods, every, &log).await?;
                eprintln!(
                    "[updater {name}] round {} {}: FilterPods {:.2} ms, loop {:.1} ms, {} evicted",
                    round + 1,
                    peer.label,
                    values[0],
                    values[1],
                    values[6]
                );
                runs[slot].push(values);
            }
        }
        let row = |i: usize| PeerRow {
            peer: peers[i].label.to_string(),
            values: (0..metrics().len())
                .map(|c| median(&runs[i].iter().map(|v| v[c]).collect::<Vec<_>>()))
                .collect(),
            rounds: runs[i].len(),
        };
        groups.push(Group {
            label: format!("{name} ({vpas} VPAs / {pods} pods)"),
            ours: row(0),
            peers: (1..peers.len()).map(row).collect(),
        });
    }
    Ok(Table {
        title: "Updater".into(),
        metrics: metrics(),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_fits_in_the_interval_of_its_profile() {
        assert_eq!(interval(50), Duration::from_secs(10));
        assert_eq!(interval(10_000), Duration::from_secs(30));
        assert_eq!(interval(50_000), Duration::from_secs(90));
        assert_eq!(metrics().len(), STEPS.len() + 4);
        assert_eq!(metrics()[1].name, "loop (ms)");
    }
}
