//! The flags every component shares, as one clap group (edge: clap in, plain settings out):
//! `--kubeconfig`, `--address` of the admin server, `--kube-api-qps/-burst`, `--profiling`,
//! the namespace flags (into a [`NamespaceFilter`]), `--feature-gates` and klog's flags.
//!
//! Names and help are stated here once; what differs between the binaries (the admin port, the
//! environment variables the recommender also reads, and when a bad value is refused) is stated
//! by each binary's [`Component`] marker. Binaries parse through [`crate::go_flags`], so upstream's
//! spellings (`--vpa_object_namespace`, `--profiling=F`) are accepted for these flags too.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::net::SocketAddr;

use clap::builder::{Resettable, ValueParser};
use clap::{ArgAction, Args, Id};

use crate::client::{ClientError, ThrottleFlags};
use crate::features::FeatureGates;
use crate::logging::KlogFlags;
use crate::policy::NamespaceFilter;

/// What one binary's shared flags differ in.
pub trait Component: Clone + Debug + Send + Sync + 'static {
    /// Default `--address` of the admin server (upstream's port of this component).
    const ADMIN_ADDRESS: &'static str;
    /// An environment variable `--address` is also read from.
    const ADMIN_ADDRESS_ENV: Option<&'static str> = None;
    /// An environment variable `--vpa-object-namespace` is also read from.
    const NAMESPACE_ENV: Option<&'static str> = None;
    /// Whether clap itself refuses `--vpa-object-namespace` with
    /// `--ignored-vpa-object-namespaces`; otherwise [`ComponentFlags::namespaces`] does.
    const NAMESPACE_CONFLICT_AT_PARSE: bool = true;
    /// Whether clap itself refuses a bad `--feature-gates`; otherwise
    /// [`ComponentFlags::gates`] does.
    const GATES_CHECKED_AT_PARSE: bool = false;

    /// `--vpa-object-namespace`'s conflict, as clap takes it.
    fn namespace_conflict() -> Resettable<Id> {
        match Self::NAMESPACE_CONFLICT_AT_PARSE {
            true => Resettable::Value("ignored_vpa_object_namespaces".into()),
            false => Resettable::Reset,
        }
    }

    /// `--feature-gates`' parser: the text, checked first when asked.
    fn gates_parser() -> ValueParser {
        match Self::GATES_CHECKED_AT_PARSE {
            true => {
                ValueParser::new(|text: &str| FeatureGates::parse(text).map(|_| text.to_owned()))
            }
            false => ValueParser::string(),
        }
    }
}

/// The shared flags of component `C`.
#[derive(Args, Clone, Debug)]
pub struct ComponentFlags<C: Component> {
    /// Path to a kubeconfig; in-cluster configuration is used when empty.
    #[arg(long, env = "KUBECONFIG", default_value = "")]
    pub kubeconfig: String,
    /// Address of the plain-HTTP admin server (`/healthz`, `/metrics`; `:port` = all
    /// interfaces).
    #[arg(long, default_value = C::ADMIN_ADDRESS, env = C::ADMIN_ADDRESS_ENV)]
    pub address: String,
    /// `--kube-api-qps` and `--kube-api-burst`.
    #[command(flatten)]
    pub throttle: ThrottleFlags,
    /// Serve `/debug/pprof` (accepted for compatibility; nothing is served).
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub profiling: bool,
    /// Only handle VPAs in this namespace. Exclusive with --ignored-vpa-object-namespaces.
    #[arg(long, env = C::NAMESPACE_ENV, default_value = "", conflicts_with = C::namespace_conflict())]
    pub vpa_object_namespace: String,
    /// Comma-separated namespaces whose VPAs are ignored.
    #[arg(long, default_value = "")]
    pub ignored_vpa_object_namespaces: String,
    /// Feature gates `Name=bool,...` (alpha, all off by default): `InPlace`, `PerVPAConfig`,
    /// `CPUStartupBoost`, `NativeSidecar`, or `AllAlpha`; a gate a component has no use for
    /// changes nothing there.
    #[arg(long, default_value = "", value_parser = C::gates_parser())]
    pub feature_gates: String,
    /// klog's flags: `-v` and `--vmodule` set the log filter, the rest are accepted.
    #[command(flatten)]
    pub klog: KlogFlags,
    #[arg(skip)]
    component: PhantomData<C>,
}

/// `--vpa-object-namespace` and `--ignored-vpa-object-namespaces` were both given.
pub const NAMESPACE_CONFLICT: &str =
    "--vpa-object-namespace and --ignored-vpa-object-namespaces are mutually exclusive";

impl<C: Component> ComponentFlags<C> {
    /// Which VPAs are handled; an error when both namespace flags are set.
    pub fn namespaces(&self) -> Result<NamespaceFilter, String> {
        let only = Some(self.vpa_object_namespace.clone()).filter(|n| !n.is_empty());
        let ignored: Vec<String> = self
            .ignored_vpa_object_namespaces
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        if only.is_some() && !ignored.is_empty() {
            return Err(NAMESPACE_CONFLICT.into());
        }
        Ok(NamespaceFilter { only, ignored })
    }

    /// The feature gates; an error names an unknown gate or a bad value.
    pub fn gates(&self) -> Result<FeatureGates, String> {
        FeatureGates::parse(&self.feature_gates)
    }

    /// The admin server's address (`:port` = all interfaces).
    pub fn admin_address(&self) -> Result<SocketAddr, crate::admin::AdminError> {
        crate::admin::listen_address(&self.address).map_err(|source| {
            crate::admin::AdminError::Address {
                address: self.address.clone(),
                source,
            }
        })
    }

    /// Installs logging as the klog flags ask (see [`crate::logging::init_with`]).
    pub fn init_logging(&self) {
        crate::logging::init_with(&self.klog);
    }

    /// A client from `--kubeconfig` (or the usual places), throttled as the flags ask.
    pub async fn client(&self) -> Result<kube::Client, ClientError> {
        crate::client::connect(&self.kubeconfig, self.throttle.rate()).await
    }
}

#[cfg(test)]
mod tests;
