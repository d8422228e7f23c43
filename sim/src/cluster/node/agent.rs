//! The simulated kubelets of every node (edge): start bound pods, actuate in-place resizes, run
//! each container's usage model on the simulation clock, OOM-kill containers above their memory
//! limit, finish containers annotated with a run time, and publish the usage as metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::Value;

use super::container_states;
use super::kubelet;
use super::nodes::NodeSpec;
use super::pod_step::{Pass, RunKey, Tally};
use super::process_runner::{Runner, has_readiness_probe};
use super::processes::Launcher;
use super::scenario::UsageScenario;
use super::scheduler::used_by_node;
use crate::api::Shared;
use crate::cluster::actions::Kind;
use crate::cluster::controllers::manager::list_all;
use crate::cluster::network::pod_network::{PortMap, loopback_ip};
use crate::cluster::objects::{is_active, meta};
use crate::cluster::observability::events;
use crate::cluster::observability::metrics::{self, SeriesBoard};

/// Annotation: seconds (simulation clock) after which every container exits 0.
pub const RUN_SECONDS_ANNOTATION: &str = "sim.vpa.rs/run-seconds";

/// The kubelets' name in Events.
pub const COMPONENT: &str = "kubelet";

/// State kept between ticks: addresses handed out and CPU counters.
pub struct NodeAgent {
    pub(super) client: Client,
    pub(super) shared: Arc<Shared>,
    pub(super) nodes: Vec<NodeSpec>,
    pub(super) next_ip: u32,
    /// (pod uid, container, restartCount) → (last sample time, cumulative CPU seconds).
    pub(super) cpu: HashMap<RunKey, (DateTime<Utc>, f64)>,
    pub(super) board: SeriesBoard,
    pub(super) last_tick: Option<DateTime<Utc>>,
    pub(super) runner: Option<Runner>,
    pub(super) scenario: UsageScenario,
}

impl NodeAgent {
    /// Kubelets for `nodes`, writing through `client` and publishing into `board`.
    pub fn new(
        client: Client,
        shared: Arc<Shared>,
        nodes: Vec<NodeSpec>,
        board: SeriesBoard,
    ) -> Self {
        NodeAgent {
            client,
            shared,
            nodes,
            next_ip: 2,
            cpu: HashMap::new(),
            board,
            last_tick: None,
            runner: None,
            scenario: UsageScenario::default(),
        }
    }

    /// Takes containers' usage models from `scenario` before their pods' annotations.
    pub fn with_scenario(mut self, scenario: UsageScenario) -> Self {
        self.scenario = scenario;
        self
    }

    /// Also runs containers of our images (see [`super::processes`]) as local processes that
    /// reach the API server at `url` trusting `ca_pem`, each pod on its own loopback address;
    /// ports moved off the pod address go into `ports`; `second` is the real length of a probe or
    /// crash back-off second.
    pub fn with_processes(
        mut self,
        launcher: Launcher,
        ca_pem: &str,
        url: &str,
        ports: PortMap,
        second: Duration,
    ) -> Self {
        self.runner = Some(Runner::new(launcher, ca_pem, url, ports, second));
        self
    }

    fn pod_ip(&mut self, node: usize, pod: &Value) -> String {
        if self.runner.is_some() && Runner::runs_pod(pod) {
            // One sequence per test process, from an offset per process: clusters running side by
            // side (tests) hand out different addresses.
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let base = std::process::id().wrapping_mul(2503);
            return loopback_ip(base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)))
                .to_string();
        }
        self.next_ip += 1;
        format!("10.244.{node}.{}", self.next_ip % 250 + 2)
    }

    pub(super) async fn write_status(&self, pod: &Value, status: Value) -> bool {
        let mut obj = pod.clone();
        obj["status"] = status;
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            meta(pod, "namespace"),
            &Kind::Pod.api_resource(),
        );
        let Ok(obj) = serde_json::from_value::<DynamicObject>(obj) else {
            return false;
        };
        match api
            .replace_status(meta(pod, "name"), &PostParams::default(), &obj)
            .await
        {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, pod = %meta(pod, "name"), "Pod status not written");
                false
            }
        }
    }

    pub(super) async fn event(&self, pod: &Value, type_: &str, reason: &str, message: &str) {
        events::record(
            &self.client,
            pod,
            type_,
            reason,
            message,
            COMPONENT,
            &self.shared.store.now(),
        )
        .await;
    }

    /// One pass over every pod bound to our nodes.
    pub async fn tick(&mut self) -> Result<(), kube::Error> {
        let now = self.shared.store.now_time();
        let now_s = self.shared.store.now();
        let window = self
            .last_tick
            .map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0);
        self.last_tick = Some(now);
        let verdicts = match self.runner.as_mut() {
            Some(r) => {
                r.reap();
                r.probe().await
            }
            None => Vec::new(),
        };
        let pods = list_all(&self.client, Kind::Pod).await?;
        let node_objects = list_all(&self.client, Kind::Node).await?;
        let used = used_by_node(&pods);
        let pass = Pass {
            now,
            now_s: &now_s,
            verdicts: &verdicts,
            node_objects: &node_objects,
            used: &used,
        };
        let mut tally = Tally::default();
        for pod in pods.iter().filter(|p| is_active(p)) {
            let node = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(index) = self.nodes.iter().position(|n| n.name == node) else {
                continue;
            };
            if pod.pointer("/status/containerStatuses").is_none() {
                self.start(index, pod, &now_s).await;
                continue;
            }
            self.step(pod, node, &pass, &mut tally).await;
        }
        self.cpu.retain(|k, _| tally.seen.contains(k));
        if let Some(r) = self.runner.as_mut() {
            r.retain(|k| tally.seen.contains(k));
        }
        let nodes: Vec<(String, f64, f64)> = self
            .nodes
            .iter()
            .map(|n| {
                let (c, m) = tally.node_usage.get(&n.name).copied().unwrap_or_default();
                (n.name.clone(), c, m)
            })
            .collect();
        metrics::publish(&self.shared, &tally.pod_usage, &nodes, window.max(1.0));
        *self.board.lock().unwrap_or_else(|e| e.into_inner()) = tally.series;
        Ok(())
    }

    /// Starts a bound pod on node `index`: its IP, running containers (process-backed ones
    /// unready until their readiness probe passes), and a `Started` Event.
    async fn start(&mut self, index: usize, pod: &Value, now_s: &str) {
        let ip = self.pod_ip(index, pod);
        let mut started = pod.clone();
        started["status"] = kubelet::start(pod, now_s, &ip, &NodeSpec::ip(index));
        if self.runner.is_some() {
            // Process-backed containers are ready once their readiness probe passes.
            let names: Vec<String> = started["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["name"].as_str().map(String::from))
                .collect();
            for name in names {
                if has_readiness_probe(&started, &name)
                    && let Some(s) = container_states::set_ready(&started, &name, false, now_s)
                {
                    started["status"] = s;
                }
            }
        }
        if self.write_status(pod, started["status"].clone()).await {
            self.event(pod, "Normal", "Started", "Started all containers")
                .await;
        }
    }
}
