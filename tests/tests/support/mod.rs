//! The three real VPA binaries running as pods of `deploy/` on either backend (`VPA_E2E_BACKEND`:
//! vpa-sim, or the real control plane of `cluster/kube`): a kustomize overlay of `deploy/` (short
//! intervals, free ports) applied with the real kubectl, pods of our images run as local processes
//! under their ServiceAccount tokens (so deploy/'s RBAC applies), and every API request recorded
//! (the sim's audit hook, or kube-apiserver's audit log).

#![allow(dead_code)]

mod backend;
mod process;

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use vpa_kube_cluster::deploy_overlay::{self, ComponentArgs, ComponentPorts};
use vpa_sim::AuditRecord;

pub use backend::Backend;
use backend::Running;
#[allow(unused_imports)]
pub use process::{field, logged_at, number, pid_of_pod};
use vpa_test_support::hamster;
pub use vpa_test_support::hamster::{hamster_requests, quantity};
use vpa_test_support::poll::poll;

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
        let mut cmd = vpa_e2e::component::cargo();
        cmd.arg("build");
        for b in vpa_sim::cluster::BINARIES {
            cmd.args(["-p", b, "--bin", b]);
        }
        let built = cmd.status().is_ok_and(|s| s.success());
        let present = vpa_sim::cluster::BINARIES
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

impl Options {
    /// Short loops, so a scenario takes seconds (minutes on the real control plane): the
    /// recommender and updater every 3 s, the admission controller's status Lease every second.
    pub fn fast() -> Options {
        Options {
            recommender_args: vec!["--recommender-interval=3s".into()],
            updater_args: vec!["--updater-interval=3s".into()],
            admission_args: vec!["--status-lease-update-interval=1s".into()],
        }
    }

    /// Adds leader election to the recommender with a lease of `lease_seconds` (renew deadline
    /// two seconds shorter, retry every second), each replica listening on its own pod address
    /// (the overlay's explicit 127.0.0.1 port would be taken by the first).
    pub fn recommender_leader_election(mut self, lease_seconds: u64) -> Options {
        self.recommender_args.extend([
            "--address=:8942".to_string(),
            "--leader-elect".to_string(),
            format!("--leader-elect-lease-duration={lease_seconds}s"),
            format!(
                "--leader-elect-renew-deadline={}s",
                lease_seconds.saturating_sub(2).max(1)
            ),
            "--leader-elect-retry-period=1s".to_string(),
        ]);
        self
    }
}

/// A running cluster (of the backend `VPA_E2E_BACKEND` names) with `deploy/` applied and the
/// components running as its pods.
pub struct Env {
    /// Which backend.
    pub backend: Backend,
    /// Admin client.
    pub client: kube::Client,
    /// The real kubectl.
    pub kubectl: PathBuf,
    /// The components' ports.
    pub ports: ComponentPorts,
    kubeconfig: PathBuf,
    running: Running,
    dir: tempfile::TempDir,
    started: Instant,
}

impl Env {
    /// Starts the backend and applies the overlay of `deploy/` with kubectl. `None` (after
    /// printing why) when a tool it needs is missing outside CI.
    pub async fn start(opts: Options) -> Option<Env> {
        let env = Env::start_bare().await?;
        let extra = ComponentArgs {
            recommender: opts.recommender_args,
            updater: opts.updater_args,
            admission: opts.admission_args,
        };
        let overlay = deploy_overlay::write(
            env.dir.path(),
            &vpa_e2e::repo_root().join("deploy"),
            &env.ports,
            &extra,
            env.backend.webhook_reach(),
        )
        .unwrap();
        env.kubectl_ok(&["apply", "-k", overlay.to_str().unwrap()])
            .await;
        env.mark("deploy/ applied");
        Some(env)
    }

    /// Starts the backend only: nothing of ours is installed.
    pub async fn start_bare() -> Option<Env> {
        Env::start_bare_on(Backend::from_env()).await
    }

    /// Starts `backend` only, whatever `VPA_E2E_BACKEND` says (to compare the two).
    pub async fn start_bare_on(backend: Backend) -> Option<Env> {
        vpa_common::install_crypto_provider();
        let started = Instant::now();
        let kubectl = vpa_e2e::require_tool("kubectl", &["kubectl"])?;
        let bin_dir = tokio::task::spawn_blocking(bin_dir).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ports = ComponentPorts::pick();
        let running = Running::start(backend, bin_dir, dir.path(), &ports).await?;
        let env = Env {
            backend,
            client: running.client().await,
            kubectl,
            ports,
            kubeconfig: running.kubeconfig(),
            running,
            dir,
            started,
        };
        env.mark(&format!("{backend:?} cluster up"));
        Some(env)
    }

