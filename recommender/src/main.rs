//! `vpa-recommender` launcher: the recommender service by default, or the `replay` tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vpa_recommender::replay::{self, EngineArgs, ReplayArgs};

/// Computes resource recommendations from observed usage and writes them into VPA status.
///
/// Without a subcommand it runs the recommender service; `replay` computes recommendations
/// offline from a CSV file of usage samples.
#[derive(Parser, Debug)]
#[command(name = "vpa-recommender", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    kubeconfig: String,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    service: vpa_recommender::service::ServiceArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    Replay(ReplayArgs),
    Report(vpa_recommender::report::ReportArgs),
}

fn main() -> ExitCode {
    vpa_common::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Replay(args)) => replay::run(&args, &cli.engine),
        Some(Command::Report(args)) => vpa_recommender::report::run(&args, &cli.engine),
        None => vpa_recommender::service::run::main(&cli.kubeconfig, &cli.service, &cli.engine),
    }
}
