//! The simulated kubelets of every node (edge): start bound pods, actuate in-place resizes, run
//! each container's usage model on the simulation clock, OOM-kill containers above their memory
//! limit, finish containers annotated with a run time, and publish the usage as metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::Value;

use super::actions::Kind;
use super::container_states::{self, CRASH_LOOP_BACK_OFF};
use super::controllers::list_all;
use super::events;
use super::exposition::ContainerSeries;
use super::kubelet::{self, OOM_KILLED};
use super::metrics::{self, ContainerUsage, SeriesBoard};
use super::nodes::{NodeSpec, capacity_of};
use super::objects::{is_active, meta};
use super::pod_network::{PortMap, loopback_ip};
use super::process_runner::{ProbeVerdict, Runner, has_readiness_probe};
use super::processes::Launcher;
use super::scenario::UsageScenario;
use super::scheduler::used_by_node;
use super::scheduling::{self, Amounts};
use super::usage;
use crate::api::Shared;

/// Annotation: seconds (simulation clock) after which every container exits 0.
pub const RUN_SECONDS_ANNOTATION: &str = "sim.vpa.rs/run-seconds";

/// The kubelets' name in Events.
pub const COMPONENT: &str = "kubelet";

/// State kept between ticks: addresses handed out and CPU counters.
pub struct NodeAgent {
    client: Client,
    shared: Arc<Shared>,
    nodes: Vec<NodeSpec>,
    next_ip: u32,
    /// (pod uid, container, restartCount) → (last sample time, cumulative CPU seconds).
    cpu: HashMap<(String, String, i64), (DateTime<Utc>, f64)>,
    board: SeriesBoard,
    last_tick: Option<DateTime<Utc>>,
    runner: Option<Runner>,
    scenario: UsageScenario,
}

