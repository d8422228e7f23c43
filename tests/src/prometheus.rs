//! A real Prometheus (the Debian package) for tests: backfilled with `promtool` from OpenMetrics
//! text that the test writes, served on a free loopback port, stopped on drop.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{require_tool, run_ok};

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
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\nscrape_configs: {scrape_configs}\n"),
        )
        .unwrap();
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
