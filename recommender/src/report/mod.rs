//! `vpa-recommender report`: recommendations for every workload from Prometheus history alone,
//! next to the current requests (from kube-state-metrics when Prometheus has them), without
//! touching the cluster. Pods map to workloads by name ([`rows::workload_of_pod`]). The data and
//! rendering are pure ([`rows`], [`render`]); [`run`] is the edge.

pub mod render;
pub mod rows;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use prometheus_http_query::Client;

use crate::config::engine::EngineArgs;
use crate::input::prometheus_history::PrometheusHistory;
use crate::logic::PodResourceRecommender;
use crate::model::ClusterState;
use crate::service::args::PrometheusSourceArgs;
use rows::{ContainerKey, Requests};

/// Output format of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns with a total line.
    Table,
    /// A JSON document with the containers and the totals.
    Json,
    /// CSV with raw units (millicores, bytes).
    Csv,
}

/// Recommend requests for every workload from Prometheus history (read-only, no cluster access).
///
/// Loads `--history-length` of cAdvisor usage, computes the recommendation each container would
/// get from the recommender, and prints it next to the current request
/// (`kube_pod_container_resource_requests`, when kube-state-metrics is scraped) and the change.
/// Pods are grouped into workloads by name (`web-5d8f7c9b4-x2x7k` → `web`, `db-0` → `db`).
#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// Only this namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Where Prometheus is, how to authenticate, which series hold container usage.
    #[command(flatten)]
    pub source: PrometheusSourceArgs,
    /// Metric of current requests (kube-state-metrics; labels namespace, pod, container,
    /// resource).
    #[arg(long, default_value = "kube_pod_container_resource_requests")]
    pub requests_metric: String,
}

/// Current requests per workload container: the largest request among its pods at `at`.
async fn requests(
    args: &ReportArgs,
    http: reqwest::Client,
    at: i64,
) -> Result<BTreeMap<ContainerKey, Requests>, prometheus_http_query::Error> {
    let client = Client::from(http, &args.source.prometheus_address)?;
    let filter = args
        .namespace
        .as_ref()
        .map(|ns| format!("{{namespace=\"{}\"}}", ns.replace('"', "\\\"")))
        .unwrap_or_default();
    let query = format!(
        "max by (namespace, pod, container, resource) ({}{filter})",
        args.requests_metric
    );
    let result = client.query(query).at(at).get().await?;
    let mut out: BTreeMap<ContainerKey, Requests> = BTreeMap::new();
    for sample in result.data().as_vector().into_iter().flatten() {
        let label = |name: &str| sample.metric().get(name).cloned().unwrap_or_default();
        let key = (
            label("namespace"),
            rows::workload_of_pod(&label("pod")).to_owned(),
            label("container"),
        );
        let value = sample.sample().value();
        let entry = out.entry(key).or_default();
        match label("resource").as_str() {
            "cpu" => entry.cpu = entry.cpu.max(Some((value * 1000.0).ceil() as i64)),
            "memory" => entry.memory = entry.memory.max(Some(value.ceil() as i64)),
            _ => {}
        }
    }
    Ok(out)
}

async fn report(args: &ReportArgs, engine: &EngineArgs) -> anyhow::Result<String> {
    let end = k8s_openapi::jiff::Timestamp::now().as_second();
    // The flags are checked (one way to authenticate) before the token file is read.
    let config = args.source.history_config(args.namespace.clone())?;
    let http = args.source.http_client()?;
    let history = PrometheusHistory::new(http.clone(), config)?;
    let mut cluster = ClusterState::new(engine.aggregations_config());
    let stats = history
        .load(end, |sample| {
            rows::feed(&mut cluster, &sample);
        })
        .await?;
    cluster.garbage_collect(end);
    let requests = requests(args, http, end).await.unwrap_or_else(|e| {
        eprintln!("warning: no current requests ({e}); the request and change columns stay empty");
        BTreeMap::new()
    });
    let recommender = PodResourceRecommender::new(&engine.recommender_config());
    let rows = rows::rows(&cluster, &recommender, &requests);
    if rows.is_empty() {
        eprintln!(
            "warning: no usage history found ({} queries, {} samples)",
            stats.queries, stats.samples
        );
    }
    Ok(match args.format {
        ReportFormat::Table => render::table(&rows),
        ReportFormat::Json => render::json(&rows) + "\n",
        ReportFormat::Csv => render::csv(&rows),
    })
}

/// Runs the subcommand: 0 on success, 1 when Prometheus cannot be read.
pub fn run(args: &ReportArgs, engine: &EngineArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(report(args, engine)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
