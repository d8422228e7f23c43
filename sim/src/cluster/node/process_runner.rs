//! The container runtime of process-backed containers (edge): starts a container's process on its
//! pod's address (see [`crate::cluster::network::pod_network`]), probes it (see
//! [`super::probes`]), kills it when its liveness probe fails, and times the CrashLoopBackOff
//! delay between restarts. The kubelet ([`super::agent`]) turns what happens here into pod
//! status.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::probes::{HttpProbe, Tally, crash_backoff, http_get};
use super::processes::{Launcher, ProcessKey, Processes, binary_for_image, container_args};
use crate::api::Shared;
use crate::cluster::network::pod_network::{PortMap, pod_args};
use crate::cluster::objects::meta;

/// What a probe decided about a running container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// The readiness probe passed (true) or failed (false) its threshold.
    Ready(ProcessKey, bool),
    /// The liveness probe failed its threshold; the process has been killed.
    LivenessFailed(ProcessKey, String),
}

/// One running process and what the kubelet tracks about it.
struct Run {
    started: Instant,
    ip: IpAddr,
    readiness: Option<(HttpProbe, Tally)>,
    liveness: Option<(HttpProbe, Tally)>,
    /// Bind-all ports the process holds.
    claimed: Vec<u16>,
    /// Pod addresses served elsewhere, as entered in the port map.
    moved: Vec<SocketAddr>,
}

/// Runs containers of our images as local processes.
pub struct Runner {
    launcher: Launcher,
    ca_pem: String,
    url: String,
    processes: Processes,
    runs: HashMap<ProcessKey, Run>,
    /// When each (pod uid, container) last ended, for the back-off.
    exits: HashMap<(String, String), Instant>,
    /// Processes that ended (exit code) and whose container status still names them: never
    /// started again, reported until the status moves on.
    ended: HashMap<ProcessKey, i64>,
    ports: PortMap,
    second: Duration,
    http: reqwest::Client,
}

/// A free port for a stand-in's flag; 0 (the OS picks) when none can be found.
fn free_port() -> u16 {
    crate::try_free_port().unwrap_or(0)
}

/// The spec of `container` in `pod`.
pub fn container_spec<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
}

/// Whether `container` of `pod` runs as a process and has a readiness probe.
pub fn has_readiness_probe(pod: &Value, container: &str) -> bool {
    container_spec(pod, container).is_some_and(|c| {
        c["image"].as_str().and_then(binary_for_image).is_some()
            && HttpProbe::of(c, "readinessProbe").is_some()
    })
}

impl Runner {
    /// A runtime starting processes with `launcher` that reach the API server at `url` trusting
    /// `ca_pem`; moved ports go into `ports`; `second` is the real length of a probe or back-off
    /// second.
    pub fn new(
        launcher: Launcher,
        ca_pem: &str,
        url: &str,
        ports: PortMap,
        second: Duration,
    ) -> Self {
        Runner {
            launcher,
            ca_pem: ca_pem.to_string(),
            url: url.to_string(),
            processes: Processes::default(),
            runs: HashMap::new(),
            exits: HashMap::new(),
            ended: HashMap::new(),
            ports,
            second,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
        }
    }

