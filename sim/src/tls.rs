//! TLS material and kubeconfig: a fresh CA and a serving certificate for 127.0.0.1/localhost
//! (rcgen, ring), the rustls server config, and the kubeconfig a client needs. Edge.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The CA certificate and the server's certified key.
pub struct TlsMaterial {
    /// CA certificate, PEM.
    pub ca_pem: String,
    /// Server certificate, PEM.
    pub cert_pem: String,
    /// Server key, PEM (PKCS#8).
    pub key_pem: String,
}

impl TlsMaterial {
    /// Generates a CA and a serving certificate valid for localhost and 127.0.0.1.
    pub fn generate() -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "vpa-sim-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "vpa-sim");
        let cert = params.signed_by(&key, &issuer)?;
        Ok(TlsMaterial {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A rustls server config (ring) offering h2 and http/1.1.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(self.cert_pem.as_bytes())?];
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// A kubeconfig (YAML) for `server` with the CA and a bearer token, context `vpa-sim`.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str, namespace: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: vpa-sim\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: vpa-sim-admin\n  user:\n    token: {token}\ncontexts:\n- name: vpa-sim\n  context:\n    cluster: vpa-sim\n    user: vpa-sim-admin\n    namespace: {namespace}\ncurrent-context: vpa-sim\npreferences: {{}}\n"
    )
}
