//! The control plane's certificates and keys (pure, made with rcgen), written as PEM files.
//!
//! Two CAs, as kubeadm makes them:
//! * the cluster CA signs the API server's serving certificate (SANs 127.0.0.1, localhost and the
//!   in-cluster names) and the admin client certificate (group `system:masters`), which the
//!   controller-manager, the scheduler, kwok and metrics-server use too;
//! * the front-proxy CA signs the certificate the API server presents to aggregated API servers
//!   (metrics-server), which then trust the `X-Remote-User` headers it sends.
//!
//! The service-account key pair signs ServiceAccount tokens. Keys are ECDSA P-256; certificates
//! keep rcgen's default validity (decades), since a test cluster lives minutes.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// The user of the admin client certificate (in group `system:masters`).
pub const ADMIN_USER: &str = "kube-admin";
/// The common name of the front-proxy client certificate, the only name metrics-server accepts
/// request headers from.
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";

/// Where the PEM files are.
#[derive(Clone, Debug)]
pub struct Pki {
    /// Folder holding every file below.
    pub dir: PathBuf,
}

/// One certificate and its key, PEM.
struct Pair {
    cert: String,
    key: String,
}

fn new_ca(common_name: &str) -> Result<(Pair, Issuer<'static, KeyPair>), rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    let pair = Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    };
    Ok((pair, Issuer::new(params, key)))
}

fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    common_name: &str,
    organization: Option<&str>,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<Pair, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        params.distinguished_name.push(DnType::OrganizationName, o);
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer)?;
    Ok(Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Errors making or writing the certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen failed.
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Pki {
    /// Makes every certificate and key and writes them into `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Pki, PkiError> {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| PkiError::Write { path, source })
        };
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let (ca_pair, ca) = new_ca("vpa-kube-cluster-ca")?;
        write("ca.crt", &ca_pair.cert)?;
        write("ca.key", &ca_pair.key)?;
        let serving = leaf(
            &ca,
            "kube-apiserver",
            None,
            &[
                "127.0.0.1",
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        write("apiserver.crt", &serving.cert)?;
        write("apiserver.key", &serving.key)?;
        let admin = leaf(
            &ca,
            ADMIN_USER,
            Some("system:masters"),
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        write("admin.crt", &admin.cert)?;
        write("admin.key", &admin.key)?;
        // kwok serves the fake kubelets' metrics over TLS; metrics-server skips verification.
        let kubelet = leaf(
            &ca,
            "kwok-kubelet",
            None,
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        write("kubelet.crt", &kubelet.cert)?;
        write("kubelet.key", &kubelet.key)?;
        let (fp_pair, fp_ca) = new_ca("vpa-kube-cluster-front-proxy-ca")?;
        write("front-proxy-ca.crt", &fp_pair.cert)?;
        let fp = leaf(
            &fp_ca,
            FRONT_PROXY_CLIENT,
            None,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        write("front-proxy-client.crt", &fp.cert)?;
        write("front-proxy-client.key", &fp.key)?;
        let sa = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        write("sa.key", &sa.serialize_pem())?;
        write("sa.pub", &sa.public_key_pem())?;
        Ok(Pki {
            dir: dir.to_path_buf(),
        })
    }

    /// The path of one of the files (`ca.crt`, `admin.key`, ...), as a string for a flag.
    pub fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The cluster CA, PEM.
    pub fn ca_pem(&self) -> std::io::Result<String> {
        std::fs::read_to_string(self.dir.join("ca.crt"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_written_as_pem_and_the_leaves_differ_from_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::create(dir.path()).unwrap();
        for f in [
            "ca.crt",
            "apiserver.crt",
            "apiserver.key",
            "admin.crt",
            "admin.key",
            "front-proxy-ca.crt",
            "front-proxy-client.crt",
            "front-proxy-client.key",
            "sa.key",
            "sa.pub",
            "kubelet.crt",
        ] {
            let text = std::fs::read_to_string(pki.file(f)).unwrap();
            assert!(text.starts_with("-----BEGIN "), "{f}: {text}");
        }
        let ca = std::fs::read_to_string(pki.file("ca.crt")).unwrap();
        let admin = std::fs::read_to_string(pki.file("admin.crt")).unwrap();
        assert_ne!(ca, admin);
        assert!(
            std::fs::read_to_string(pki.file("sa.pub"))
                .unwrap()
                .contains("PUBLIC KEY")
        );
    }
}
