//! The objects and files the control plane is set up with (pure): fake nodes, the metrics.k8s.io
//! registration of metrics-server, the audit policy and kubeconfigs.

use serde_json::{Value, json};

/// The label every fake node carries (`type=kwok`), as KWOK's own examples use.
pub const NODE_LABEL: (&str, &str) = ("type", "kwok");

/// What each fake node offers.
#[derive(Clone, Debug)]
pub struct NodeShape {
    /// CPU capacity, a quantity (`"16"`).
    pub cpu: String,
    /// Memory capacity, a quantity (`"64Gi"`).
    pub memory: String,
    /// Pod capacity.
    pub pods: u32,
}

impl Default for NodeShape {
    fn default() -> Self {
        NodeShape {
            cpu: "16".into(),
            memory: "64Gi".into(),
            pods: 110,
        }
    }
}

/// The name of the `i`-th fake node.
pub fn node_name(i: usize) -> String {
    format!("kwok-node-{i}")
}

/// A fake node for kwok to manage. It has no `status.addresses`: kwok then gives it only the
/// Hostname address `localhost`, so metrics-server scrapes the kwok controller on loopback (an
/// InternalIP would be dialled, and nothing outside 127.0.0.0/8 may be). The annotation tells
/// metrics-server the path kwok serves the node's resource metrics on.
pub fn node(name: &str, shape: &NodeShape) -> Value {
    let resources =
        json!({"cpu": shape.cpu, "memory": shape.memory, "pods": shape.pods.to_string()});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                NODE_LABEL.0: NODE_LABEL.1,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                "metrics.k8s.io/resource-metrics-path": format!("/metrics/nodes/{name}/metrics/resource"),
            },
        },
        "status": {"capacity": resources, "allocatable": resources},
    })
}

/// The Service metrics-server is reached through: an ExternalName of `localhost`, which the API
/// server's aggregator dials at the APIService's port (kwokctl does the same).
pub fn metrics_server_service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "metrics-server", "namespace": "kube-system", "labels": {"k8s-app": "metrics-server"}},
        "spec": {"type": "ExternalName", "externalName": "localhost"},
    })
}

/// The `v1beta1.metrics.k8s.io` APIService, served by metrics-server on `port` (its self-signed
/// certificate, so TLS verification is skipped, as its own manifests do).
pub fn metrics_api_service(port: u16) -> Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": {"k8s-app": "metrics-server"}},
        "spec": {
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": true,
            "service": {"name": "metrics-server", "namespace": "kube-system", "port": port},
        },
    })
}

/// The audit policy: every request at Metadata level (who did what to which object, and the
/// answer), once it is answered.
pub const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
";

/// How a kubeconfig's user authenticates.
pub enum Credentials<'a> {
    /// A client certificate and key (file paths).
    ClientCert {
        /// The certificate file.
        cert: &'a str,
        /// The key file.
        key: &'a str,
    },
    /// A bearer token (a ServiceAccount's).
    Token(&'a str),
}

/// A kubeconfig (JSON, which every client reads as YAML) for `server`, trusting the CA file
/// `ca_file`, with one context named `context`.
pub fn kubeconfig(server: &str, ca_file: &str, context: &str, user: Credentials<'_>) -> String {
    let user = match user {
        Credentials::ClientCert { cert, key } => {
            json!({"client-certificate": cert, "client-key": key})
        }
        Credentials::Token(token) => json!({"token": token}),
    };
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority": ca_file}}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    });
    serde_json::to_string_pretty(&config).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_have_no_address_and_say_where_their_metrics_are() {
        let n = node(&node_name(1), &NodeShape::default());
        assert_eq!(n["metadata"]["name"], "kwok-node-1");
        assert!(n["status"]["addresses"].is_null());
        assert_eq!(
            n["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"],
            "/metrics/nodes/kwok-node-1/metrics/resource"
        );
        assert_eq!(n["status"]["allocatable"]["cpu"], "16");
        assert_eq!(n["metadata"]["labels"]["type"], "kwok");
    }

    #[test]
    fn kubeconfigs_carry_the_credentials_they_are_given() {
        let k: Value = serde_json::from_str(&kubeconfig(
            "https://127.0.0.1:6443",
            "/pki/ca.crt",
            "kube",
            Credentials::Token("abc"),
        ))
        .unwrap();
        assert_eq!(k["users"][0]["user"]["token"], "abc");
        assert_eq!(
            k["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(k["current-context"], "kube");
        let k: Value = serde_json::from_str(&kubeconfig(
            "https://127.0.0.1:6443",
            "/pki/ca.crt",
            "kube",
            Credentials::ClientCert {
                cert: "/a.crt",
                key: "/a.key",
            },
        ))
        .unwrap();
        assert_eq!(k["users"][0]["user"]["client-key"], "/a.key");
    }

    #[test]
    fn metrics_api_points_at_the_external_name_service() {
        let a = metrics_api_service(4443);
        assert_eq!(a["spec"]["service"]["port"], 4443);
        assert_eq!(
            a["spec"]["service"]["name"],
            metrics_server_service()["metadata"]["name"]
        );
        assert_eq!(
            metrics_server_service()["spec"]["externalName"],
            "localhost"
        );
    }
}
