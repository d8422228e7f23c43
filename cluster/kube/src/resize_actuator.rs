//! The kubelet's part of in-place resize, for KWOK pods: KWOK ignores a resize, so after a client
//! changes a pod's resources through the real `pods/resize` subresource nothing would ever report
//! it done. This plays the kubelet on the status side, with the sim's own pure rules
//! ([`vpa_sim::cluster::resize_step`]): accept (`PodResizeInProgress`, allocate), then
//! actuate (container status `resources` follow the spec). The nodes are taken to have room for
//! any resize (`Infeasible` is the sim's to test).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use vpa_sim::cluster::{Amounts, ResizeStep, apply_resize, resize_step};

/// How often pods are checked.
const POLL: Duration = Duration::from_millis(500);

/// Room that fits any request (millicores, bytes).
const ROOM: Amounts = Amounts {
    cpu_millis: i64::MAX / 4,
    memory_bytes: i64::MAX / 4,
};

/// The running actuator; stops when dropped.
pub struct ResizeActuator {
    task: tokio::task::JoinHandle<()>,
}

impl ResizeActuator {
    /// Starts acting on every Running pod's resizes, through `client` (an admin).
    pub fn start(client: kube::Client) -> ResizeActuator {
        ResizeActuator {
            task: tokio::spawn(run(client)),
        }
    }
}

impl Drop for ResizeActuator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// RFC 3339 UTC time, seconds precision, as the API server writes it.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn run(client: kube::Client) {
    let pods: Api<Pod> = Api::all(client);
    loop {
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                for pod in list.items {
                    let Ok(value) = serde_json::to_value(&pod) else {
                        continue;
                    };
                    if value["status"]["phase"] != "Running" {
                        continue;
                    }
                    // A kubelet that can resize reports every running container's resources from
                    // the start (the API server refuses a resize of a pod whose status lacks them);
                    // KWOK does not, so that comes first, with no resize conditions.
                    let unreported = value["status"]["containerStatuses"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c.get("resources").is_none()));
                    let step = if unreported {
                        ResizeStep::Finish
                    } else {
                        resize_step(&value, Amounts::default(), ROOM, ROOM)
                    };
                    if step == ResizeStep::Idle {
                        continue;
                    }
                    let Some(status) = apply_resize(&value, &step, &now()) else {
                        continue;
                    };
                    let ns = value["metadata"]["namespace"].as_str().unwrap_or_default();
                    let name = value["metadata"]["name"].as_str().unwrap_or_default();
                    let patch: Value = json!({"status": status});
                    let api: Api<Pod> = Api::namespaced(pods.clone().into_client(), ns);
                    match api
                        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                    {
                        Ok(_) => {
                            tracing::info!(pod = %format!("{ns}/{name}"), ?step, "resize actuator: kubelet step")
                        }
                        Err(e) => {
                            tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "resize actuator: cannot write the pod status")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "resize actuator: cannot list pods"),
        }
        tokio::time::sleep(POLL).await;
    }
}
