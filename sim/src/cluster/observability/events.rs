//! Records core/v1 Events through the API, as kubelet and kube-scheduler do (edge).

use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::cluster::actions::Kind;
use crate::cluster::objects::meta;

/// The Event object about `involved` (pure).
pub fn event(
    involved: &Value,
    type_: &str,
    reason: &str,
    message: &str,
    component: &str,
    now: &str,
) -> Value {
    let ns = match meta(involved, "namespace") {
        "" => "default",
        ns => ns,
    };
    let name = format!("{}.{:016x}", meta(involved, "name"), fastrand::u64(..));
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": involved["apiVersion"], "kind": involved["kind"], "namespace": meta(involved, "namespace"),
            "name": meta(involved, "name"), "uid": meta(involved, "uid")},
        "reason": reason, "message": message, "type": type_,
        "source": {"component": component}, "reportingComponent": component,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    })
}

/// Creates the Event; failures are logged, never fatal.
pub async fn record(
    client: &Client,
    involved: &Value,
    type_: &str,
    reason: &str,
    message: &str,
    component: &str,
    now: &str,
) {
    let ev = event(involved, type_, reason, message, component, now);
    let ns = ev["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &Kind::Event.api_resource());
    match serde_json::from_value::<DynamicObject>(ev) {
        Ok(obj) => {
            if let Err(error) = api.create(&PostParams::default(), &obj).await {
                tracing::debug!(%error, %reason, "Event not recorded");
            }
        }
        Err(error) => tracing::debug!(%error, "Event not built"),
    }
}
