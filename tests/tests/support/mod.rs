//! The three real VPA binaries running as pods of `deploy/` inside a `vpa-sim` cluster, the way
//! `vpa-sim up` runs them: a kustomize overlay of `deploy/` (short intervals, free ports) applied
//! with the real kubectl, pods of our images run as local processes under their ServiceAccount
//! tokens (so deploy/'s RBAC applies), and every API request recorded.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Component as PathPart, Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use vpa_common::quantity::Quantity;
use vpa_sim::cluster::processes::Launcher;
use vpa_sim::cluster::{Cluster, ClusterOptions};
use vpa_sim::{AuditLog, Sim, SimOptions};

/// The ServiceAccount user of a component.
pub fn identity(component: &str) -> String {
    format!("system:serviceaccount:kube-system:{component}")
}

/// The directory with up-to-date `vpa-recommender`, `vpa-updater` and `vpa-admission-controller`
/// binaries: `cargo build` once per test process (a no-op when fresh), so the test never runs stale
/// code; an existing build is used when that fails (e.g. a crate mid-edit), with a warning.
pub fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = vpa_e2e::component::binary("vpa-updater", "vpa-updater")
            .parent()
            .unwrap()
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(vpa_e2e::repo_root()).arg("build");
        for b in vpa_sim::cluster::processes::BINARIES {
            cmd.args(["-p", b, "--bin", b]);
        }
        let built = cmd.status().is_ok_and(|s| s.success());
        let present = vpa_sim::cluster::processes::BINARIES
            .iter()
            .all(|b| dir.join(b).exists());
        assert!(
            present,
            "the VPA binaries are missing from {}",
            dir.display()
        );
        if !built {
            eprintln!("WARNING: cargo build of the VPA binaries failed; using the existing ones");
        }
        dir
    })
    .clone()
}

/// How to deploy.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Extra arguments of each component (appended to the overlay's address/port flags).
    pub recommender_args: Vec<String>,
    /// Extra updater arguments.
    pub updater_args: Vec<String>,
    /// Extra admission-controller arguments.
    pub admission_args: Vec<String>,
}

/// Local ports of the components (free ones, instead of the manifests' fixed ports).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// The admission controller's webhook (`--port`), reached through Service `vpa-webhook`.
    pub webhook: u16,
    /// Admin servers (`--address`).
    pub recommender: u16,
    /// The updater's admin server.
    pub updater: u16,
    /// The admission controller's admin server.
    pub admission: u16,
}

/// A running sim cluster with `deploy/` applied and the components running as processes.
pub struct Env {
    /// The API server.
    pub sim: Sim,
    /// Admin client.
    pub client: kube::Client,
    /// Every request since the sim started.
    pub audit: AuditLog,
    /// The real kubectl.
    pub kubectl: PathBuf,
    /// The components' ports.
    pub ports: Ports,
    cluster: Option<Cluster>,
    launcher: Launcher,
    dir: tempfile::TempDir,
    started: Instant,
}

/// `to` relative to `from` (both absolute): kustomize refuses absolute resource paths.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        if let PathPart::Normal(p) = part {
            out.push(p);
        }
    }
    out
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap()
}

/// A kustomization overlaying the repository's `deploy/`: the components' own flags replaced by
/// free local ports plus `opts`, one admission-controller replica (both would bind one port here).
fn write_overlay(dir: &Path, ports: &Ports, opts: &Options) -> PathBuf {
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(&overlay).unwrap();
    let base = relative(
        &overlay.canonicalize().unwrap(),
        &vpa_e2e::repo_root().join("deploy").canonicalize().unwrap(),
    );
    let args = |name: &str, mut own: Vec<String>, extra: &[String]| {
        own.extend(extra.iter().cloned());
        format!(
            "- target: {{kind: Deployment, name: {name}}}\n  patch: |-\n    - op: replace\n      path: /spec/template/spec/containers/0/args\n      value: {}\n",
            json_list(&own)
        )
    };
    let mut text = format!("resources:\n- {}\npatches:\n", base.display());
    text += &args(
        "vpa-recommender",
        vec![format!("--address=127.0.0.1:{}", ports.recommender)],
        &opts.recommender_args,
    );
    text += &args(
        "vpa-updater",
        vec![format!("--address=127.0.0.1:{}", ports.updater)],
        &opts.updater_args,
    );
    text += &args(
        "vpa-admission-controller",
        vec![
            format!("--port={}", ports.webhook),
            format!("--address=127.0.0.1:{}", ports.admission),
        ],
        &opts.admission_args,
    );
    text += "- target: {kind: Deployment, name: vpa-admission-controller}\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 1\n";
    std::fs::write(overlay.join("kustomization.yaml"), text).unwrap();
    overlay
}

