//! VPA status writes (edge): the merge patch that replaces a VPA's status, sent without
//! decoding the answer.

use kube::Client;
use serde_json::{Value, json};
use tracing::{debug, warn};
use vpa_common::api::{VerticalPodAutoscaler, VerticalPodAutoscalerStatus};

use super::raw;

/// The status as a merge patch body: absent fields become `null` so they are removed.
pub fn status_patch(status: &VerticalPodAutoscalerStatus) -> Value {
    let mut status = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    if let Some(map) = status.as_object_mut() {
        for field in ["recommendation", "conditions", "observedGeneration"] {
            map.entry(field).or_insert(Value::Null);
        }
    }
    json!({ "status": status })
}

/// Patches one VPA's status (owned arguments keep the future free of borrows); whether it was
/// written. The answer (the whole VPA) is not decoded.
pub async fn patch_status(client: Client, namespace: String, name: String, body: Value) -> bool {
    let path = raw::object_path::<VerticalPodAutoscaler>(&namespace, &name, "/status");
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    match raw::patch(&client, &path, raw::MERGE_PATCH, bytes).await {
        Ok(_) => {
            debug!(%namespace, vpa = %name, "Status written");
            true
        }
        Err(error) => {
            warn!(%namespace, vpa = %name, %error, "Cannot write status");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_patch_nulls_what_the_new_status_lacks() {
        let status = VerticalPodAutoscalerStatus {
            observed_generation: Some(2),
            ..Default::default()
        };
        assert_eq!(
            status_patch(&status),
            json!({"status": {"recommendation": null, "conditions": null, "observedGeneration": 2}})
        );
    }
}
