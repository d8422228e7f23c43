//! Command-line arguments of `replay` (edge); the engine's flags are
//! [`crate::config::engine::EngineArgs`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::csv::parse_timestamp;
use crate::model::Timestamp;

/// Output format of `replay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// A JSON array sorted by namespace, workload and container.
    Json,
}

/// Replay usage samples from a CSV file and print the recommendations (what-if tool).
///
/// Feeds the samples through the recommendation engine exactly as the service does and prints
/// the recommendation of every container as the recommender would compute it at `--now`.
///
/// The file has a header row `timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes`
/// and an optional `oom` column (`true`/`1` marks an OOM kill of that container at that time,
/// `memory_bytes` then being the memory at the kill). Timestamps are RFC 3339 or Unix seconds.
/// Each (pod, container) is one container instance feeding the aggregate of (namespace,
/// workload, container). Rows apply in timestamp order, ties in file order; rows after `--now`
/// are ignored; containers without a sample in the memory window (8 days) before `--now` expire.
/// Bad rows are reported on stderr with their line number and skipped. An unreadable file exits
/// with status 2.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// CSV file of usage samples.
    #[arg(long, value_name = "FILE")]
    pub samples: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// When recommendations are computed (RFC 3339 or Unix seconds); default: the last sample's time.
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp)]
    pub now: Option<Timestamp>,
}
