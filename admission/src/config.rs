//! Command-line flags with upstream's names and defaults (spec §4.6), and their validation into a
//! plain [`Config`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{ArgAction, Parser};
use vpa_common::admin::listen_address;
use vpa_common::component::{Component, ComponentFlags};
use vpa_common::duration::parse_positive_duration;
use vpa_common::status_lease;

use crate::certs::{TlsOptions, Validity};
use crate::registration::{Registration, parse_labels};
use crate::validation::FeatureGates;

/// TLS mutating webhook that sets pod requests from the VPA recommendation at creation and
/// validates VerticalPodAutoscaler objects. It makes and rotates its own certificates (kept in a
/// Secret) unless certificate files are mounted, and registers itself.
#[derive(Parser, Debug, Clone)]
/// A flag given twice takes its last value, as Go's flag package does.
#[command(name = "vpa-admission-controller", version, args_override_self = true)]
pub struct Args {
    /// Port of the TLS webhook server.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// IP address the TLS webhook server listens on with --port (ours: upstream always listens
    /// on all interfaces, which the default keeps), e.g. 127.0.0.1 or ::.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// CA bundle file (PEM) registered as the webhook's caBundle when certificate files are used.
    #[arg(long, default_value = "/etc/tls-certs/caCert.pem")]
    pub client_ca_file: String,
    /// Serving certificate file (PEM). When it and the key exist, files are used instead of the Secret.
    #[arg(long, default_value = "/etc/tls-certs/serverCert.pem")]
    pub tls_cert_file: String,
    /// Serving private key file (PEM).
    #[arg(long, default_value = "/etc/tls-certs/serverKey.pem")]
    pub tls_private_key: String,
    /// With certificate files: re-read --tls-cert-file, --tls-private-key and --client-ca-file
    /// every 5 seconds and swap the served certificate (and the registered CA bundle) without a
    /// restart; connections already open keep theirs.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub reload_cert: bool,
    /// Allowed TLS 1.2 cipher suites, comma or colon separated Go names; empty = all. TLS 1.3 suites are always on.
    #[arg(long, default_value = "")]
    pub tls_ciphers: String,
    /// Minimum TLS version: tls1_2 or tls1_3.
    #[arg(long, default_value = "tls1_2")]
    pub min_tls_version: String,
    /// Name of the Service in front of the webhook, registered in the webhook configuration.
    #[arg(long, default_value = "vpa-webhook")]
    pub webhook_service: String,
    /// Address (with scheme) registered with --register-by-url.
    #[arg(long, default_value = "")]
    pub webhook_address: String,
    /// Port registered with --register-by-url.
    #[arg(long, default_value = "")]
    pub webhook_port: String,
    /// Timeout, seconds, kube-apiserver waits for the webhook.
    #[arg(long, default_value_t = 30)]
    pub webhook_timeout_seconds: i32,
    /// Register failurePolicy Fail instead of Ignore.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub webhook_failure_policy_fail: bool,
    /// Create or update the MutatingWebhookConfiguration and renew the status Lease.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub register_webhook: bool,
    /// Register the webhook by URL (--webhook-address:--webhook-port) instead of by Service.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub register_by_url: bool,
    /// Labels of the webhook configuration, "k1:v1,k2:v2".
    #[arg(long, default_value = "")]
    pub webhook_labels: String,
    /// Maximum amount of CPU that will be applied for a container with boost (a quantity,
    /// e.g. 4 or 1500m); unset, 0 or negative is no cap.
    #[arg(long, value_parser = parse_cpu_millis)]
    pub max_allowed_cpu_boost: Option<i64>,
    /// Secret holding the generated CA and serving certificate (ours; upstream's Secret name).
    #[arg(long, default_value = "vpa-tls-certs")]
    pub tls_secret_name: String,
    /// How often the certificate Secret is re-read and renewed when due (e.g. 1m).
    #[arg(long, default_value = "1m", value_parser = parse_positive_duration)]
    pub cert_refresh_interval: Duration,
    /// Name of the status Lease the updater checks.
    #[arg(long, default_value = status_lease::DEFAULT_NAME)]
    pub status_lease_name: String,
    /// Namespace of the status Lease (default: $NAMESPACE).
    #[arg(long, default_value = "")]
    pub status_lease_namespace: String,
    /// How often the status Lease is renewed.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub status_lease_update_interval: Duration,
    /// Namespace of the webhook Service, the Secret and the Lease.
    #[arg(long, env = "NAMESPACE", default_value = "kube-system")]
    pub namespace: String,
    /// The flags every component has (`--kubeconfig`, `--address` of /healthz, /readyz and
    /// /metrics, namespaces, gates, klog).
    #[command(flatten)]
    pub common: ComponentFlags<AdmissionFlags>,
}

/// What the admission controller's shared flags differ in: port 8944, and both namespace flags
/// together are refused by [`Args::into_config`] rather than while parsing.
#[derive(Clone, Debug)]
pub struct AdmissionFlags;

