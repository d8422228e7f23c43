//! The Prometheus flags the service (`--storage=prometheus`) and `report` share: where
//! Prometheus is, how to authenticate, and which series and labels hold container usage.

use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args};

use super::{ArgsError, parse_duration};
use crate::input::prometheus_history::HistoryConfig;

/// Prometheus connection and container-usage series (upstream's flag names and defaults).
#[derive(Args, Clone, Debug)]
pub struct PrometheusSourceArgs {
    /// Base URL of Prometheus.
    #[arg(
        long,
        env = "PROMETHEUS_ADDRESS",
        default_value = "http://prometheus.monitoring.svc"
    )]
    pub prometheus_address: String,
    /// Skip TLS certificate verification for Prometheus.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub prometheus_insecure: bool,
    /// Scrape job name of cAdvisor's container metrics.
    #[arg(long, default_value = "kubernetes-cadvisor")]
    pub prometheus_cadvisor_job_name: String,
    /// How much history to load (`8d`, `12h`, ...).
    #[arg(long, default_value = "8d", value_parser = parse_duration)]
    pub history_length: Duration,
    /// Step between loaded samples.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub history_resolution: Duration,
    /// CPU usage counter (seconds of CPU).
    #[arg(long, default_value = "container_cpu_usage_seconds_total")]
    pub history_cpu_metric: String,
    /// Memory usage gauge (bytes).
    #[arg(long, default_value = "container_memory_working_set_bytes")]
    pub history_memory_metric: String,
    /// Timeout of one Prometheus query.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub prometheus_query_timeout: Duration,
    /// Label holding the namespace in container metrics.
    #[arg(long, default_value = "namespace")]
    pub container_namespace_label: String,
    /// Label holding the pod name in container metrics.
    #[arg(long, default_value = "pod_name")]
    pub container_pod_name_label: String,
    /// Label holding the container name in container metrics.
    #[arg(long, default_value = "name")]
    pub container_name_label: String,
    /// Basic-auth user for Prometheus.
    #[arg(long, env = "PROMETHEUS_USERNAME", default_value = "")]
    pub username: String,
    /// Basic-auth password for Prometheus.
    #[arg(
        long,
        env = "PROMETHEUS_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub password: String,
    /// Bearer token for Prometheus.
    #[arg(long, default_value = "", hide_env_values = true)]
    pub prometheus_bearer_token: String,
    /// File holding the bearer token for Prometheus.
    #[arg(long, default_value = "")]
    pub prometheus_bearer_token_file: String,
}

impl PrometheusSourceArgs {
    /// What to load, from the flags; only one way to authenticate may be given.
    pub fn history_config(&self, namespace: Option<String>) -> Result<HistoryConfig, ArgsError> {
        let auth = [
            !self.prometheus_bearer_token.is_empty(),
            !self.prometheus_bearer_token_file.is_empty(),
            !self.username.is_empty(),
        ];
        if auth.iter().filter(|set| **set).count() > 1 {
            return Err(ArgsError::ConflictingAuth);
        }
        Ok(HistoryConfig {
            address: self.prometheus_address.clone(),
            history_length: self.history_length,
            resolution: self.history_resolution,
            slice: None,
            query_timeout: self.prometheus_query_timeout,
            cadvisor_job_name: self.prometheus_cadvisor_job_name.clone(),
            cpu_metric: self.history_cpu_metric.clone(),
            memory_metric: self.history_memory_metric.clone(),
            namespace_label: self.container_namespace_label.clone(),
            pod_label: self.container_pod_name_label.clone(),
            container_label: self.container_name_label.clone(),
            namespace,
        })
    }

    /// The HTTP client for Prometheus (edge: reads `--prometheus-bearer-token-file`): every
    /// request carries the bearer token or basic-auth credentials the flags give.
    pub fn http_client(&self) -> anyhow::Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        let token = if !self.prometheus_bearer_token_file.is_empty() {
            std::fs::read_to_string(&self.prometheus_bearer_token_file)
                .with_context(|| format!("reading {}", self.prometheus_bearer_token_file))?
                .trim()
                .to_owned()
        } else {
            self.prometheus_bearer_token.clone()
        };
        if !token.is_empty() {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().context("bearer token")?,
            );
        }
        if !self.username.is_empty() {
            use base64::Engine;
            let credentials = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.username, self.password));
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Basic {credentials}")
                    .parse()
                    .context("basic auth")?,
            );
        }
        reqwest::Client::builder()
            .default_headers(headers)
            .danger_accept_invalid_certs(self.prometheus_insecure)
            .build()
            .context("building the Prometheus client")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        source: PrometheusSourceArgs,
    }

    fn parse(args: &[&str]) -> PrometheusSourceArgs {
        Cli::try_parse_from(std::iter::once("vpa").chain(args.iter().copied()))
            .unwrap()
            .source
    }

    /// The `Authorization` header of one request `client` sends to a local listener.
    async fn authorization_sent(client: reqwest::Client) -> Option<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1/query", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            let empty = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            socket.write_all(empty).await.unwrap();
            String::from_utf8(head).unwrap()
        });
        client.get(url).send().await.unwrap();
        let head = server.await.unwrap();
        head.lines()
            .find_map(|l| l.strip_prefix("authorization: "))
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn requests_carry_the_credentials_the_flags_give() {
        vpa_common::install_crypto_provider();
        let none = parse(&[]).http_client().unwrap();
        assert_eq!(authorization_sent(none).await, None);
        let basic = parse(&["--username=vpa", "--password=s3cret"]);
        assert_eq!(
            authorization_sent(basic.http_client().unwrap())
                .await
                .as_deref(),
            Some("Basic dnBhOnMzY3JldA==")
        );
        let dir = std::env::temp_dir().join(format!("vpa-token-{}", std::process::id()));
        std::fs::write(&dir, "from-file\n").unwrap();
        let file = parse(&[&format!("--prometheus-bearer-token-file={}", dir.display())]);
        let sent = authorization_sent(file.http_client().unwrap()).await;
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(sent.as_deref(), Some("Bearer from-file"));
        let missing = parse(&["--prometheus-bearer-token-file=/nonexistent/token"]);
        let error = missing.http_client().unwrap_err();
        assert!(
            format!("{error:#}").contains("/nonexistent/token"),
            "{error:#}"
        );
    }

    #[test]
    fn two_ways_to_authenticate_are_refused() {
        let both = parse(&["--username=u", "--prometheus-bearer-token=t"]);
        assert!(matches!(
            both.history_config(None),
            Err(ArgsError::ConflictingAuth)
        ));
        let config = parse(&["--history-length=2d"]).history_config(Some("ns".into()));
        let config = config.unwrap();
        assert_eq!(config.history_length, Duration::from_secs(2 * 86_400));
        assert_eq!(config.namespace.as_deref(), Some("ns"));
    }
}
