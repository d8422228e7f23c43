//! The simulated nodes (pure builders, one edge call): `name:cpu:memory` specs become Node objects
//! with capacity and allocatable, a Ready condition and an internal IP.

use serde_json::{Value, json};

use super::scheduling::{Amounts, NodeCapacity};

/// One node to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// Allocatable CPU, millicores.
    pub cpu_millis: i64,
    /// Allocatable memory, bytes.
    pub memory_bytes: i64,
}

impl std::str::FromStr for NodeSpec {
    type Err = String;

    /// `name:cpu:memory`, quantities as in Kubernetes: `node-1:4:8Gi`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [name, cpu, memory] = parts.as_slice() else {
            return Err(format!(
                "{s:?}: expected NAME:CPU:MEMORY, e.g. node-1:4:8Gi"
            ));
        };
        let q = |v: &str| {
            v.parse::<vpa_common::quantity::Quantity>()
                .map_err(|e| format!("{s:?}: {e}"))
        };
        Ok(NodeSpec {
            name: name.to_string(),
            cpu_millis: q(cpu)?.millis_ceil(),
            memory_bytes: q(memory)?.units_ceil(),
        })
    }
}

impl NodeSpec {
    /// Two nodes of 4 cores and 8 GiB each.
    pub fn defaults() -> Vec<NodeSpec> {
        (1..=2)
            .map(|i| NodeSpec {
                name: format!("sim-node-{i}"),
                cpu_millis: 4000,
                memory_bytes: 8 << 30,
            })
            .collect()
    }

    /// The node's internal IP for its position `index`.
    pub fn ip(index: usize) -> String {
        format!("10.0.0.{}", index + 1)
    }

    /// The Node object, created at `now`.
    pub fn object(&self, index: usize, now: &str) -> Value {
        let resources = json!({"cpu": format!("{}m", self.cpu_millis), "memory": self.memory_bytes.to_string(), "pods": "110"});
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.name, "labels": {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "spec": {"podCIDR": format!("10.244.{index}.0/24")},
            "status": {
                "capacity": resources, "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
                "addresses": [{"type": "InternalIP", "address": Self::ip(index)}, {"type": "Hostname", "address": self.name}],
                "nodeInfo": {"kubeletVersion": "v1.35.0-sim", "kubeProxyVersion": "v1.35.0-sim", "containerRuntimeVersion": "sim://1", "operatingSystem": "linux", "architecture": "amd64",
                    "osImage": "vpa-sim", "kernelVersion": "sim", "machineID": "", "systemUUID": "", "bootID": ""},
            },
        })
    }
}

/// The scheduler's view of a Node object.
pub fn capacity_of(node: &Value) -> NodeCapacity {
    let get = |r: &str| {
        node.pointer(&format!("/status/allocatable/{r}"))
            .and_then(Value::as_str)
            .and_then(|q| {
                vpa_common::resources::amount(
                    r,
                    &k8s_openapi::apimachinery::pkg::api::resource::Quantity(q.to_string()),
                )
                .ok()
            })
            .unwrap_or(0)
    };
    NodeCapacity {
        name: crate::cluster::objects::meta(node, "name").to_string(),
        allocatable: Amounts {
            cpu_millis: get("cpu"),
            memory_bytes: get("memory"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_specs_parse_and_round_trip_through_node_objects() {
        let spec: NodeSpec = "big:8:16Gi".parse().unwrap();
        assert_eq!(
            spec,
            NodeSpec {
                name: "big".into(),
                cpu_millis: 8000,
                memory_bytes: 16 << 30
            }
        );
        let cap = capacity_of(&spec.object(0, "2026-01-01T00:00:00Z"));
        assert_eq!(
            (cap.allocatable.cpu_millis, cap.allocatable.memory_bytes),
            (8000, 16 << 30)
        );
        assert!("big:8".parse::<NodeSpec>().is_err());
        assert!("big:lots:1Gi".parse::<NodeSpec>().is_err());
    }
}