impl Component for AdmissionFlags {
    const ADMIN_ADDRESS: &'static str = ":8944";
    const NAMESPACE_CONFLICT_AT_PARSE: bool = false;
}

/// A CPU quantity flag (`4`, `1500m`) in millicores, rounded up, as upstream's
/// `resource.QuantityValue`; anything that is not a quantity is refused.
fn parse_cpu_millis(text: &str) -> Result<i64, String> {
    let q: vpa_common::quantity::Quantity = text.parse().map_err(|e| format!("{e}"))?;
    Ok(q.millis_ceil())
}

/// Default period of the certificate file poll with `--reload-cert`.
pub const DEFAULT_CERT_FILE_POLL: Duration = Duration::from_secs(5);

/// Where certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertSource {
    /// Generated and rotated here, stored in this Secret of `Config::namespace`.
    Secret(String),
    /// Upstream's mounted files, reloaded when `reload` is set.
    Files {
        /// Serving certificate chain.
        cert: String,
        /// Serving key.
        key: String,
        /// CA bundle to register.
        ca: String,
        /// Whether to watch the files.
        reload: bool,
    },
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Webhook listen address.
    pub webhook_addr: SocketAddr,
    /// Admin listen address.
    pub admin_addr: SocketAddr,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Certificate source.
    pub certs: CertSource,
    /// DNS names the generated serving certificate carries.
    pub dns_names: Vec<String>,
    /// Registration, when enabled.
    pub registration: Option<Registration>,
    /// Namespace of the Secret, Service and Lease.
    pub namespace: String,
    /// Status Lease name and namespace.
    pub lease: (String, String),
    /// Lease renewal period.
    pub lease_interval: Duration,
    /// Certificate Secret refresh period.
    pub cert_refresh: Duration,
    /// How often mounted certificate files are re-read with `--reload-cert` (5 s; not a flag,
    /// tests shorten it).
    pub cert_file_poll: Duration,
    /// Certificate lifetimes, renewal margins and the CA propagation delay (defaults; not flags,
    /// tests shorten them).
    pub cert_validity: Validity,
    /// Longest time a request body may take to arrive: `--webhook-timeout-seconds`, after which
    /// kube-apiserver gives up on the call anyway.
    pub body_timeout: Duration,
    /// Alpha features.
    pub gates: FeatureGates,
    /// `--max-allowed-cpu-boost` in millicores; `None` when unset or not positive (no cap).
    pub max_allowed_cpu_boost: Option<i64>,
    /// Restrict caches to this namespace.
    pub watch_namespace: Option<String>,
    /// Kubeconfig path, empty for in-cluster.
    pub kubeconfig: String,
    /// Client-side request limit (`--kube-api-qps`, `--kube-api-burst`), if any.
    pub throttle: Option<vpa_common::token_bucket::Rate>,
}

impl Args {
    /// Checks the flags; `files_exist` tells whether the certificate files are present.
    pub fn into_config(self, files_exist: bool) -> Result<Config, String> {
        let tls = TlsOptions::parse(&self.min_tls_version, &self.tls_ciphers)?;
        let gates = self.common.gates()?;
        let certs = if files_exist {
            CertSource::Files {
                cert: self.tls_cert_file.clone(),
                key: self.tls_private_key.clone(),
                ca: self.client_ca_file.clone(),
                reload: self.reload_cert,
            }
        } else {
            CertSource::Secret(self.tls_secret_name.clone())
        };
        let mut dns_names = crate::certs::service_dns_names(&self.webhook_service, &self.namespace);
        if self.register_by_url {
            let host = self
                .webhook_address
                .split("://")
                .last()
                .unwrap_or_default()
                .trim_end_matches('/');
            if !host.is_empty() {
                dns_names.insert(0, host.to_string());
            }
        }
        let namespaces = self.common.namespaces()?;
        let registration = self.register_webhook.then(|| Registration {
            namespace: self.namespace.clone(),
            service_name: self.webhook_service.clone(),
            register_by_url: self.register_by_url,
            webhook_address: self.webhook_address.clone(),
            webhook_port: self.webhook_port.clone(),
            timeout_seconds: self.webhook_timeout_seconds,
            failure_policy_fail: self.webhook_failure_policy_fail,
            ignored_namespaces: namespaces.ignored,
            vpa_object_namespace: self.common.vpa_object_namespace.clone(),
            labels: parse_labels(&self.webhook_labels),
        });
        let lease_ns = if self.status_lease_namespace.is_empty() {
            self.namespace.clone()
        } else {
            self.status_lease_namespace.clone()
        };
        Ok(Config {
            webhook_addr: SocketAddr::new(self.bind_address, self.port),
            admin_addr: listen_address(&self.common.address)
                .map_err(|e| format!("invalid listen address {:?}: {e}", self.common.address))?,
            tls,
            certs,
            dns_names,
            registration,
            lease: (self.status_lease_name.clone(), lease_ns),
            lease_interval: self.status_lease_update_interval,
            cert_refresh: self.cert_refresh_interval,
            cert_file_poll: DEFAULT_CERT_FILE_POLL,
            cert_validity: Validity::default(),
            body_timeout: Duration::from_secs(self.webhook_timeout_seconds.clamp(1, 30) as u64),
            gates,
            max_allowed_cpu_boost: self.max_allowed_cpu_boost.filter(|m| *m > 0),
            watch_namespace: namespaces.only,
            kubeconfig: self.common.kubeconfig.clone(),
            throttle: self.common.throttle.rate(),
            namespace: self.namespace,
        })
    }
}

