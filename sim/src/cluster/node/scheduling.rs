//! The simulated scheduler's decision (pure): bind a pod to the node with the most room for it,
//! or explain, like kube-scheduler, why no node fits.
//!
//! Effective pod requests follow Kubernetes: the larger of the sum over app containers and the
//! largest init container, per resource. Pods without requests take no room.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};

/// Requests or capacity of one pod or node: millicores and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// CPU, millicores.
    pub cpu_millis: i64,
    /// Memory, bytes.
    pub memory_bytes: i64,
}

impl Amounts {
    fn plus(self, o: Amounts) -> Amounts {
        Amounts {
            cpu_millis: self.cpu_millis + o.cpu_millis,
            memory_bytes: self.memory_bytes + o.memory_bytes,
        }
    }

    fn max(self, o: Amounts) -> Amounts {
        Amounts {
            cpu_millis: self.cpu_millis.max(o.cpu_millis),
            memory_bytes: self.memory_bytes.max(o.memory_bytes),
        }
    }
}

/// A schedulable node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCapacity {
    /// Node name.
    pub name: String,
    /// Allocatable CPU and memory.
    pub allocatable: Amounts,
}

/// Where a pod goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Bind to this node.
    Node(String),
    /// No node fits; the message is what kube-scheduler would put in the `Unschedulable` condition.
    Unschedulable(String),
}

fn container_requests(c: &Container) -> Amounts {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let get = |name: &str| {
        requests
            .and_then(|r| r.get(name))
            .and_then(|q| vpa_common::resources::amount(name, q).ok())
            .unwrap_or(0)
    };
    Amounts {
        cpu_millis: get("cpu"),
        memory_bytes: get("memory"),
    }
}

/// The pod's effective requests, as Kubernetes computes them: the containers and the native
/// sidecars (init containers with `restartPolicy: Always`, which keep running) add up; a plain
/// init container runs alone beside the sidecars started before it, so it only counts when that
/// is more.
pub fn pod_requests(pod: &Pod) -> Amounts {
    let Some(spec) = pod.spec.as_ref() else {
        return Amounts::default();
    };
    let mut sidecars = Amounts::default();
    let mut init = Amounts::default();
    for c in spec.init_containers.iter().flatten() {
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars.plus(container_requests(c));
        } else {
            init = init.max(container_requests(c).plus(sidecars));
        }
    }
    let app = spec
        .containers
        .iter()
        .map(container_requests)
        .fold(sidecars, Amounts::plus);
    app.max(init)
}

/// Chooses a node for a pod requesting `request`, given what is already requested on each node
/// (`used`, by node name). Prefers the node with the most free CPU, then memory, then name.
pub fn place(
    nodes: &[NodeCapacity],
    used: &BTreeMap<String, Amounts>,
    request: Amounts,
) -> Placement {
    let mut short_cpu = 0;
    let mut short_memory = 0;
    let mut best: Option<(&NodeCapacity, Amounts)> = None;
    for node in nodes {
        let u = used.get(&node.name).copied().unwrap_or_default();
        let free = Amounts {
            cpu_millis: node.allocatable.cpu_millis - u.cpu_millis,
            memory_bytes: node.allocatable.memory_bytes - u.memory_bytes,
        };
        let cpu_ok = request.cpu_millis <= free.cpu_millis;
        let mem_ok = request.memory_bytes <= free.memory_bytes;
        short_cpu += usize::from(!cpu_ok);
        short_memory += usize::from(!mem_ok);
        if cpu_ok && mem_ok {
            let better = best.is_none_or(|(_, f)| {
                (free.cpu_millis, free.memory_bytes) > (f.cpu_millis, f.memory_bytes)
            });
            if better {
                best = Some((node, free));
            }
        }
    }
    if let Some((node, _)) = best {
        return Placement::Node(node.name.clone());
    }
    let mut reasons = Vec::new();
    if short_cpu > 0 {
        reasons.push(format!("{short_cpu} Insufficient cpu"));
    }
    if short_memory > 0 {
        reasons.push(format!("{short_memory} Insufficient memory"));
    }
    if nodes.is_empty() {
        reasons.push("no nodes available to schedule pods".into());
    }
    Placement::Unschedulable(format!(
        "0/{} nodes are available: {}.",
        nodes.len(),
        reasons.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cpu: i64, mem_mi: i64) -> NodeCapacity {
        NodeCapacity {
            name: name.into(),
            allocatable: Amounts {
                cpu_millis: cpu,
                memory_bytes: mem_mi << 20,
            },
        }
    }

    fn req(cpu: i64, mem_mi: i64) -> Amounts {
        Amounts {
            cpu_millis: cpu,
            memory_bytes: mem_mi << 20,
        }
    }

    #[test]
    fn picks_the_node_with_most_room() {
        let nodes = [node("a", 2000, 4096), node("b", 2000, 4096)];
        let used: BTreeMap<String, Amounts> = [("a".to_string(), req(1500, 100))].into();
        assert_eq!(
            place(&nodes, &used, req(400, 100)),
            Placement::Node("b".into())
        );
    }

    #[test]
    fn explains_why_nothing_fits() {
        let nodes = [node("a", 1000, 1024), node("b", 4000, 512)];
        assert_eq!(
            place(&nodes, &BTreeMap::new(), req(2000, 800)),
            Placement::Unschedulable(
                "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.".into()
            )
        );
    }

    #[test]
    fn effective_requests_take_the_largest_init_container() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
                ],
                "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "1", "memory": "10Mi"}}}]
            }
        }))
        .unwrap();
        assert_eq!(pod_requests(&pod), req(1000, 50));
    }

    #[test]
    fn native_sidecars_add_to_the_containers_and_to_later_init_containers() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {
                "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}],
                "initContainers": [
                    {"name": "proxy", "restartPolicy": "Always",
                     "resources": {"requests": {"cpu": "50m", "memory": "100Mi"}}},
                    {"name": "init", "resources": {"requests": {"cpu": "10m", "memory": "200Mi"}}}
                ]
            }
        }))
        .unwrap();
        // Running: 100m + 50m and 50Mi + 100Mi; while init runs: 10m + 50m and 200Mi + 100Mi.
        assert_eq!(pod_requests(&pod), req(150, 300));
    }
}
