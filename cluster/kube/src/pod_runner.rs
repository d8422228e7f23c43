//! Runs the pods of our own images for real beside the control plane, as a kubelet would: KWOK
//! marks every pod Running but runs nothing, so a pod whose container image is one of our binaries
//! (`vpa-rs/vpa-recommender`, ...) gets that binary started as a local process, with the container's
//! args and env, listen addresses moved to a loopback address of its own, and a kubeconfig holding
//! a token for the pod's ServiceAccount bound to the pod (so deploy/'s RBAC applies, and the token
//! dies with the pod). A process stops (SIGTERM, then SIGKILL) when its pod terminates, and is
//! started again when it exits, as the kubelet restarts a container.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;
use tokio::process::Child;
use vpa_sim::cluster::{Launcher, binary_for_image, container_args, loopback_ip, pod_args};

/// How often the pods are listed.
const POLL: Duration = Duration::from_millis(500);
/// How long a stopping process gets between SIGTERM and SIGKILL (deploy/'s grace period is 30 s;
/// ours exit in well under a second).
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The wait before a container whose process exited is started again.
const RESTART_BACKOFF: Duration = Duration::from_secs(2);
/// Pod loopback addresses start here, clear of the sim's range (which starts at 0).
const FIRST_ADDRESS: u32 = 5_000;

/// One running container process.
struct Running {
    child: Child,
    /// Bind-all ports it holds.
    claimed: Vec<u16>,
}

/// What the runner knows between polls.
#[derive(Default)]
struct State {
    /// By (pod uid, container).
    running: BTreeMap<(String, String), Running>,
    /// Processes told to stop, killed once their grace period is over.
    stopping: Vec<(Child, Instant)>,
    /// Loopback address of each pod uid.
    addresses: BTreeMap<String, IpAddr>,
    /// When a container's process last exited (to back off before restarting it).
    exited: BTreeMap<(String, String), Instant>,
    next_address: u32,
}

/// The runner; stops every process when dropped.
pub struct PodRunner {
    task: tokio::task::JoinHandle<()>,
    launcher: Launcher,
    state: Arc<Mutex<State>>,
}

/// What a kubeconfig needs besides the token: the API server and its CA file.
#[derive(Clone, Debug)]
pub struct ApiEndpoint {
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// The CA file.
    pub ca_file: String,
}

impl PodRunner {
    /// Starts watching pods (through `client`, an admin) and running ours with the binaries of
    /// `launcher.bin_dir`, logs in `launcher.work_dir`.
    pub fn start(client: kube::Client, api: ApiEndpoint, launcher: Launcher) -> PodRunner {
        let state = Arc::new(Mutex::new(State {
            next_address: FIRST_ADDRESS,
            ..State::default()
        }));
        let task = tokio::spawn(run(client, api, launcher.clone(), state.clone()));
        PodRunner {
            task,
            launcher,
            state,
        }
    }

    /// The folder of the container logs (`<namespace>_<pod>_<container>.log`).
    pub fn log_dir(&self) -> &std::path::Path {
        &self.launcher.work_dir
    }

    /// Every container log so far, the last 200 lines of each.
    pub fn logs(&self) -> String {
        let mut files: Vec<_> = std::fs::read_dir(&self.launcher.work_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        let mut out = String::new();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "log"))
        {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(200)..];
            out += &format!(
                "===== {} (last {} lines) =====\n{}\n",
                f.file_name().unwrap_or_default().to_string_lossy(),
                tail.len(),
                tail.join("\n")
            );
        }
        out
    }

    /// Stops the runner and every process it started.
    pub fn stop(&self) {
        self.task.abort();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (_, mut r) in std::mem::take(&mut state.running) {
            let _ = r.child.start_kill();
        }
        for (mut c, _) in std::mem::take(&mut state.stopping) {
            let _ = c.start_kill();
        }
    }
}

impl Drop for PodRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the pod is one a kubelet would run now.
fn runs(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["metadata"]["deletionTimestamp"].is_null()
        && pod["spec"]["nodeName"].is_string()
}

/// Our containers of a pod: (container, binary).
fn our_containers(pod: &Value) -> Vec<(Value, &'static str)> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.clone(), binary_for_image(c["image"].as_str()?)?)))
        .collect()
}

fn sigterm(child: &Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
}