fn seconds_between(from: &str, to: DateTime<Utc>) -> f64 {
    DateTime::parse_from_rfc3339(from)
        .map(|t| (to - t.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0)
}

fn memory_limit(pod: &Value, container: &str) -> Option<f64> {
    let c = pod
        .pointer("/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let q = c.pointer("/resources/limits/memory")?.as_str()?;
    q.parse::<vpa_common::quantity::Quantity>()
        .ok()
        .map(|q| q.as_f64())
}

fn request(pod: &Value, container: &str, resource: &str) -> Option<f64> {
    let c = pod
        .pointer("/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let q = c
        .pointer(&format!("/resources/requests/{resource}"))?
        .as_str()?;
    q.parse::<vpa_common::quantity::Quantity>()
        .ok()
        .map(|q| q.as_f64())
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

    async fn write_status(&self, pod: &Value, status: Value) -> bool {
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

    async fn event(&self, pod: &Value, type_: &str, reason: &str, message: &str) {
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
        let mut pod_usage = Vec::new();
        let mut node_usage: HashMap<String, (f64, f64)> = HashMap::new();
        let mut series = Vec::new();
        let mut seen = Vec::new();
        for pod in pods.iter().filter(|p| is_active(p)) {
            let node = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(index) = self.nodes.iter().position(|n| n.name == node) else {
                continue;
            };
            if pod.pointer("/status/containerStatuses").is_none() {
                let ip = self.pod_ip(index, pod);
                let mut started = pod.clone();
                started["status"] = kubelet::start(pod, &now_s, &ip, &NodeSpec::ip(index));
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
                            && let Some(s) =
                                container_states::set_ready(&started, &name, false, &now_s)
                        {
                            started["status"] = s;
                        }
                    }
                }
                if self.write_status(pod, started["status"].clone()).await {
                    self.event(pod, "Normal", "Started", "Started all containers")
                        .await;
                }
                continue;
            }
            let mut p = pod.clone();
            let mut changed = false;
            // In-place resize against what the node has left without this pod.
            if let (Ok(typed), Some(node_obj)) = (
                serde_json::from_value::<Pod>(p.clone()),
                node_objects.iter().find(|n| meta(n, "name") == node),
            ) {
                let requested = scheduling::pod_requests(&typed);
                let alloc = capacity_of(node_obj).allocatable;
                let u = used.get(node).copied().unwrap_or_default();
                let free = Amounts {
                    cpu_millis: alloc.cpu_millis - (u.cpu_millis - requested.cpu_millis),
                    memory_bytes: alloc.memory_bytes - (u.memory_bytes - requested.memory_bytes),
                };
                let step = kubelet::resize_step(&p, requested, alloc, free);
                if let Some(status) = kubelet::apply_resize(&p, &step, &now_s) {
                    tracing::info!(pod = %meta(&p, "name"), ?step, "Resize");
                    p["status"] = status;
                    changed = true;
                }
            }
            // Usage, OOM kills and finished containers.
            let run_seconds: Option<f64> = p
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    RUN_SECONDS_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let statuses: Vec<Value> = p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut containers = Vec::new();
            let mut notes: Vec<(&str, &str, String)> = Vec::new();
            for s in &statuses {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                if s.pointer("/state/waiting/reason").and_then(Value::as_str)
                    == Some(CRASH_LOOP_BACK_OFF)
                {
                    let restarts = s["restartCount"].as_i64().unwrap_or(0);
                    if self
                        .runner
                        .as_ref()
                        .is_some_and(|r| r.back_off_over(meta(&p, "uid"), &name, restarts))
                    {
                        let probed = has_readiness_probe(&p, &name);
                        p["status"] = container_states::restart(&p, &name, probed, &now_s);
                        changed = true;
                    }
                    continue;
                }
                let Some(started) = s
                    .pointer("/state/running/startedAt")
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                let t = seconds_between(started, now);
                let models = self.scenario.models_for(&p, &name).unwrap_or_else(|error| {
                    tracing::warn!(%error, pod = %meta(&p, "name"), "Bad usage annotation, using defaults");
                    usage::default_models()
                });
                let (cpu, memory) = (models.cpu.at(t), models.memory.at(t));
                let restarts = s["restartCount"].as_i64().unwrap_or(0);
                let key = (meta(&p, "uid").to_string(), name.clone(), restarts);
                let exit = self.runner.as_ref().and_then(|r| r.exit_code(&key));
                if let Some(r) = self.runner.as_mut()
                    && r.ensure(&self.shared, &p, &name, &key)
                    && has_readiness_probe(&p, &name)
                    && let Some(status) = container_states::set_ready(&p, &name, false, &now_s)
                {
                    p["status"] = status;
                    changed = true;
                }
                for v in verdicts.iter() {
                    match v {
                        ProbeVerdict::Ready(k, ready) if *k == key => {
                            if let Some(status) =
                                container_states::set_ready(&p, &name, *ready, &now_s)
                            {
                                p["status"] = status;
                                changed = true;
                            }
                        }
                        _ => {}
                    }
                }
                let killed = verdicts.iter().find_map(|v| match v {
                    ProbeVerdict::LivenessFailed(k, why) if *k == key => Some(why.clone()),
                    _ => None,
                });
                let entry = self.cpu.entry(key.clone()).or_insert((now, 0.0));
                entry.1 += cpu * (now - entry.0).num_milliseconds().max(0) as f64 / 1000.0;
                entry.0 = now;
                seen.push(key.clone());
                series.push(ContainerSeries {
                    namespace: meta(&p, "namespace").into(),
                    pod: meta(&p, "name").into(),
                    container: name.clone(),
                    cpu_seconds_total: entry.1,
                    memory_working_set_bytes: memory,
                    cpu_request_cores: request(&p, &name, "cpu"),
                    memory_request_bytes: request(&p, &name, "memory"),
                });
                containers.push(ContainerUsage {
                    name: name.clone(),
                    cpu_cores: cpu,
                    memory_bytes: memory,
                });
                let n = node_usage.entry(node.to_string()).or_default();
                n.0 += cpu;
                n.1 += memory;
                if let Some(why) = killed {
                    notes.push((
                        "Warning",
                        "Unhealthy",
                        format!("Liveness probe failed: {why}"),
                    ));
                    notes.push((
                        "Normal",
                        "Killing",
                        format!("Container {name} failed liveness probe, will be restarted"),
                    ));
                }
                if let Some(code) = exit {
                    let probed = has_readiness_probe(&p, &name);
                    let (status, waits) =
                        container_states::after_exit(&p, &name, code, probed, &now_s);
                    p["status"] = status;
                    changed = true;
                    if waits {
                        let message = "Back-off restarting failed container".to_string();
                        notes.push(("Warning", "BackOff", message));
                    }
                } else if let Some(limit) = memory_limit(&p, &name).filter(|l| memory > *l) {
                    let restart = kubelet::restarts(&p, 137);
                    p["status"] = kubelet::terminate(&p, &name, OOM_KILLED, 137, &now_s, restart);
                    changed = true;
                    notes.push(("Warning", "OOMKilling", format!("Container {name} was OOM-killed: memory usage {memory:.0} bytes above its limit of {limit:.0} bytes")));
                } else if run_seconds.is_some_and(|r| t >= r) {
                    let restart = kubelet::restarts(&p, 0);
                    p["status"] = kubelet::terminate(&p, &name, "Completed", 0, &now_s, restart);
                    changed = true;
                }
            }
            if changed && self.write_status(pod, p["status"].clone()).await {
                for (type_, reason, message) in notes {
                    tracing::info!(pod = %meta(&p, "name"), %reason, %message, "Container event");
                    self.event(&p, type_, reason, &message).await;
                }
            }
            pod_usage.push((
                (
                    meta(&p, "namespace").to_string(),
                    meta(&p, "name").to_string(),
                ),
                containers,
            ));
        }
        self.cpu.retain(|k, _| seen.contains(k));
        if let Some(r) = self.runner.as_mut() {
            r.retain(|k| seen.contains(k));
        }
        let nodes: Vec<(String, f64, f64)> = self
            .nodes
            .iter()
            .map(|n| {
                let (c, m) = node_usage.get(&n.name).copied().unwrap_or_default();
                (n.name.clone(), c, m)
            })
            .collect();
        metrics::publish(&self.shared, &pod_usage, &nodes, window.max(1.0));
        *self.board.lock().unwrap_or_else(|e| e.into_inner()) = series;
        Ok(())
    }
}