    /// Whether `pod` has a container of our images (it gets a loopback address).
    pub fn runs_pod(pod: &Value) -> bool {
        pod.pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["image"].as_str().and_then(binary_for_image).is_some())
    }

    /// Starts the process of `container` in `pod` under `key` when its image is one of ours and
    /// none runs. Returns whether one started.
    pub fn ensure(
        &mut self,
        shared: &Shared,
        pod: &Value,
        container: &str,
        key: &ProcessKey,
    ) -> bool {
        let Some(spec) = container_spec(pod, container) else {
            return false;
        };
        let Some(binary) = spec["image"].as_str().and_then(binary_for_image) else {
            return false;
        };
        if self.processes.contains(key) || self.ended.contains_key(key) {
            return false;
        }
        let Some(ip) = pod
            .pointer("/status/podIP")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok())
        else {
            return false;
        };
        let ns = meta(pod, "namespace");
        let sa = pod
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let token = shared.tokens.for_service_account(ns, sa);
        let kubeconfig = crate::tls::kubeconfig(&self.url, &self.ca_pem, &token, ns);
        let taken: BTreeSet<u16> = self.runs.values().flat_map(|r| r.claimed.clone()).collect();
        let args = pod_args(binary, &container_args(spec), ip, &taken, free_port);
        match self
            .launcher
            .start(binary, pod, spec, &args.args, &kubeconfig)
        {
            Ok(child) => {
                let mut moved = Vec::new();
                for (from, to) in &args.remapped {
                    let from = SocketAddr::new(ip, *from);
                    self.ports.insert(from, *to);
                    moved.push(from);
                }
                let probe = |kind| HttpProbe::of(spec, kind).map(|p| (p, Tally::default()));
                self.runs.insert(
                    key.clone(),
                    Run {
                        started: Instant::now(),
                        ip,
                        readiness: probe("readinessProbe"),
                        liveness: probe("livenessProbe"),
                        claimed: args.claimed,
                        moved,
                    },
                );
                self.processes.insert(key.clone(), child);
                true
            }
            Err(error) => {
                tracing::warn!(%error, %binary, "Cannot start process");
                false
            }
        }
    }

    fn forget(&mut self, key: &ProcessKey) {
        if let Some(run) = self.runs.remove(key) {
            for from in &run.moved {
                self.ports.remove(from);
            }
        }
        self.exits
            .insert((key.0.clone(), key.1.clone()), Instant::now());
    }

    /// Collects the processes that ended.
    pub fn reap(&mut self) {
        for (key, code) in self.processes.reap() {
            self.forget(&key);
            self.ended.insert(key, code);
        }
    }

    /// The exit code of the process of `key` when it ended (or was killed: 137).
    pub fn exit_code(&self, key: &ProcessKey) -> Option<i64> {
        self.ended.get(key).copied()
    }

    /// Whether the back-off after `restarts` restarts of `container` of pod `uid` is over.
    pub fn back_off_over(&self, uid: &str, container: &str, restarts: i64) -> bool {
        let wait = self.second.mul_f64(crash_backoff(restarts));
        self.exits
            .get(&(uid.to_string(), container.to_string()))
            .is_none_or(|t| t.elapsed() >= wait)
    }

    /// Runs the probes that are due (concurrently) and returns the verdicts; processes failing
    /// liveness are killed.
    pub async fn probe(&mut self) -> Vec<ProbeVerdict> {
        let second = self.second.as_secs_f64().max(1e-6);
        let mut due = Vec::new();
        for (key, run) in &self.runs {
            let t = run.started.elapsed().as_secs_f64() / second;
            for (live, slot) in [(false, &run.readiness), (true, &run.liveness)] {
                if let Some((p, _)) = slot.as_ref().filter(|(p, tally)| tally.due(p, t)) {
                    let addr = self.ports.translate(SocketAddr::new(run.ip, p.port));
                    due.push((key.clone(), live, t, addr, p.path.clone(), p.timeout));
                }
            }
        }
        let http = Arc::new(self.http.clone());
        let results = futures::future::join_all(due.into_iter().map(
            |(key, live, t, addr, path, timeout)| {
                let http = http.clone();
                async move {
                    let ok = http_get(&http, addr, &path, Duration::from_secs_f64(timeout)).await;
                    (key, live, t, addr, path, ok)
                }
            },
        ))
        .await;
        let mut verdicts = Vec::new();
        for (key, live, t, addr, path, ok) in results {
            let Some(run) = self.runs.get_mut(&key) else {
                continue;
            };
            let slot = if live {
                &mut run.liveness
            } else {
                &mut run.readiness
            };
            let Some((p, tally)) = slot.as_mut() else {
                continue;
            };
            match (live, tally.record(p, ok, t)) {
                (false, Some(ready)) => verdicts.push(ProbeVerdict::Ready(key, ready)),
                (true, Some(false)) => {
                    let why = format!(
                        "HTTP probe of http://{addr}{path} failed {} times",
                        p.failure_threshold
                    );
                    verdicts.push(ProbeVerdict::LivenessFailed(key, why));
                }
                _ => {}
            }
        }
        for v in &verdicts {
            if let ProbeVerdict::LivenessFailed(key, _) = v {
                self.processes.kill(key);
                self.forget(key);
                self.ended.insert(key.clone(), 137);
            }
        }
        verdicts
    }

    /// Kills processes whose key `keep` rejects (pods gone or containers restarted).
    pub fn retain(&mut self, keep: impl Fn(&ProcessKey) -> bool) {
        self.processes.retain(&keep);
        self.ended.retain(|k, _| keep(k));
        let gone: Vec<ProcessKey> = self.runs.keys().filter(|k| !keep(k)).cloned().collect();
        for key in &gone {
            self.forget(key);
        }
        let live: BTreeSet<(String, String)> = self
            .runs
            .keys()
            .map(|k| (k.0.clone(), k.1.clone()))
            .collect();
        let horizon = self.second.mul_f64(600.0);
        self.exits
            .retain(|k, t| live.contains(k) || t.elapsed() < horizon);
    }
}
