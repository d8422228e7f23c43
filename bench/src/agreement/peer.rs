//! One recommender of the live-agreement test as a child process (edge): ours or upstream's, named
//! by `--recommender-name` so it owns only its copy of each VPA, with its loop count read from
//! `vpa_recommender_execution_latency_seconds_count{step="total"}` on its `/metrics`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::child::{Measured, Stderr};
use crate::prom_text;

/// The flags both recommenders get (besides kubeconfig, address and name): a 1 s loop so the test
/// is short, 15 min memory-peak windows so the one-hour run has several, and a raised client
/// throttle so neither waits on it.
pub const SHARED_FLAGS: [&str; 5] = [
    "--recommender-interval=1s",
    "--memory-aggregation-interval=15m",
    "--checkpoints-timeout=1m",
    "--kube-api-qps=1000",
    "--kube-api-burst=2000",
];

/// A running recommender.
pub struct Peer {
    /// Its `--recommender-name`.
    pub name: String,
    child: Measured,
    port: u16,
}

impl Peer {
    /// Starts `binary` against `kubeconfig` as recommender `name`, logging to `dir/<name>.log`.
    pub fn start(binary: &Path, kubeconfig: &Path, name: &str, dir: &Path) -> anyhow::Result<Peer> {
        let port = vpa_sim::free_port();
        let mut args = vec![
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--address=127.0.0.1:{port}"),
            format!("--recommender-name={name}"),
        ];
        args.extend(SHARED_FLAGS.iter().map(|f| f.to_string()));
        let log = log_path(dir, name, binary);
        let env = [("NAMESPACE", "kube-system"), ("RUST_LOG", "info")];
        let child = Measured::start(binary, &args, &env, &log, Stderr::Log)?;
        Ok(Peer {
            name: name.to_string(),
            child,
            port,
        })
    }

    /// Loops finished so far (0 before its `/metrics` answers).
    pub async fn loops(&mut self) -> anyhow::Result<u64> {
        self.child.check_running()?;
        let port = self.port;
        let scraped =
            tokio::task::spawn_blocking(move || vpa_e2e::prometheus::http_get(port, "/metrics"))
                .await?;
        Ok(match scraped {
            Ok((200, body)) => prom_text::histogram_by_label(
                &body,
                "vpa_recommender_execution_latency_seconds",
                "step",
            )
            .get("total")
            .map_or(0, |s| s.count as u64),
            _ => 0,
        })
    }

    /// Waits until `more` loops have finished after the call (so at least one whole loop began
    /// after it when `more` is 2).
    pub async fn wait_loops(&mut self, more: u64, timeout: Duration) -> anyhow::Result<()> {
        let start = self.loops().await?;
        let deadline = Instant::now() + timeout;
        loop {
            if self.loops().await? >= start + more {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "recommender {} finished fewer than {more} loops in {timeout:?}; end of its log:\n{}",
                self.name,
                self.child.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The end of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.child.log_tail(lines)
    }

    /// Kills it (as a crash would: no goodbye writes).
    pub fn stop(mut self) {
        self.child.stop();
    }
}

fn log_path(dir: &Path, name: &str, binary: &Path) -> PathBuf {
    let program = binary
        .file_name()
        .map_or("recommender".into(), |f| f.to_string_lossy().into_owned());
    dir.join(format!("{program}-as-{name}.log"))
}
