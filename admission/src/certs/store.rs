//! The certificate currently served, swappable at run time, and the rustls server configuration
//! that reads it on every handshake: a rotation affects new connections only, so no request in
//! flight is dropped.

use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::CertError;

/// The served certificate and the CA bundle that vouches for it.
#[derive(Debug, Default)]
pub struct CertStore {
    current: RwLock<Option<(Arc<CertifiedKey>, String)>>,
}

impl CertStore {
    /// An empty store; handshakes fail until [`CertStore::install`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a PEM chain and key and serves them from now on, with `ca_bundle` (PEM) as the CA
    /// bundle to register. Returns whether the CA bundle changed.
    pub fn install(
        &self,
        cert_chain_pem: &str,
        key_pem: &str,
        ca_bundle: &str,
    ) -> Result<bool, CertError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::Pem {
                what: "certificate",
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(CertError::Pem {
                what: "certificate",
                detail: "no CERTIFICATE block".into(),
            });
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| CertError::Pem {
                what: "private key",
                detail: e.to_string(),
            })?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key)?;
        let certified = Arc::new(CertifiedKey::new(certs, signing));
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        let ca_changed = slot.as_ref().is_none_or(|(_, ca)| ca != ca_bundle);
        *slot = Some((certified, ca_bundle.to_string()));
        Ok(ca_changed)
    }

    /// Whether a certificate is loaded.
    pub fn is_loaded(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The CA bundle (PEM) of the served certificate, if loaded.
    pub fn ca_bundle(&self) -> Option<String> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, ca)| ca.clone())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(k, _)| k.clone())
    }
}

/// TLS settings from the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Only TLS 1.3 (`--min-tls-version=tls1_3`); otherwise TLS 1.2 and 1.3.
    pub tls13_only: bool,
    /// Allowed TLS 1.2 cipher suites by their Go/IANA names (`--tls-ciphers`); empty means all.
    /// Unknown names are ignored; TLS 1.3 suites are always enabled, as in Go.
    pub ciphers: Vec<String>,
}

impl TlsOptions {
    /// Parses `--min-tls-version` and `--tls-ciphers` (comma or colon separated).
    pub fn parse(min_version: &str, ciphers: &str) -> Result<Self, String> {
        let tls13_only = match min_version {
            "" | "tls1_2" => false,
            "tls1_3" => true,
            other => {
                return Err(format!(
                    "invalid --min-tls-version {other:?}: use tls1_2 or tls1_3"
                ));
            }
        };
        let ciphers = ciphers
            .split([',', ':'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        Ok(Self {
            tls13_only,
            ciphers,
        })
    }
}

pub(super) fn suite_allowed(name: &str, wanted: &[String]) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == name || format!("{w}_SHA256") == name)
}

/// A rustls server configuration serving whatever `store` holds, offering HTTP/2 and HTTP/1.1.
pub fn server_config(
    store: Arc<CertStore>,
    options: &TlsOptions,
) -> Result<rustls::ServerConfig, CertError> {
    let mut provider: CryptoProvider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|s| {
        let name = format!("{:?}", s.suite());
        s.version() == &rustls::version::TLS13 || suite_allowed(&name, &options.ciphers)
    });
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