impl Env {
    /// Starts the sim and cluster and applies the overlay of `deploy/` with kubectl. `None` (after
    /// printing why) without kubectl outside CI.
    pub async fn start(opts: Options) -> Option<Env> {
        vpa_common::install_crypto_provider();
        let started = Instant::now();
        let kubectl = vpa_e2e::require_tool("kubectl", &["kubectl"])?;
        let bin_dir = tokio::task::spawn_blocking(bin_dir).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ports = Ports {
            webhook: vpa_sim::free_port(),
            recommender: vpa_sim::free_port(),
            updater: vpa_sim::free_port(),
            admission: vpa_sim::free_port(),
        };
        let sim = Sim::start(SimOptions::default()).await.unwrap();
        let audit = sim.record_requests();
        let launcher = Launcher {
            bin_dir,
            work_dir: dir.path().join("pods"),
        };
        let services: BTreeMap<String, SocketAddr> = [(
            "kube-system/vpa-webhook".to_string(),
            SocketAddr::from(([127, 0, 0, 1], ports.webhook)),
        )]
        .into();
        let cluster = Cluster::start(
            &sim,
            ClusterOptions {
                interval: Duration::from_millis(100),
                services,
                processes: Some(launcher.clone()),
                // The cAdvisor/kube-state-metrics-style page (a free port; cheap when unscraped).
                metrics_port: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let client = sim.client().await.unwrap();
        let env = Env {
            sim,
            client,
            audit,
            kubectl,
            ports,
            cluster: Some(cluster),
            launcher,
            dir,
            started,
        };
        env.mark("cluster up");
        let overlay = write_overlay(env.dir.path(), &env.ports, &opts);
        env.kubectl_ok(&["apply", "-k", overlay.to_str().unwrap()])
            .await;
        env.mark("deploy/ applied");
        Some(env)
    }

    /// Prints a progress line with the time since the start (shown on failure or --nocapture).
    pub fn mark(&self, what: &str) {
        eprintln!("[{:>6.1}s] {what}", self.started.elapsed().as_secs_f64());
    }

    /// Runs the real kubectl as admin (asynchronously: the API server runs on this runtime).
    pub async fn kubectl(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(self.sim.kubeconfig_path())
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
            .unwrap()
    }

    /// Runs kubectl and returns its stdout; panics (with the component logs) when it fails.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `kubectl get <args> -o json`, parsed.
    pub async fn get_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(&all).await).unwrap()
    }

    /// Applies `examples/hamster.yaml` into `default`.
    pub async fn apply_hamster(&self) {
        let hamster = vpa_e2e::repo_root().join("examples/hamster.yaml");
        self.kubectl_ok(&["apply", "-n", "default", "-f", hamster.to_str().unwrap()])
            .await;
    }

    /// Every component container's log so far (what `kubectl logs` serves).
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut files: Vec<_> = std::fs::read_dir(&self.launcher.work_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "log"))
        {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(200).collect();
            out += &format!(
                "===== {} (last {} lines) =====\n",
                f.file_name().unwrap().to_string_lossy(),
                tail.len()
            );
            for l in tail.iter().rev() {
                out += l;
                out.push('\n');
            }
        }
        out
    }

    /// Polls `f` every 250 ms until it returns `Some`; after `timeout` panics with the component
    /// logs.
    pub async fn eventually<T, F: Future<Output = Option<T>>>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut() -> F,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f().await {
                self.mark(what);
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; component logs:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until the Deployment has `replicas` available.
    pub async fn wait_available(&self, namespace: &str, name: &str, replicas: i64) {
        self.eventually(
            &format!("deployment {namespace}/{name} with {replicas} available"),
            Duration::from_secs(30),
            || async {
                let out = self
                    .kubectl(&["get", "deploy", "-n", namespace, name, "-o", "json"])
                    .await;
                let d: Value = serde_json::from_slice(&out.stdout).ok()?;
                (d["status"]["availableReplicas"].as_i64().unwrap_or(0) == replicas).then_some(())
            },
        )
        .await
    }

    /// The running (not terminating) pods labelled `app=hamster`, as kubectl lists them.
    pub async fn hamster_pods(&self) -> Vec<Value> {
        let list = self
            .get_json(&["pods", "-n", "default", "-l", "app=hamster"])
            .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
            })
            .cloned()
            .collect()
    }

    /// The hamster VPA's target for the container `hamster`: (CPU cores, memory bytes).
    pub async fn hamster_target(&self) -> Option<(f64, f64)> {
        let vpa = self
            .get_json(&["vpa", "-n", "default", "hamster-vpa"])
            .await;
        let recs = vpa["status"]["recommendation"]["containerRecommendations"].as_array()?;
        let rec = recs.iter().find(|r| r["containerName"] == "hamster")?;
        Some((
            quantity(&rec["target"]["cpu"])?,
            quantity(&rec["target"]["memory"])?,
        ))
    }

    /// Where the cluster serves its cAdvisor-style usage and kube-state-metrics-style request
    /// series (`/metrics`, Prometheus text format).
    pub fn cluster_metrics_addr(&self) -> SocketAddr {
        self.cluster
            .as_ref()
            .and_then(Cluster::metrics_addr)
            .expect("the cluster serves its metrics page until shutdown")
    }

    /// Stops the cluster (and with it every component process) and the API server.
    pub async fn shutdown(mut self) {
        if let Some(cluster) = self.cluster.take() {
            cluster.stop().await;
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("component logs:\n{}", self.logs());
        }
        // Dropping the cluster's tasks with the runtime kills the processes (kill_on_drop).
    }
}

/// A quantity JSON string as a number of units (cores, bytes).
pub fn quantity(v: &Value) -> Option<f64> {
    Some(v.as_str()?.parse::<Quantity>().ok()?.as_f64())
}

/// (CPU, memory) requests of the container `hamster` of a pod.
pub fn hamster_requests(pod: &Value) -> Option<(f64, f64)> {
    let c = pod["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "hamster")?;
    Some((
        quantity(&c["resources"]["requests"]["cpu"])?,
        quantity(&c["resources"]["requests"]["memory"])?,
    ))
}
