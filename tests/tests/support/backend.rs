//! The two backends the end-to-end scenarios run on, chosen by `VPA_E2E_BACKEND`:
//! * `sim` (default): vpa-sim, our in-memory API server and cluster;
//! * `kube`: the real control plane built from Go modules (`cluster/kube`), with KWOK nodes and
//!   our components run as the pods of deploy/ by [`vpa_kube_cluster::PodRunner`].
//!
//! Both run deploy/ through the same overlay and give the same audit records, so a scenario is
//! written once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vpa_kube_cluster::deploy_overlay::{ComponentPorts, WebhookReach};
use vpa_kube_cluster::{ApiEndpoint, ControlPlane, PodRunner, ResizeActuator};
use vpa_sim::AuditRecord;
use vpa_sim::cluster::Launcher;
use vpa_sim::cluster::{Cluster, ClusterOptions};
use vpa_sim::{AuditLog, Sim, SimOptions};

/// Which API server the scenarios run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// vpa-sim.
    Sim,
    /// The real kube-apiserver and friends.
    Kube,
}

impl Backend {
    /// `VPA_E2E_BACKEND` (`sim` when unset); panics on any other value, so a typo never runs
    /// the wrong backend.
    pub fn from_env() -> Backend {
        match std::env::var("VPA_E2E_BACKEND").as_deref() {
            Err(_) | Ok("") | Ok("sim") => Backend::Sim,
            Ok("kube") => Backend::Kube,
            Ok(other) => panic!("VPA_E2E_BACKEND={other:?}: use sim or kube"),
        }
    }

    /// How much longer waits may take than on the sim: metrics-server scrapes every 10 s and
    /// real processes start slower than the sim's 100 ms cluster ticks.
    pub fn patience(self) -> u32 {
        match self {
            Backend::Sim => 1,
            Backend::Kube => 4,
        }
    }

    /// Whether PodMetrics include native sidecars' usage, as a real kubelet reports it. The sim
    /// does; KWOK (0.8.0, and its main branch) evaluates container metrics over
    /// `pod.Spec.Containers` only (`pkg/kwok/metrics`), so metrics-server lists no sidecar there.
    pub fn reports_sidecar_usage(self) -> bool {
        match self {
            Backend::Sim => true,
            Backend::Kube => false,
        }
    }

    /// How the API server reaches the webhook on this backend (see [`WebhookReach`]).
    pub fn webhook_reach(self) -> WebhookReach {
        match self {
            Backend::Sim => WebhookReach::Service,
            Backend::Kube => WebhookReach::Url,
        }
    }
}

/// A started backend.
pub enum Running {
    /// vpa-sim with its cluster (which runs our pods as processes itself).
    Sim {
        /// The API server.
        sim: Sim,
        /// Every request since start.
        audit: AuditLog,
        /// The simulated nodes, controllers and kubelets.
        cluster: Option<Cluster>,
        /// Where the pods' logs go.
        launcher: Launcher,
    },
    /// The real control plane and the runner of our pods.
    Kube {
        /// The pod runner (stopped before the control plane).
        runner: Option<PodRunner>,
        /// The kubelet's status side of in-place resizes, which KWOK does not play.
        resizes: Option<ResizeActuator>,
        /// etcd, kube-apiserver, kcm, scheduler, kwok, metrics-server.
        control_plane: ControlPlane,
    },
}

impl Running {
    /// Starts `backend`, with our binaries from `bin_dir` and scratch files in `dir`; `None`
    /// (the reason printed) when a tool it needs is missing outside CI.
    pub async fn start(
        backend: Backend,
        bin_dir: PathBuf,
        dir: &Path,
        ports: &ComponentPorts,
    ) -> Option<Running> {
        let launcher = Launcher {
            bin_dir,
            work_dir: dir.join("pods"),
        };
        match backend {
            Backend::Sim => {
                let sim = Sim::start(SimOptions::default()).await.unwrap();
                let audit = sim.record_requests();
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
                        // The cAdvisor/kube-state-metrics-style page (a free port; cheap when
                        // unscraped).
                        metrics_port: Some(0),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                Some(Running::Sim {
                    sim,
                    audit,
                    cluster: Some(cluster),
                    launcher,
                })
            }
            Backend::Kube => {
                vpa_e2e::require_tool(
                    "go (to build the real control plane)",
                    &["go", "/usr/local/go/bin/go"],
                )?;
                let bins = tokio::task::spawn_blocking(vpa_kube_cluster::binaries::ensure_built)
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("the real control plane could not be built: {e}"));
                let mut opts = vpa_kube_cluster::Options::new(bins);
                opts.dir = Some(dir.join("kube"));
                let control_plane = ControlPlane::start(opts)
                    .await
                    .unwrap_or_else(|e| panic!("the real control plane did not start: {e}"));
                let runner = PodRunner::start(
                    control_plane.client().await.unwrap(),
                    ApiEndpoint {
                        server: control_plane.server(),
                        ca_file: control_plane.pki.file("ca.crt"),
                    },
                    launcher,
                );
                let resizes = ResizeActuator::start(control_plane.client().await.unwrap());
                Some(Running::Kube {
                    runner: Some(runner),
                    resizes: Some(resizes),
                    control_plane,
                })
            }
        }
    }

    /// The admin kubeconfig file.
    pub fn kubeconfig(&self) -> PathBuf {
        match self {
            Running::Sim { sim, .. } => sim.kubeconfig_path().to_path_buf(),
            Running::Kube { control_plane, .. } => control_plane.kubeconfig_path(),
        }
    }

    /// An admin client.
    pub async fn client(&self) -> kube::Client {
        match self {
            Running::Sim { sim, .. } => sim.client().await.unwrap(),
            Running::Kube { control_plane, .. } => control_plane.client().await.unwrap(),
        }
    }

    /// Every API request answered so far.
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        match self {
            Running::Sim { audit, .. } => audit.records(),
            Running::Kube { control_plane, .. } => control_plane.audit_records(),
        }
    }

    /// The folder of our pods' container logs.
    pub fn pod_log_dir(&self) -> PathBuf {
        match self {
            Running::Sim { launcher, .. } => launcher.work_dir.clone(),
            Running::Kube { runner, .. } => runner
                .as_ref()
                .map(|r| r.log_dir().to_path_buf())
                .unwrap_or_default(),
        }
    }

    /// The end of the control plane's own logs (empty on the sim, which logs in-process).
    pub fn control_plane_logs(&self) -> String {
        match self {
            Running::Sim { .. } => String::new(),
            Running::Kube { control_plane, .. } => control_plane.logs(30),
        }
    }

    /// Where the sim serves its cAdvisor-style usage page; `None` on the real control plane.
    pub fn sim_metrics_addr(&self) -> Option<SocketAddr> {
        match self {
            Running::Sim { cluster, .. } => cluster.as_ref().and_then(Cluster::metrics_addr),
            Running::Kube { .. } => None,
        }
    }

    /// Stops everything: our processes first, then the cluster.
    pub async fn stop(&mut self) {
        match self {
            Running::Sim { cluster, .. } => {
                if let Some(c) = cluster.take() {
                    c.stop().await;
                }
            }
            Running::Kube {
                runner,
                resizes,
                control_plane,
            } => {
                resizes.take();
                if let Some(r) = runner.take() {
                    r.stop();
                }
                control_plane.stop();
            }
        }
    }
}