    /// Everything the containers of pod `name` (in kube-system) logged so far.
    pub fn pod_log(&self, name: &str) -> String {
        let prefix = format!("kube-system_{name}_");
        std::fs::read_dir(self.running.pod_log_dir())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every API request answered so far (the sim's record, or the real API server's audit
    /// log), with the user, verb, object and whether it was allowed.
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        self.running.audit_records()
    }

    /// `timeout` stretched for the backend (see [`Backend::patience`]).
    pub fn patient(&self, timeout: Duration) -> Duration {
        timeout * self.backend.patience()
    }

    /// Prints a progress line with the time since the start (shown on failure or --nocapture).
    pub fn mark(&self, what: &str) {
        eprintln!("[{:>6.1}s] {what}", self.started.elapsed().as_secs_f64());
    }

    /// Runs the real kubectl as admin (asynchronously: the API server runs on this runtime).
    pub async fn kubectl(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
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
        let mut out = self.running.control_plane_logs();
        let mut files: Vec<_> = std::fs::read_dir(self.running.pod_log_dir())
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

    /// Polls `f` every 250 ms until it returns `Some`; after `timeout` (stretched for the
    /// backend, see [`Env::patient`]) panics with the component logs.
    pub async fn eventually<T, F: Future<Output = Option<T>>>(
        &self,
        what: &str,
        timeout: Duration,
        f: impl FnMut() -> F,
    ) -> T {
        let timeout = self.patient(timeout);
        match poll(timeout, Duration::from_millis(250), f).await {
            Some(v) => {
                self.mark(what);
                v
            }
            None => panic!(
                "timed out after {timeout:?} waiting for {what}; component logs:\n{}",
                self.logs()
            ),
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

    /// Waits until the three components' Deployments are available and the admission controller
    /// has registered its webhook.
    pub async fn wait_components(&self) {
        for d in ["vpa-recommender", "vpa-updater", "vpa-admission-controller"] {
            self.wait_available("kube-system", d, 1).await;
        }
        self.wait_exists(
            "the webhook registered",
            &["mutatingwebhookconfiguration", "vpa-webhook-config"],
        )
        .await;
    }

    /// Waits (up to 40 s, stretched for the backend) until `kubectl get <what>` finds it.
    pub async fn wait_exists(&self, description: &str, what: &[&str]) {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        self.eventually(description, Duration::from_secs(40), || async {
            self.kubectl(&args).await.status.success().then_some(())
        })
        .await;
    }

    /// The hamster's recommended target (CPU cores, memory bytes), once the VPA status has one.
    pub async fn wait_for_recommendation(&self, what: &str) -> (f64, f64) {
        self.eventually(what, Duration::from_secs(30), || self.hamster_target())
            .await
    }

    /// Runs kubectl with `args` plus `-f <file holding text>` (a manifest written inline).
    pub async fn kubectl_with_manifest(&self, args: &[&str], text: &str) -> std::process::Output {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let mut all = args.to_vec();
        all.extend(["-f", file.path().to_str().unwrap()]);
        self.kubectl(&all).await
    }

    /// The two running hamster pods, once there are two.
    pub async fn two_hamsters(&self) -> Vec<Value> {
        self.eventually(
            "two running hamster pods",
            Duration::from_secs(20),
            || async {
                let pods = self.hamster_pods().await;
                (pods.len() == 2).then_some(pods)
            },
        )
        .await
    }

    /// Waits (up to 45 s, stretched for the backend) until both `original` hamster pods, not
    /// replacements, request CPU that `accepts` (cores) in their spec and in the status the
    /// kubelet reports (the sim's, or the stand-in for KWOK): their in-place resize is done.
    /// Returns the pods.
    pub async fn wait_hamsters_resized(
        &self,
        original: &std::collections::BTreeSet<String>,
        what: &str,
        accepts: impl Fn(f64) -> bool,
    ) -> Vec<Value> {
        self.eventually(what, Duration::from_secs(45), || async {
            let pods = self.hamster_pods().await;
            let done = pods.len() == 2
                && pods.iter().all(|p| {
                    let status_cpu = quantity(
                        &p["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"],
                    );
                    original.contains(p["metadata"]["name"].as_str().unwrap())
                        && hamster_requests(p).is_some_and(|(c, _)| accepts(c))
                        && status_cpu.is_some_and(&accepts)
                });
            done.then_some(pods)
        })
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
        hamster::hamster_target(&vpa)
    }

    /// Where the cluster serves its cAdvisor-style usage and kube-state-metrics-style request
    /// series (`/metrics`, Prometheus text format).
    pub fn cluster_metrics_addr(&self) -> std::net::SocketAddr {
        self.running
            .sim_metrics_addr()
            .expect("only the sim serves its cAdvisor-style page, until shutdown")
    }

    /// Stops the components and the cluster.
    pub async fn shutdown(mut self) {
        self.running.stop().await;
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

/// The names of `pods` (objects as kubectl prints them).
pub fn pod_names(pods: &[Value]) -> std::collections::BTreeSet<String> {
    pods.iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}
