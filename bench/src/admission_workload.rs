//! The admission controller's benchmark workload (admission's `admission_load` bench and
//! versus-upstream): the AdmissionReview of a 3-container pod (requests and limits set) owned by
//! ReplicaSet `app-rs` of Deployment `app`, and, for a real webhook binary, that Deployment and a
//! VPA recommending all three containers seeded into the sim's store, plus the webhook's TLS files.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vpa_sim::GroupResource;
use vpa_sim::Store;
use vpa_sim::seed::DeploymentSeed;

/// The pod's containers, each recommended by the VPA.
pub const CONTAINERS: [&str; 3] = ["app", "proxy", "log"];
/// Namespace of the pod, its owners and the VPA.
pub const NAMESPACE: &str = "default";

/// The AdmissionReview (CREATE of a pod owned by ReplicaSet `app-rs` with uid `owner_uid`), with
/// the fields kube-apiserver fills in.
pub fn review(owner_uid: &str) -> Value {
    let containers: Vec<Value> = CONTAINERS
        .iter()
        .map(|c| json!({"name": c, "image": "i", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "200m", "memory": "200Mi"}}}))
        .collect();
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            // kube-apiserver always sends these; upstream's webhook dereferences requestKind.
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": NAMESPACE, "operation": "CREATE", "userInfo": {"username": "bench"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "app-", "namespace": NAMESPACE,
                "labels": {"app": "app"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-rs",
                "uid": owner_uid, "controller": true}]}, "spec": {"containers": containers}}
        }
    })
}

/// Seeds Deployment `app` with its ReplicaSet `app-rs` (no pods) and VPA `app-vpa` recommending
/// every container (target 250m / 200Mi); returns the ReplicaSet's uid for [`review`].
pub fn seed(store: &Store) -> String {
    let containers: Vec<Value> = CONTAINERS
        .iter()
        .map(|c| json!({"name": c, "image": "i"}))
        .collect();
    vpa_sim::seed::deployment(
        store,
        &DeploymentSeed {
            namespace: NAMESPACE,
            name: "app",
            pods: 0,
            containers: &Value::Array(containers),
            node: "node-0",
            started_at: "2026-01-01T00:00:00Z",
        },
    );
    let recommendations: Vec<Value> = CONTAINERS
        .iter()
        .map(|c| {
            json!({"containerName": c, "target": {"cpu": "250m", "memory": "200Mi"},
                "lowerBound": {"cpu": "200m", "memory": "150Mi"}, "upperBound": {"cpu": "1", "memory": "1Gi"}})
        })
        .collect();
    vpa_sim::seed::create(
        store,
        &GroupResource::new("autoscaling.k8s.io", "verticalpodautoscalers"),
        json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "metadata": {"name": "app-vpa", "namespace": NAMESPACE},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
                "updatePolicy": {"updateMode": "Recreate"}},
            "status": {"recommendation": {"containerRecommendations": recommendations}}}),
    );
    store
        .get(
            &GroupResource::new("apps", "replicasets"),
            NAMESPACE,
            "app-rs",
        )
        .map(|rs| rs.uid().to_string())
        .unwrap_or_default()
}

/// The webhook's TLS files as both admission controllers take them (`--client-ca-file`,
/// `--tls-cert-file`, `--tls-private-key`), and the CA for the load generator to trust.
pub struct TlsFiles {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// `caCert.pem`.
    pub ca_file: PathBuf,
    /// `serverCert.pem`, for `localhost` and 127.0.0.1.
    pub cert_file: PathBuf,
    /// `serverKey.pem`.
    pub key_file: PathBuf,
}

/// Generates a CA and a server certificate for `localhost` into `dir`.
pub fn write_tls_files(dir: &Path) -> anyhow::Result<TlsFiles> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vpa_webhook_ca");
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let cert = params.signed_by(&key, &issuer)?;
    let files = TlsFiles {
        ca_pem: ca.pem(),
        ca_file: dir.join("caCert.pem"),
        cert_file: dir.join("serverCert.pem"),
        key_file: dir.join("serverKey.pem"),
    };
    std::fs::write(&files.ca_file, &files.ca_pem)?;
    std::fs::write(&files.cert_file, cert.pem())?;
    std::fs::write(&files.key_file, key.serialize_pem())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_names_the_seeded_owner() {
        let store = Store::new(100, std::sync::Arc::new(chrono::Utc::now));
        vpa_sim::seed::namespace(&store, NAMESPACE);
        let uid = seed(&store);
        assert!(!uid.is_empty());
        let review = review(&uid);
        let owner = &review["request"]["object"]["metadata"]["ownerReferences"][0];
        assert_eq!(owner["uid"], uid.as_str());
        assert_eq!(owner["name"], "app-rs");
        assert_eq!(
            review["request"]["object"]["spec"]["containers"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn tls_files_are_pem() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_tls_files(dir.path()).unwrap();
        let cert = std::fs::read_to_string(&files.cert_file).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let key = std::fs::read_to_string(&files.key_file).unwrap();
        assert!(key.contains("PRIVATE KEY"));
        assert_eq!(
            std::fs::read_to_string(&files.ca_file).unwrap(),
            files.ca_pem
        );
    }
}
