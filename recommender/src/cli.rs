//! The `vpa-recommender` command line (edge): the service's flags at the top level, as upstream
//! has them, and the offline `replay` and `report` subcommands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::engine::EngineArgs;
use crate::replay::{self, ReplayArgs};

/// Computes resource recommendations from observed usage and writes them into VPA status.
///
/// Without a subcommand it runs the recommender service; `replay` computes recommendations
/// offline from a CSV file of usage samples.
#[derive(Parser, Debug)]
/// A flag given twice takes its last value, as Go's flag package does (upstream manifests and
/// overlays may repeat one).
#[command(
    name = "vpa-recommender",
    version,
    about,
    long_about,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    service: crate::service::ServiceArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    Replay(ReplayArgs),
    // Boxed: its Prometheus flags make it much larger than `replay`'s.
    Report(Box<crate::report::ReportArgs>),
}

impl Cli {
    /// Runs what the command line asks for: a subcommand, or else the service.
    pub fn run(self) -> ExitCode {
        match self.command {
            Some(Command::Replay(args)) => replay::run(&args, &self.engine),
            Some(Command::Report(args)) => crate::report::run(&args, &self.engine),
            None => crate::service::run::main(&self.service, &self.engine),
        }
    }
}

#[cfg(test)]
mod upstream_flags;
