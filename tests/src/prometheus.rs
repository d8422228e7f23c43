//! A real Prometheus (the Debian package) for tests: backfilled with `promtool` from OpenMetrics
//! text that the test writes, served on a free loopback port, stopped on drop.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{require_tool, run_ok};

/// Seconds in a Prometheus duration such as `5m`, `1h30m` or `90s` (0 when unparseable).
pub fn duration_seconds(d: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    let mut chars = d.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            return total; // Sub-second parts are ignored.
        } else {
            match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                'y' => 31_536_000,
                _ => return 0,
            }
        };
        total += number.parse::<u64>().unwrap_or(0) * unit;
        number.clear();
    }
    total
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
pub fn url_encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A running Prometheus with its own temporary TSDB.
pub struct TestPrometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// One synthetic cAdvisor container: constant-ish CPU (cores) and memory (bytes) over time.
#[derive(Clone, Debug)]
pub struct SyntheticContainer {
    /// Namespace label.
    pub namespace: String,
    /// Pod label.
    pub pod: String,
    /// Container label.
    pub container: String,
    /// CPU usage in cores, as a function of seconds since the start.
    pub cpu_cores: fn(i64) -> f64,
    /// Working set in bytes, as a function of seconds since the start.
    pub memory_bytes: fn(i64) -> f64,
}

/// Label names the synthetic series carry (upstream's defaults: `pod_name`, `name`).
#[derive(Clone, Debug)]
pub struct LabelNames {
    /// Pod label name.
    pub pod: &'static str,
    /// Container label name.
    pub container: &'static str,
}

impl Default for LabelNames {
    fn default() -> Self {
        Self {
            pod: "pod_name",
            container: "name",
        }
    }
}

/// OpenMetrics text with `container_cpu_usage_seconds_total` (counter) and
/// `container_memory_working_set_bytes` (gauge) for each container, from `start` to `end` (unix
/// seconds) every `step` seconds, labelled as a cAdvisor scrape job `kubernetes-cadvisor`.
pub fn cadvisor_openmetrics(
    containers: &[SyntheticContainer],
    labels: &LabelNames,
    start: i64,
    end: i64,
    step: i64,
) -> String {
    let mut out = String::new();
    let series_labels = |c: &SyntheticContainer| {
        format!(
            "job=\"kubernetes-cadvisor\",namespace=\"{}\",{}=\"{}\",{}=\"{}\"",
            c.namespace, labels.pod, c.pod, labels.container, c.container
        )
    };
    out.push_str("# HELP container_cpu_usage_seconds_total Cumulative CPU time consumed.\n");
    out.push_str("# TYPE container_cpu_usage_seconds_total counter\n");
    for c in containers {
        let mut total = 0.0;
        let mut t = start;
        while t <= end {
            total += (c.cpu_cores)(t - start) * step as f64;
            let _ = writeln!(
                out,
                "container_cpu_usage_seconds_total{{{}}} {total} {t}",
                series_labels(c)
            );
            t += step;
        }
    }
    out.push_str("# HELP container_memory_working_set_bytes Current working set.\n");
    out.push_str("# TYPE container_memory_working_set_bytes gauge\n");
    for c in containers {
        let mut t = start;
        while t <= end {
            let _ = writeln!(
                out,
                "container_memory_working_set_bytes{{{}}} {} {t}",
                series_labels(c),
                (c.memory_bytes)(t - start)
            );
            t += step;
        }
    }
    out.push_str("# EOF\n");
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP GET on loopback; returns (status, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

impl TestPrometheus {
    /// Backfills `openmetrics` into a fresh TSDB and starts Prometheus on it, with `scrape_configs`
    /// (YAML list, may be `[]`). Returns `None` (after printing why) when prometheus or promtool is
    /// missing outside CI.
    pub fn start(openmetrics: Option<&str>, scrape_configs: &str) -> Option<Self> {
        Self::start_with_rules(openmetrics, scrape_configs, None)
    }

    /// Like [`TestPrometheus::start`], also loading `rules` (a Prometheus rules file: `groups:`),
    /// evaluated every second.
    pub fn start_with_rules(
        openmetrics: Option<&str>,
        scrape_configs: &str,
        rules: Option<&str>,
    ) -> Option<Self> {
        let prometheus = require_tool("prometheus (apt-get install prometheus)", &["prometheus"])?;
        let promtool = require_tool("promtool (apt-get install prometheus)", &["promtool"])?;
        let dir = tempfile::tempdir().unwrap();
        let tsdb = dir.path().join("tsdb");
        std::fs::create_dir_all(&tsdb).unwrap();
        if let Some(text) = openmetrics {
            let data = dir.path().join("data.om");
            std::fs::write(&data, text).unwrap();
            run_ok(
                Command::new(promtool)
                    .args([
                        "tsdb",
                        "create-blocks-from",
                        "openmetrics",
                        "--max-block-duration=24h",
                    ])
                    .arg(&data)
                    .arg(&tsdb),
            );
        }
        let config = dir.path().join("prometheus.yml");
        let mut text = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs: {scrape_configs}\n"
        );
        if let Some(rules) = rules {
            let path = dir.path().join("rules.yml");
            std::fs::write(&path, rules).unwrap();
            let _ = writeln!(text, "rule_files: ['{}']", path.display());
        }
        std::fs::write(&config, text).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=3650d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let me = Self {
            child,
            port,
            _dir: dir,
        };
        me.wait_ready(Duration::from_secs(60));
        Some(me)
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_get(self.port, "/-/ready") {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        panic!("prometheus not ready after {timeout:?}:\n{log}");
    }

    fn log_path(&self) -> std::path::PathBuf {
        self._dir.path().join("prometheus.log")
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs a PromQL range query over the last `range` (e.g. `5m`) with `step` (e.g. `2s`), as
    /// a Grafana panel does; returns the `data` object (`resultType`, `result`) or Prometheus'
    /// error.
    pub fn query_range(&self, expr: &str, range: &str, step: &str) -> Result<Value, String> {
        let end = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = end - duration_seconds(range) as f64;
        self.api(&format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            url_encode(expr)
        ))
    }

    /// Runs an instant PromQL query at the current time; returns the `data` object.
    pub fn query(&self, expr: &str) -> Result<Value, String> {
        self.api(&format!("/api/v1/query?query={}", url_encode(expr)))
    }

    /// The values of `label` on the series matching `selector` (Grafana's `label_values`).
    pub fn label_values(&self, label: &str, selector: &str) -> Result<Vec<String>, String> {
        let data = self.api(&format!(
            "/api/v1/label/{label}/values?match[]={}",
            url_encode(selector)
        ))?;
        Ok(data
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    /// `GET` an HTTP API path and return its `data`, or the error Prometheus gave.
    pub fn api(&self, path: &str) -> Result<Value, String> {
        let (status, body) = http_get(self.port, path).map_err(|e| format!("GET {path}: {e}"))?;
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| format!("GET {path}: HTTP {status}, not JSON ({e}): {body}"))?;
        if v["status"] != "success" {
            return Err(format!(
                "GET {path}: HTTP {status}, {}: {}",
                v["errorType"], v["error"]
            ));
        }
        Ok(v["data"].clone())
    }

    /// The data directory (for inspection in failing tests).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_encoding() {
        assert_eq!(duration_seconds("5m"), 300);
        assert_eq!(duration_seconds("1h30m"), 5400);
        assert_eq!(duration_seconds("bad"), 0);
        assert_eq!(
            url_encode("a{b=\"c d\"}[5m]"),
            "a%7Bb%3D%22c%20d%22%7D%5B5m%5D"
        );
    }
}
