//! The Kubernetes client every component uses (edge): from `--kubeconfig` or the in-cluster
//! configuration, with kube's retry layer off and the optional client-side throttle of
//! `--kube-api-qps`/`--kube-api-burst`.

mod throttle;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use throttle::{ThrottleLayer, Throttled, throttle_from_flags};

use crate::token_bucket::Rate;

/// `--kube-api-qps` and `--kube-api-burst`, as every component has them.
#[derive(clap::Args, Clone, Debug)]
pub struct ThrottleFlags {
    /// Client-side limit of requests per second to the API server. Unlike upstream (default 50)
    /// there is none unless given: the API server guards itself with priority and fairness, and
    /// at 10k VPAs a recommender loop writes about 30,000 objects, which 50 per second would
    /// stretch to 10 minutes. Zero or negative: no limit.
    #[arg(long)]
    pub kube_api_qps: Option<f64>,
    /// Requests that may go at once under --kube-api-qps before it spaces them out. A float, as
    /// upstream declares it; the fraction is dropped, as client-go does.
    #[arg(long, default_value_t = 100, value_parser = parse_burst)]
    pub kube_api_burst: u32,
}

/// `--kube-api-burst`: a non-negative number, truncated to a whole count.
fn parse_burst(text: &str) -> Result<u32, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v.min(u32::MAX as f64) as u32),
        _ => Err(format!("expected a non-negative number, got {text:?}")),
    }
}

impl ThrottleFlags {
    /// The request rate the flags ask for, if any ([`throttle_from_flags`]).
    pub fn rate(&self) -> Option<Rate> {
        throttle_from_flags(self.kube_api_qps, self.kube_api_burst)
    }
}

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Neither `KUBECONFIG`/`~/.kube/config` nor the in-cluster service account worked.
    #[error("finding the Kubernetes configuration: {0}")]
    Infer(#[from] kube::config::InferConfigError),
    /// The kubeconfig given with `--kubeconfig` could not be read or used.
    #[error("loading the kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What went wrong.
        source: kube::config::KubeconfigError,
    },
    /// The client could not be built from the configuration (TLS, proxy, credentials).
    #[error("building the Kubernetes client: {0}")]
    Build(#[from] kube::Error),
}

/// A client for `config`, throttled when `throttle` is given.
///
/// kube's built-in retry of 429/503 answers is turned off: it would resend a request up to 15
/// times with backoff growing to minutes, so a refused eviction would stall the updater's loop
/// and a failing status write the recommender's. Every caller has its own retry instead (the
/// next loop, watch backoff, the admission controller's registration retries).
pub fn build(mut config: Config, throttle: Option<Rate>) -> Result<Client, kube::Error> {
    config.default_retry = false;
    let builder = ClientBuilder::try_from(config)?;
    Ok(match throttle {
        Some(t) => builder.with_layer(&ThrottleLayer(t)).build(),
        None => builder.build(),
    })
}

/// A client from the kubeconfig file `kubeconfig`, or, when it is empty, from the usual places
/// (`KUBECONFIG`, `~/.kube/config`, then the in-cluster service account); see [`build`].
pub async fn connect(kubeconfig: &str, throttle: Option<Rate>) -> Result<Client, ClientError> {
    let config = if kubeconfig.is_empty() {
        Config::infer().await?
    } else {
        let failed = |source| ClientError::Kubeconfig {
            path: kubeconfig.to_owned(),
            source,
        };
        let file = Kubeconfig::read_from(kubeconfig).map_err(failed)?;
        Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .map_err(failed)?
    };
    Ok(build(config, throttle)?)
}
