//! The recommender comparison: per size, rounds of ours and upstream back to back, each run on a
//! freshly seeded sim (or a reset real control plane), so every run starts from the same objects,
//! no checkpoints and no statuses. Edge.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vpa_bench::recommender_workload::{self, PODS_PER_WORKLOAD, containers};
use vpa_bench::report::{Group, PeerRow, Table};
use vpa_bench::request_count::RequestCounter;
use vpa_sim::{Sim, SimOptions};

use crate::args::{self, Args, Component};
use crate::peers::{self, Binaries, Peer, UPSTREAM_DEFAULTS};
use crate::recommender_kube::KubeCluster;
use crate::recommender_run::{self, RunResult, Target};
use crate::recommender_summary;

/// The identity both recommenders use against the sim.
const PEER_USER: &str = "vpa-bench-peer";

/// A sim seeded with the workload, PodMetrics refreshed every interval.
struct SimCluster {
    sim: Sim,
    stop: Arc<AtomicBool>,
    refresher: Option<std::thread::JoinHandle<()>>,
    counter: RequestCounter,
    kubeconfig: PathBuf,
}

impl SimCluster {
    async fn start(vpas: usize, interval: Duration, dir: &Path) -> anyhow::Result<SimCluster> {
        let sim = Sim::start(SimOptions {
            // Two loops of status writes per resource, as the service_scale bench keeps.
            history_window: 20_000.max(2 * vpas),
            ..SimOptions::default()
        })
        .await?;
        vpa_test_support::install_vpa_crds(&sim.client().await?).await?;
        recommender_workload::seed(sim.store(), vpas);
        for w in 0..vpas {
            recommender_workload::put_metrics(sim.shared(), w, 0);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let refresher = {
            let (shared, stop) = (sim.shared().clone(), stop.clone());
            std::thread::spawn(move || {
                recommender_workload::refresh_metrics(shared, vpas, interval, stop)
            })
        };
        let kubeconfig = dir.join("peer.kubeconfig");
        let token = sim.token_for_user(PEER_USER, &["system:masters"]);
        std::fs::write(&kubeconfig, sim.kubeconfig_for(&token))?;
        let counter = RequestCounter::install(&sim);
        Ok(SimCluster {
            sim,
            stop,
            refresher: Some(refresher),
            counter,
            kubeconfig,
        })
    }

    fn target(&self) -> Target {
        let counter = self.counter.clone();
        Target {
            kubeconfig: self.kubeconfig.clone(),
            requests: Box::new(move || counter.requests(PEER_USER)),
        }
    }

    async fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.refresher.take() {
            let _ = r.join();
        }
        self.sim.shutdown().await;
    }
}

/// Where a size runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sim,
    Kube,
}

fn label(vpas: usize, backend: Backend) -> String {
    let k = |n: usize| {
        if n.is_multiple_of(1000) {
            format!("{}k", n / 1000)
        } else {
            n.to_string()
        }
    };
    let on = match backend {
        Backend::Sim => "vpa-sim",
        Backend::Kube => "real control plane",
    };
    format!(
        "{} VPAs / {} pods / {} containers, {on}",
        k(vpas),
        k(vpas * PODS_PER_WORKLOAD),
        k(total_containers(vpas))
    )
}

fn total_containers(vpas: usize) -> usize {
    (0..vpas).map(|w| containers(w) * PODS_PER_WORKLOAD).sum()
}

/// Runs every size of `args` and returns the table.
pub async fn compare(args: &Args, bins: &Binaries, logs: &Path) -> anyhow::Result<Table> {
    let mut groups = Vec::new();
    let sizes = |list: &[String], backend| -> anyhow::Result<Vec<(String, usize, Backend)>> {
        list.iter()
            .filter(|s| !s.is_empty())
            .map(|s| {
                Ok((
                    s.clone(),
                    args::vpas_of_size(s).map_err(anyhow::Error::msg)?,
                    backend,
                ))
            })
            .collect()
    };
    let mut all = sizes(&args.recommender_sizes, Backend::Sim)?;
    all.extend(sizes(&args.recommender_kube_sizes, Backend::Kube)?);
    for (size, vpas, backend) in all {
        let with_defaults = args.upstream_defaults_sizes.contains(&size);
        let peers = peers::peers(bins, Component::Recommender, args, with_defaults);
        groups.push(compare_size(args, bins, &peers, vpas, backend, logs).await?);
    }
    Ok(Table {
        title: "Recommender".into(),
        metrics: recommender_summary::metrics(),
        groups,
    })
}

async fn compare_size(
    args: &Args,
    bins: &Binaries,
    peers: &[Peer],
    vpas: usize,
    backend: Backend,
    logs: &Path,
) -> anyhow::Result<Group> {
    let interval = args
        .recommender_interval
        .unwrap_or_else(|| args::default_interval(vpas));
    let name = label(vpas, backend);
    let kube = match backend {
        Backend::Kube => Some(KubeCluster::start(bins.upstream_dir(), vpas, logs).await?),
        Backend::Sim => None,
    };
    let mut runs: Vec<Vec<RunResult>> = peers.iter().map(|_| Vec::new()).collect();
    for round in 0..args.rounds {
        for peer in peers::round_order(peers, round) {
            if peer.label == UPSTREAM_DEFAULTS && round >= args.upstream_defaults_rounds {
                continue;
            }
            let slot = peers
                .iter()
                .position(|p| p.label == peer.label)
                .unwrap_or(0);
            let log = logs.join(format!(
                "recommender-{vpas}-{backend}-{round}-{slot}.log",
                backend = if backend == Backend::Sim {
                    "sim"
                } else {
                    "kube"
                }
            ));
            let run = match &kube {
                Some(k) => {
                    k.reset().await?;
                    recommender_run::run(peer, &k.target(), interval, args.loops, &log).await?
                }
                None => {
                    let sim = SimCluster::start(vpas, interval, logs).await?;
                    let run =
                        recommender_run::run(peer, &sim.target(), interval, args.loops, &log).await;
                    let kinds: Vec<String> = sim
                        .counter
                        .by_kind(PEER_USER)
                        .iter()
                        .take(8)
                        .map(|(k, n)| format!("{k}: {n}"))
                        .collect();
                    eprintln!(
                        "[recommender {name}] {} requests in the run: {}",
                        peer.label,
                        kinds.join(", ")
                    );
                    sim.shutdown().await;
                    run?
                }
            };
            report_run(&name, round, peer, &run);
            runs[slot].push(run);
        }
    }
    let containers = total_containers(vpas);
    let row = |i: usize| PeerRow {
        peer: peers[i].label.to_string(),
        values: recommender_summary::values(&runs[i], containers),
        rounds: runs[i].len(),
    };
    Ok(Group {
        label: name,
        ours: row(0),
        peers: (1..peers.len()).map(row).collect(),
    })
}

fn report_run(name: &str, round: usize, peer: &Peer, run: &RunResult) {
    let loops: Vec<String> = run
        .loops
        .iter()
        .map(|l| {
            format!(
                "{:.2}s/{:.2}cpu/{}req/{:.0}MiB",
                l.total_s, l.cpu_s, l.requests, l.rss_mib
            )
        })
        .collect();
    eprintln!(
        "[recommender {name}] round {} {}: peak {:.0} MiB; loops {}",
        round + 1,
        peer.label,
        run.peak_rss_mib,
        loops.join(", ")
    );
}
