//! Our own images run for real (edge, with pure helpers): a container whose image names one of
//! the VPA binaries (`vpa-rs/vpa-recommender[:tag]`, ...) is started as a local process with the
//! container's args and env, `KUBECONFIG` pointing at a kubeconfig with the pod's
//! ServiceAccount token (so RBAC applies), and stdout/stderr in a log file per container.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::process::{Child, Command};

/// The binaries our images stand for.
pub const BINARIES: [&str; 3] = ["vpa-recommender", "vpa-updater", "vpa-admission-controller"];

/// The binary an image runs, if it is one of ours: `[registry/]vpa-rs/<binary>[:tag|@digest]`.
pub fn binary_for_image(image: &str) -> Option<&'static str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let name = last.split(':').next().unwrap_or_default();
    let parent = without_digest.rsplit('/').nth(1).unwrap_or_default();
    BINARIES
        .iter()
        .copied()
        .find(|b| *b == name && parent == "vpa-rs")
}

/// The container's environment: literal values and the pod fields kubelet resolves.
pub fn container_env(pod: &Value, container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e["name"].as_str()?.to_string();
            if let Some(v) = e["value"].as_str() {
                return Some((name, v.to_string()));
            }
            let path = e.pointer("/valueFrom/fieldRef/fieldPath")?.as_str()?;
            let v = match path {
                "metadata.namespace" => pod.pointer("/metadata/namespace"),
                "metadata.name" => pod.pointer("/metadata/name"),
                "spec.nodeName" => pod.pointer("/spec/nodeName"),
                "spec.serviceAccountName" => pod.pointer("/spec/serviceAccountName"),
                "status.podIP" => pod.pointer("/status/podIP"),
                _ => None,
            }?;
            Some((name, v.as_str()?.to_string()))
        })
        .collect()
}

/// How to start processes.
#[derive(Clone, Debug)]
pub struct Launcher {
    /// Directory holding the binaries.
    pub bin_dir: PathBuf,
    /// Directory for kubeconfigs and logs.
    pub work_dir: PathBuf,
}

/// Key of a running process: pod uid, container name, restart count.
pub type ProcessKey = (String, String, i64);

/// The running processes.
#[derive(Default)]
pub struct Processes {
    running: HashMap<ProcessKey, Child>,
}

impl Launcher {
    /// The log file of a container.
    pub fn log_path(&self, namespace: &str, pod: &str, container: &str) -> PathBuf {
        self.work_dir
            .join(format!("{namespace}_{pod}_{container}.log"))
    }

    /// Starts `binary` for `container` of `pod` with `args` (the container's, with listen
    /// addresses moved to the pod, see `cluster::network::pod_network`), authenticating
    /// with `kubeconfig` (YAML).
    pub fn start(
        &self,
        binary: &str,
        pod: &Value,
        container: &Value,
        args: &[String],
        kubeconfig: &str,
    ) -> std::io::Result<Child> {
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let cname = container["name"].as_str().unwrap_or_default();
        std::fs::create_dir_all(&self.work_dir)?;
        let kc_path = self.work_dir.join(format!("{ns}_{name}.kubeconfig"));
        std::fs::write(&kc_path, kubeconfig)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(ns, name, cname))?;
        tracing::info!(namespace = %ns, pod = %name, container = %cname, %binary, "Starting process");
        Command::new(self.bin_dir.join(binary))
            .args(args)
            .envs(container_env(pod, container))
            .env("KUBECONFIG", &kc_path)
            .env("POD_NAME", name)
            .env("HOSTNAME", name)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
    }
}

impl Processes {
    /// Whether a process runs for `key`.
    pub fn contains(&self, key: &ProcessKey) -> bool {
        self.running.contains_key(key)
    }

    /// Tracks a started process.
    pub fn insert(&mut self, key: ProcessKey, child: Child) {
        self.running.insert(key, child);
    }

    /// Kills the process of `key` (a failed liveness probe) and forgets it.
    pub fn kill(&mut self, key: &ProcessKey) {
        if let Some(mut child) = self.running.remove(key) {
            let _ = child.start_kill();
        }
    }

    /// Removes and returns the exit codes of processes that ended.
    pub fn reap(&mut self) -> Vec<(ProcessKey, i64)> {
        let mut done = Vec::new();
        for (key, child) in self.running.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                done.push((key.clone(), i64::from(status.code().unwrap_or(137))));
            }
        }
        for (key, _) in &done {
            self.running.remove(key);
        }
        done
    }

    /// Kills processes whose key `keep` rejects (pods gone or containers restarted).
    pub fn retain(&mut self, keep: impl Fn(&ProcessKey) -> bool) {
        self.running.retain(|k, _| keep(k));
    }
}

/// The container's own arguments.
pub fn container_args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(String::from))
        .collect()
}

/// The directory of the running executable (where cargo puts sibling binaries).
pub fn default_bin_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn our_images_map_to_binaries() {
        assert_eq!(
            binary_for_image("vpa-rs/vpa-recommender"),
            Some("vpa-recommender")
        );
        assert_eq!(
            binary_for_image("registry.example.com/vpa-rs/vpa-updater:0.1.0"),
            Some("vpa-updater")
        );
        assert_eq!(
            binary_for_image("localhost:5000/vpa-rs/vpa-admission-controller@sha256:ab"),
            Some("vpa-admission-controller")
        );
        assert_eq!(
            binary_for_image("registry.k8s.io/autoscaling/vpa-recommender:1.7.1"),
            None
        );
        assert_eq!(binary_for_image("nginx"), None);
    }

    #[test]
    fn env_resolves_values_and_pod_fields() {
        let pod = json!({"metadata": {"name": "p", "namespace": "kube-system"}, "spec": {"nodeName": "n1"}});
        let c = json!({"env": [{"name": "A", "value": "1"}, {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]});
        assert_eq!(
            container_env(&pod, &c),
            vec![
                ("A".to_string(), "1".to_string()),
                ("NAMESPACE".to_string(), "kube-system".to_string())
            ]
        );
    }
}
