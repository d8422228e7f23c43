//! The components' processes and logs as an operator sees them on a node: `kill -9` of one
//! pod's process (found by the `POD_NAME` its runner sets, on either backend), the pods of a
//! component, and the `key=value` fields and times of their log lines.

use std::time::Duration;

use super::Env;
use k8s_openapi::jiff::Timestamp;

/// The pid of the process of one of our binaries that runs for pod `pod`, read from `/proc`.
pub fn pid_of_pod(pod: &str) -> Option<u32> {
    let wanted = format!("POD_NAME={pod}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let ours = environ
                .split(|b| *b == 0)
                .any(|var| var == wanted.as_bytes());
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let program = cmdline.split(|b| *b == 0).next()?;
            let binary = String::from_utf8_lossy(program);
            (ours
                && vpa_sim::cluster::BINARIES
                    .iter()
                    .any(|b| binary.ends_with(b)))
            .then_some(pid)
        })
}

/// The first `key=value` field `key` of a log line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// A numeric field of a log line.
pub fn number(line: &str, key: &str) -> Option<f64> {
    field(line, key)?.parse().ok()
}

/// The time a log line starts with (RFC 3339, as the components log).
pub fn logged_at(line: &str) -> Option<Timestamp> {
    line.split_whitespace().next()?.parse().ok()
}

impl Env {
    /// Sends SIGKILL (the real `kill -9`) to the process of pod `pod` and returns its pid once
    /// it is gone; the pod's runner starts the container again, as a kubelet would. Panics when
    /// no such process runs.
    pub async fn kill_9(&self, pod: &str) -> u32 {
        let pid = pid_of_pod(pod).unwrap_or_else(|| panic!("no process runs for pod {pod}"));
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -9 {pid} failed");
        self.eventually(
            &format!("process {pid} of {pod} gone"),
            Duration::from_secs(5),
            || async {
                (!std::path::Path::new(&format!("/proc/{pid}/environ")).exists()
                    || pid_of_pod(pod) != Some(pid))
                .then_some(())
            },
        )
        .await;
        self.mark(&format!("killed {pod} (pid {pid}) with SIGKILL"));
        pid
    }

    /// The names of a component's pods that are not being deleted (`app=<component>`).
    pub async fn component_pods(&self, component: &str) -> Vec<String> {
        let list = self
            .get_json(&[
                "pods",
                "-n",
                "kube-system",
                "-l",
                &format!("app={component}"),
            ])
            .await;
        list["items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| Some(p["metadata"]["name"].as_str()?.to_string()))
            .collect()
    }

    /// Scales the component's Deployment (in kube-system) to `replicas` with kubectl and waits
    /// until that many are available (or, for 0, until its pods are gone).
    pub async fn scale_component(&self, component: &str, replicas: i64) {
        self.kubectl_ok(&[
            "scale",
            "-n",
            "kube-system",
            &format!("deploy/{component}"),
            &format!("--replicas={replicas}"),
        ])
        .await;
        if replicas > 0 {
            self.wait_available("kube-system", component, replicas)
                .await;
        } else {
            self.eventually(
                &format!("{component} stopped"),
                Duration::from_secs(60),
                || async {
                    self.component_pods(component)
                        .await
                        .is_empty()
                        .then_some(())
                },
            )
            .await;
        }
    }

    /// The holder of the recommender's leader-election Lease and the pod it names, once there
    /// is one.
    pub async fn recommender_leader(&self) -> (String, String) {
        self.eventually("a recommender leader", Duration::from_secs(30), || async {
            // Not `get_json`: the Lease does not exist until the first replica takes it.
            let out = self
                .kubectl(&[
                    "get",
                    "lease",
                    "-n",
                    "kube-system",
                    "vpa-recommender-lease",
                    "-o",
                    "json",
                ])
                .await;
            let lease: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let holder = lease["spec"]["holderIdentity"].as_str()?.to_string();
            let pods = self.component_pods("vpa-recommender").await;
            let pod = pods.into_iter().find(|p| holder.starts_with(p.as_str()))?;
            Some((holder, pod))
        })
        .await
    }
}
