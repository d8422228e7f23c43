//! The `vpa-sim` command line: `vpa-sim apiserver --port N --kubeconfig-out PATH [faults]` runs
//! the API server until Ctrl-C or SIGTERM; faults can then be changed through the admin-only
//! `/sim/v1/faults`, `/sim/v1/restart` and `/sim/v1/compact` endpoints. Edge.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::faults::{FaultConfig, FaultRule};
use crate::sim::{Sim, SimOptions};

/// In-memory Kubernetes API server and cluster simulator for tests and the playground.
#[derive(Parser, Debug)]
#[command(name = "vpa-sim", version, about)]
pub struct Args {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the Kubernetes API on 127.0.0.1 until interrupted.
    Apiserver(ApiserverArgs),
    /// Run a local cluster (API server, nodes, controllers), apply deploy/ and the hamster example.
    Up(crate::cluster::UpArgs),
}

/// Flags of `vpa-sim apiserver`.
#[derive(Parser, Debug)]
pub struct ApiserverArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "VPA_SIM_PORT", default_value_t = 6443)]
    pub port: u16,
    /// Where to write the admin kubeconfig.
    #[arg(
        long,
        env = "VPA_SIM_KUBECONFIG_OUT",
        default_value = "vpa-sim.kubeconfig"
    )]
    pub kubeconfig_out: PathBuf,
    /// Inject errors: VERB:RESOURCE:RATE:CODE[:RETRY_AFTER], e.g. `list:pods:0.1:503` or `*:*:0.05:429:2`; repeatable.
    #[arg(long = "fault")]
    pub faults: Vec<FaultRule>,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// End every watch after this many seconds.
    #[arg(long)]
    pub drop_watches_after_secs: Option<u64>,
    /// Events kept per resource for watch resumption; older resourceVersions get 410 Gone.
    #[arg(long, default_value_t = 20_000)]
    pub history_window: usize,
    /// Seconds between watch bookmarks.
    #[arg(long, default_value_t = 5)]
    pub bookmark_interval_secs: u64,
}

impl ApiserverArgs {
    /// The options these flags stand for.
    pub fn options(&self) -> SimOptions {
        SimOptions {
            port: self.port,
            kubeconfig_out: Some(self.kubeconfig_out.clone()),
            history_window: self.history_window,
            faults: FaultConfig {
                rules: self.faults.clone(),
                latency: Duration::from_millis(self.latency_ms),
                drop_watches_after: self.drop_watches_after_secs.map(Duration::from_secs),
            },
            bookmark_interval: Duration::from_secs(self.bookmark_interval_secs.max(1)),
            clock: None,
        }
    }
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Apiserver(a) => {
            let sim = Sim::start(a.options()).await?;
            tracing::info!(url = %sim.url(), kubeconfig = %sim.kubeconfig_path().display(), "API server ready");
            println!(
                "vpa-sim API server at {}; KUBECONFIG={}",
                sim.url(),
                sim.kubeconfig_path().display()
            );
            vpa_common::shutdown::termination().await;
            sim.shutdown().await;
            Ok(())
        }
        Command::Up(a) => crate::cluster::run_until(a, vpa_common::shutdown::termination()).await,
    }
}
