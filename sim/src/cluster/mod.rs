//! Cluster behaviour on top of the API server (issue 5): nodes, a scheduler, kubelets with usage
//! models and OOM kills, workload controllers, metrics and admission webhooks. The decisions are
//! pure modules; the controllers talk to the API through `kube::Client` exactly like
//! kube-controller-manager, kube-scheduler and kubelet do. This file starts them ([`Cluster`])
//! and is the facade: what other crates reuse (our binaries run as processes, the kubelet's
//! resize steps, pod addresses) is re-exported here.
//!
//! The rooms: `controllers` (the controller manager), `node` (Node objects, the scheduler,
//! kubelets, usage, probes, processes), `network` (pod addresses, Services), `admission`
//! (webhooks) and `observability` (Events, metrics). Shared by them: `actions` (what the
//! controllers write, as data) and `objects` (readers and builders over objects as JSON);
//! `clock` is simulated time and `playground` the `vpa-sim up` command.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use vpa_sim::cluster::{Cluster, ClusterOptions};
//! let sim = vpa_sim::Sim::start(vpa_sim::SimOptions::default()).await?;
//! let cluster = Cluster::start(&sim, ClusterOptions::default()).await?;
//! // ... create Deployments with kubectl or kube-rs; pods get scheduled and run ...
//! cluster.stop().await;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod actions;
mod admission;
mod clock;
mod controllers;
mod network;
mod node;
mod objects;
mod observability;
mod playground;

pub use clock::accelerated as accelerated_clock;
pub use network::pod_network::{loopback_ip, pod_args};
pub use network::services::ResolveError;
pub use node::kubelet::{ResizeStep, apply_resize, resize_step};
pub use node::nodes::NodeSpec;
pub use node::processes::{BINARIES, Launcher, binary_for_image, container_args, default_bin_dir};
pub use node::scenario::UsageScenario;
pub use node::scheduling::Amounts;
pub use playground::{UpArgs, run_until};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Sim;
use admission::dispatch::WebhookDispatcher;
use network::service_proxy::ServiceProxy;
use node::agent::NodeAgent;
use observability::metrics::{self, SeriesBoard};

/// How to run the simulated cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Nodes to create.
    pub nodes: Vec<NodeSpec>,
    /// Real time between controller, scheduler and kubelet passes.
    pub interval: Duration,
    /// Serve the Prometheus page on this 127.0.0.1 port (0 = any free port); None = no page.
    pub metrics_port: Option<u16>,
    /// Call admission webhooks registered in the API (Mutating/ValidatingWebhookConfigurations).
    pub webhooks: bool,
    /// Fixed local addresses of Services, by `namespace/name`, used instead of their endpoints.
    pub services: BTreeMap<String, SocketAddr>,
    /// Run containers of our images as local processes (None: simulate them like any other).
    pub processes: Option<Launcher>,
    /// Usage models by namespace, workload, pod-name prefix and container, taking precedence
    /// over pod annotations (see [`UsageScenario`]).
    pub usage_scenario: UsageScenario,
    /// Real length of one second of process-backed containers' probe timings (`periodSeconds`,
    /// `initialDelaySeconds`) and crash back-off (10 s doubling to 300 s); 1 s as kubelet, shorter
    /// in tests.
    pub process_second: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: NodeSpec::defaults(),
            interval: Duration::from_millis(100),
            metrics_port: None,
            webhooks: true,
            services: BTreeMap::new(),
            processes: None,
            usage_scenario: UsageScenario::default(),
            process_second: Duration::from_secs(1),
        }
    }
}

/// The running controllers of a simulated cluster.
pub struct Cluster {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    metrics_addr: Option<SocketAddr>,
    proxy: Arc<ServiceProxy>,
}

impl Cluster {
    /// Creates the nodes and starts the controller manager, scheduler and kubelets against `sim`.
    pub async fn start(sim: &Sim, opts: ClusterOptions) -> anyhow::Result<Cluster> {
        let client = sim.client().await?;
        let now = sim.store().now();
        let ports = network::pod_network::PortMap::default();
        let proxy = Arc::new(ServiceProxy::new(
            sim.shared().clone(),
            opts.services.clone(),
            ports.clone(),
        ));
        let nodes: Api<DynamicObject> =
            Api::all_with(client.clone(), &actions::Kind::Node.api_resource());
        for (i, n) in opts.nodes.iter().enumerate() {
            let obj: DynamicObject = serde_json::from_value(n.object(i, &now))?;
            match nodes.create(&PostParams::default(), &obj).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        if opts.webhooks {
            let dispatcher = WebhookDispatcher::new(sim.shared().clone(), proxy.clone());
            sim.add_admission_hook(Arc::new(dispatcher));
        }
        let (stop, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let shared = sim.shared().clone();
        let clock_source = shared.clone();
        let clock: crate::store::Clock = Arc::new(move || clock_source.store.now_time());
        tasks.push(tokio::spawn(controllers::manager::run(
            client.clone(),
            opts.interval,
            clock,
            rx.clone(),
        )));
        let (c, interval, mut r) = (client.clone(), opts.interval, rx.clone());
        let clock = shared.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(error) = node::scheduler::schedule_once(&c, &clock.store.now()).await {
                    tracing::warn!(%error, "Scheduling pass failed");
                }
                tokio::select! { _ = tokio::time::sleep(interval) => {}, _ = r.changed() => return }
            }
        }));
        let board = SeriesBoard::default();
        let mut agent = NodeAgent::new(client.clone(), shared, opts.nodes.clone(), board.clone())
            .with_scenario(opts.usage_scenario.clone());
        if let Some(launcher) = opts.processes.clone() {
            let logs = launcher.clone();
            *sim.shared().logs.write().unwrap_or_else(|e| e.into_inner()) =
                Some(Arc::new(move |ns: &str, pod: &str, container: &str| {
                    std::fs::read_to_string(logs.log_path(ns, pod, container)).ok()
                }));
            agent = agent.with_processes(
                launcher,
                sim.ca_pem(),
                &sim.url(),
                ports.clone(),
                opts.process_second,
            );
        }
        let mut r = rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(error) = agent.tick().await {
                    tracing::warn!(%error, "Kubelet pass failed");
                }
                tokio::select! { _ = tokio::time::sleep(interval) => {}, _ = r.changed() => return }
            }
        }));
        let metrics_addr = match opts.metrics_port {
            Some(port) => {
                let (addr, task) = metrics::serve(port, board, rx.clone()).await?;
                tasks.push(task);
                Some(addr)
            }
            None => None,
        };
        tracing::info!(nodes = opts.nodes.len(), ?metrics_addr, "Cluster running");
        Ok(Cluster {
            stop,
            tasks,
            metrics_addr,
            proxy,
        })
    }

    /// Where the Prometheus page is served, when enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Where port `port` of Service `namespace/name` is reached now, as webhook calls reach it: its
    /// `services` entry, else one of its ready endpoints in turn.
    pub fn resolve_service(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
    ) -> Result<SocketAddr, ResolveError> {
        self.proxy.resolve(namespace, name, port)
    }

    /// Stops every controller and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}
