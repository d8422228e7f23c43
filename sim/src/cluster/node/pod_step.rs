//! One kubelet step over one running pod (edge: writes the pod's status and Events): an in-place
//! resize against what its node has left, each container's usage on the simulation clock, probe
//! verdicts, crash back-off, exits, OOM kills and finished run times; the usage is gathered for
//! the pass's metrics.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::agent::{NodeAgent, RUN_SECONDS_ANNOTATION};
use super::container_states::{self, CRASH_LOOP_BACK_OFF};
use super::kubelet::{self, OOM_KILLED};
use super::nodes::capacity_of;
use super::process_runner::{ProbeVerdict, has_readiness_probe};
use super::reading::{memory_limit, request, running_sidecar_statuses, seconds_between};
use super::scheduling::{self, Amounts};
use super::usage;
use crate::cluster::objects::meta;
use crate::cluster::observability::exposition::ContainerSeries;
use crate::cluster::observability::metrics::ContainerUsage;

/// A container run: pod uid, container name, restart count.
pub(super) type RunKey = (String, String, i64);

/// An Event to record once the pod's status is written: type, reason, message.
type Note = (&'static str, &'static str, String);

/// What every pod's step of one pass reads.
pub(super) struct Pass<'a> {
    /// The simulation clock at the start of the pass.
    pub(super) now: DateTime<Utc>,
    /// `now` as an RFC 3339 timestamp.
    pub(super) now_s: &'a str,
    /// The probe verdicts of process-backed containers.
    pub(super) verdicts: &'a [ProbeVerdict],
    /// Every Node object.
    pub(super) node_objects: &'a [Value],
    /// What each node's pods request.
    pub(super) used: &'a BTreeMap<String, Amounts>,
}

/// What one pass gathers for the metrics it publishes at the end.
#[derive(Default)]
pub(super) struct Tally {
    /// Each pod's containers' usage, by namespace and name.
    pub(super) pod_usage: Vec<((String, String), Vec<ContainerUsage>)>,
    /// CPU cores and memory bytes used on each node.
    pub(super) node_usage: HashMap<String, (f64, f64)>,
    /// The Prometheus page's series.
    pub(super) series: Vec<ContainerSeries>,
    /// The container runs seen (their CPU counters are kept).
    pub(super) seen: Vec<RunKey>,
}

/// The pod's in-place resize step against what `node` has left without it; whether the status
/// changed.
fn resize(p: &mut Value, node: &str, pass: &Pass<'_>) -> bool {
    let (Ok(typed), Some(node_obj)) = (
        serde_json::from_value::<Pod>(p.clone()),
        pass.node_objects.iter().find(|n| meta(n, "name") == node),
    ) else {
        return false;
    };
    let requested = scheduling::pod_requests(&typed);
    let alloc = capacity_of(node_obj).allocatable;
    let u = pass.used.get(node).copied().unwrap_or_default();
    let free = Amounts {
        cpu_millis: alloc.cpu_millis - (u.cpu_millis - requested.cpu_millis),
        memory_bytes: alloc.memory_bytes - (u.memory_bytes - requested.memory_bytes),
    };
    let step = kubelet::resize_step(p, requested, alloc, free);
    let Some(status) = kubelet::apply_resize(p, &step, pass.now_s) else {
        return false;
    };
    tracing::info!(pod = %meta(p, "name"), ?step, "Resize");
    p["status"] = status;
    true
}

impl NodeAgent {
    /// One pass over a running pod bound to `node`.
    pub(super) async fn step(
        &mut self,
        pod: &Value,
        node: &str,
        pass: &Pass<'_>,
        tally: &mut Tally,
    ) {
        let mut p = pod.clone();
        // In-place resize against what the node has left without this pod.
        let mut changed = resize(&mut p, node, pass);
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
        let mut notes: Vec<Note> = Vec::new();
        for s in &statuses {
            changed |= self.container(
                &mut p,
                s,
                node,
                run_seconds,
                pass,
                tally,
                &mut containers,
                &mut notes,
            );
        }
        // Running native sidecars: usage only (their OOM kills and exits are not simulated).
        for s in running_sidecar_statuses(&p) {
            let name = s["name"].as_str().unwrap_or_default().to_string();
            let started = s
                .pointer("/state/running/startedAt")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let t = seconds_between(started, pass.now);
            let models = self
                .scenario
                .models_for(&p, &name)
                .unwrap_or_else(|_| usage::default_models());
            let (cpu, memory) = (models.cpu.at(t), models.memory.at(t));
            let restarts = s["restartCount"].as_i64().unwrap_or(0);
            let key = (meta(&p, "uid").to_string(), name.clone(), restarts);
            self.sample(
                key,
                &p,
                &name,
                node,
                (cpu, memory),
                pass.now,
                tally,
                &mut containers,
            );
        }
        if changed && self.write_status(pod, p["status"].clone()).await {
            for (type_, reason, message) in notes {
                tracing::info!(pod = %meta(&p, "name"), %reason, %message, "Container event");
                self.event(&p, type_, reason, &message).await;
            }
        }
        tally.pod_usage.push((
            (
                meta(&p, "namespace").to_string(),
                meta(&p, "name").to_string(),
            ),
            containers,
        ));
    }