async fn run(client: kube::Client, api: ApiEndpoint, launcher: Launcher, state: Arc<Mutex<State>>) {
    let pods: Api<Pod> = Api::all(client.clone());
    loop {
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                let pods: Vec<Value> = list
                    .items
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok())
                    .filter(|p| !our_containers(p).is_empty())
                    .collect();
                reconcile(&client, &api, &launcher, &state, &pods).await;
            }
            Err(e) => tracing::warn!(error = %e, "pod runner: cannot list pods; trying again"),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn reconcile(
    client: &kube::Client,
    api: &ApiEndpoint,
    launcher: &Launcher,
    state: &Mutex<State>,
    pods: &[Value],
) {
    let wanted: BTreeSet<(String, String)> = pods
        .iter()
        .filter(|p| runs(p))
        .flat_map(|p| {
            let uid = p["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            our_containers(p).into_iter().map(move |(c, _)| {
                (
                    uid.clone(),
                    c["name"].as_str().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    // Stop what should not run; note what exited.
    {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<_> = st.running.keys().cloned().collect();
        for key in keys {
            let exited = st
                .running
                .get_mut(&key)
                .is_some_and(|r| matches!(r.child.try_wait(), Ok(Some(_))));
            if exited {
                tracing::warn!(pod_uid = %key.0, container = %key.1, "pod runner: process exited; restarting it");
                st.running.remove(&key);
                st.exited.insert(key, Instant::now());
            } else if !wanted.contains(&key)
                && let Some(r) = st.running.remove(&key)
            {
                sigterm(&r.child);
                st.stopping.push((r.child, Instant::now()));
            }
        }
        st.stopping.retain_mut(|(child, since)| {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if since.elapsed() > STOP_GRACE {
                let _ = child.start_kill();
                return false;
            }
            true
        });
        let live: BTreeSet<&String> = wanted.iter().map(|(uid, _)| uid).collect();
        st.addresses.retain(|uid, _| live.contains(uid));
    }
    // Start what should run.
    for pod in pods.iter().filter(|p| runs(p)) {
        let uid = pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for (container, binary) in our_containers(pod) {
            let key = (
                uid.clone(),
                container["name"].as_str().unwrap_or_default().to_string(),
            );
            let (ip, taken) = {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                if st.running.contains_key(&key)
                    || st
                        .exited
                        .get(&key)
                        .is_some_and(|t| t.elapsed() < RESTART_BACKOFF)
                {
                    continue;
                }
                let next = st.next_address;
                let ip = *st
                    .addresses
                    .entry(uid.clone())
                    .or_insert_with(|| IpAddr::V4(loopback_ip(next)));
                if st.next_address == next {
                    st.next_address += 1;
                }
                let taken: BTreeSet<u16> = st
                    .running
                    .values()
                    .flat_map(|r| r.claimed.iter().copied())
                    .collect();
                (ip, taken)
            };
            let token = match token_for(client, pod).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(pod = %pod["metadata"]["name"], error = %e, "pod runner: no ServiceAccount token yet");
                    continue;
                }
            };
            let kubeconfig = crate::manifests::kubeconfig(
                &api.server,
                &api.ca_file,
                "vpa-kube",
                crate::manifests::Credentials::Token(&token),
            );
            let args = pod_args(
                binary,
                &container_args(&container),
                ip,
                &taken,
                vpa_sim::free_port,
            );
            match launcher.start(binary, pod, &container, &args.args, &kubeconfig) {
                Ok(child) => {
                    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                    st.exited.remove(&key);
                    st.running.insert(
                        key,
                        Running {
                            child,
                            claimed: args.claimed,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(%binary, error = %e, "pod runner: cannot start the process")
                }
            }
        }
    }
}

/// A token of the pod's ServiceAccount, bound to the pod (TokenRequest, as the kubelet asks for
/// the projected token volume).
async fn token_for(client: &kube::Client, pod: &Value) -> Result<String, kube::Error> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let sa = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(3600),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod["metadata"]["name"].as_str().map(String::from),
                uid: pod["metadata"]["uid"].as_str().map(String::from),
            }),
        },
        ..Default::default()
    };
    let answer = api
        .create_token_request(sa, &PostParams::default(), &req)
        .await?;
    Ok(answer.status.map(|s| s.token).unwrap_or_default())
}