#[cfg(test)]
mod upstream_flags;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(
            std::iter::once("vpa-admission-controller").chain(args.iter().copied()),
        )
        .unwrap()
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        assert_eq!(parse(&["--port=1", "--port=9443"]).port, 9443);
    }

    #[test]
    fn defaults_are_upstream_defaults() {
        let a = parse(&[]);
        assert_eq!(a.port, 8000);
        assert_eq!(a.common.address, ":8944");
        assert_eq!(a.webhook_timeout_seconds, 30);
        assert!(a.register_webhook && !a.register_by_url && !a.reload_cert);
        assert_eq!(a.status_lease_update_interval, Duration::from_secs(10));
        let c = a.into_config(false).unwrap();
        assert_eq!(c.certs, CertSource::Secret("vpa-tls-certs".into()));
        assert_eq!(c.admin_addr, "0.0.0.0:8944".parse().unwrap());
        assert_eq!(c.webhook_addr, "0.0.0.0:8000".parse().unwrap());
        assert_eq!(c.dns_names[0], "vpa-webhook.kube-system.svc");
        assert_eq!(c.body_timeout, Duration::from_secs(30));
        assert_eq!(c.cert_validity.ca_propagation, time::Duration::minutes(10));
        assert_eq!(c.throttle, None, "no client-side limit");
        let limited = parse(&["--kube-api-qps=50", "--kube-api-burst=20"]);
        let rate = limited.into_config(false).unwrap().throttle.unwrap();
        assert_eq!((rate.per_second, rate.burst), (50.0, 20));
        let short = parse(&["--webhook-timeout-seconds=5"]);
        assert_eq!(
            short.into_config(false).unwrap().body_timeout,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn go_style_bools_and_durations_parse() {
        let a = parse(&[
            "--register-webhook=false",
            "--reload-cert",
            "--v=4",
            "--stderrthreshold=info",
            "--status-lease-update-interval=1m30s",
        ]);
        assert!(!a.register_webhook && a.reload_cert);
        assert_eq!(a.status_lease_update_interval, Duration::from_secs(90));
        let c = a.into_config(true).unwrap();
        assert!(c.registration.is_none());
        assert!(matches!(c.certs, CertSource::Files { reload: true, .. }));
        assert_eq!(c.cert_file_poll, Duration::from_secs(5));
        let short = parse(&["--cert-refresh-interval=500ms"]);
        assert_eq!(short.cert_refresh_interval, Duration::from_millis(500));
        for bad in ["5x", "0s", ""] {
            let refused = Args::try_parse_from([
                "vpa-admission-controller".to_string(),
                format!("--cert-refresh-interval={bad}"),
            ]);
            assert!(refused.is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn webhook_listens_on_the_bind_address() {
        for (flag, want) in [
            ("--bind-address=127.0.0.1", "127.0.0.1:9443"),
            ("--bind-address=::1", "[::1]:9443"),
        ] {
            let c = parse(&[flag, "--port=9443"]).into_config(false).unwrap();
            assert_eq!(c.webhook_addr, want.parse().unwrap());
        }
        let refused =
            Args::try_parse_from(["vpa-admission-controller", "--bind-address=localhost"]);
        assert!(refused.is_err());
    }

    #[test]
    fn max_allowed_cpu_boost_is_a_cpu_quantity() {
        assert_eq!(
            parse(&[]).into_config(false).unwrap().max_allowed_cpu_boost,
            None
        );
        for (flag, millis) in [("4", Some(4000)), ("1500m", Some(1500)), ("0", None)] {
            let c = parse(&[&format!("--max-allowed-cpu-boost={flag}")])
                .into_config(false)
                .unwrap();
            assert_eq!(c.max_allowed_cpu_boost, millis, "{flag}");
        }
        for bad in ["", "four", "1x"] {
            let refused = Args::try_parse_from([
                "vpa-admission-controller".to_string(),
                format!("--max-allowed-cpu-boost={bad}"),
            ]);
            assert!(refused.is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn conflicting_namespace_flags_are_refused() {
        let a = parse(&[
            "--vpa-object-namespace=a",
            "--ignored-vpa-object-namespaces=b",
        ]);
        assert!(a.into_config(false).is_err());
        assert!(
            parse(&["--min-tls-version=tls1_0"])
                .into_config(false)
                .is_err()
        );
    }
}