    /// One container of `p` with status `s`: crash back-off, its process, probe verdicts, usage,
    /// and an exit, OOM kill or finished run; whether the pod's status changed.
    #[allow(clippy::too_many_arguments)]
    fn container(
        &mut self,
        p: &mut Value,
        s: &Value,
        node: &str,
        run_seconds: Option<f64>,
        pass: &Pass<'_>,
        tally: &mut Tally,
        containers: &mut Vec<ContainerUsage>,
        notes: &mut Vec<Note>,
    ) -> bool {
        let (now, now_s) = (pass.now, pass.now_s);
        let mut changed = false;
        let name = s["name"].as_str().unwrap_or_default().to_string();
        if s.pointer("/state/waiting/reason").and_then(Value::as_str) == Some(CRASH_LOOP_BACK_OFF) {
            let restarts = s["restartCount"].as_i64().unwrap_or(0);
            if self
                .runner
                .as_ref()
                .is_some_and(|r| r.back_off_over(meta(p, "uid"), &name, restarts))
            {
                let probed = has_readiness_probe(p, &name);
                p["status"] = container_states::restart(p, &name, probed, now_s);
                changed = true;
            }
            return changed;
        }
        let Some(started) = s
            .pointer("/state/running/startedAt")
            .and_then(Value::as_str)
        else {
            return changed;
        };
        let t = seconds_between(started, now);
        let models = self.scenario.models_for(p, &name).unwrap_or_else(|error| {
            tracing::warn!(%error, pod = %meta(p, "name"), "Bad usage annotation, using defaults");
            usage::default_models()
        });
        let (cpu, memory) = (models.cpu.at(t), models.memory.at(t));
        let restarts = s["restartCount"].as_i64().unwrap_or(0);
        let key = (meta(p, "uid").to_string(), name.clone(), restarts);
        let exit = self.runner.as_ref().and_then(|r| r.exit_code(&key));
        if let Some(r) = self.runner.as_mut()
            && r.ensure(&self.shared, p, &name, &key)
            && has_readiness_probe(p, &name)
            && let Some(status) = container_states::set_ready(p, &name, false, now_s)
        {
            p["status"] = status;
            changed = true;
        }
        for v in pass.verdicts.iter() {
            match v {
                ProbeVerdict::Ready(k, ready) if *k == key => {
                    if let Some(status) = container_states::set_ready(p, &name, *ready, now_s) {
                        p["status"] = status;
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        let killed = pass.verdicts.iter().find_map(|v| match v {
            ProbeVerdict::LivenessFailed(k, why) if *k == key => Some(why.clone()),
            _ => None,
        });
        self.sample(key, p, &name, node, (cpu, memory), now, tally, containers);
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
            let probed = has_readiness_probe(p, &name);
            let (status, waits) = container_states::after_exit(p, &name, code, probed, now_s);
            p["status"] = status;
            changed = true;
            if waits {
                let message = "Back-off restarting failed container".to_string();
                notes.push(("Warning", "BackOff", message));
            }
        } else if let Some(limit) = memory_limit(p, &name).filter(|l| memory > *l) {
            let restart = kubelet::restarts(p, 137);
            p["status"] = kubelet::terminate(p, &name, OOM_KILLED, 137, now_s, restart);
            changed = true;
            notes.push(("Warning", "OOMKilling", format!("Container {name} was OOM-killed: memory usage {memory:.0} bytes above its limit of {limit:.0} bytes")));
        } else if run_seconds.is_some_and(|r| t >= r) {
            let restart = kubelet::restarts(p, 0);
            p["status"] = kubelet::terminate(p, &name, "Completed", 0, now_s, restart);
            changed = true;
        }
        changed
    }

    /// Records one container run's usage now: its CPU counter, its series, the pod's and the
    /// node's usage.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &mut self,
        key: RunKey,
        p: &Value,
        name: &str,
        node: &str,
        (cpu, memory): (f64, f64),
        now: DateTime<Utc>,
        tally: &mut Tally,
        containers: &mut Vec<ContainerUsage>,
    ) {
        let entry = self.cpu.entry(key.clone()).or_insert((now, 0.0));
        entry.1 += cpu * (now - entry.0).num_milliseconds().max(0) as f64 / 1000.0;
        entry.0 = now;
        tally.seen.push(key);
        tally.series.push(ContainerSeries {
            namespace: meta(p, "namespace").into(),
            pod: meta(p, "name").into(),
            container: name.to_string(),
            cpu_seconds_total: entry.1,
            memory_working_set_bytes: memory,
            cpu_request_cores: request(p, name, "cpu"),
            memory_request_bytes: request(p, name, "memory"),
        });
        containers.push(ContainerUsage {
            name: name.to_string(),
            cpu_cores: cpu,
            memory_bytes: memory,
        });
        let n = tally.node_usage.entry(node.to_string()).or_default();
        n.0 += cpu;
        n.1 += memory;
    }
}
