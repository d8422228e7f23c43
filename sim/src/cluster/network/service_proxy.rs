//! Where a Service is reached, as kube-proxy routes it (edge: reads the store): a fixed address
//! given for it (`--service NAMESPACE/NAME=HOST:PORT`), else one of its ready endpoints in turn,
//! through the pods' [`PortMap`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::pod_network::PortMap;
use super::services::{self, ResolveError};
use crate::api::Shared;
use crate::resource::GroupResource;

/// Resolves Service ports to local addresses.
pub struct ServiceProxy {
    shared: Arc<Shared>,
    fixed: BTreeMap<String, SocketAddr>,
    ports: PortMap,
    turn: AtomicUsize,
}

impl ServiceProxy {
    /// A proxy over the Services and Endpoints in `shared`; `fixed` (`namespace/name` → address)
    /// takes precedence; pod addresses go through `ports`.
    pub fn new(shared: Arc<Shared>, fixed: BTreeMap<String, SocketAddr>, ports: PortMap) -> Self {
        ServiceProxy {
            shared,
            fixed,
            ports,
            turn: AtomicUsize::new(0),
        }
    }

    /// Where port `port` of Service `namespace/name` is served now (round robin over its ready
    /// endpoints).
    pub fn resolve(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
    ) -> Result<SocketAddr, ResolveError> {
        if let Some(addr) = self.fixed.get(&format!("{namespace}/{name}")) {
            return Ok(*addr);
        }
        let store = &self.shared.store;
        let service = store
            .get(&GroupResource::new("", "services"), namespace, name)
            .map(|o| o.value.clone())
            .ok_or_else(|| ResolveError::NoService(name.to_string()))?;
        let endpoints = store
            .get(&GroupResource::new("", "endpoints"), namespace, name)
            .map_or(Value::Null, |o| o.value.clone());
        let all = services::backends(&service, &endpoints, port)?;
        let pick = all[self.turn.fetch_add(1, Ordering::Relaxed) % all.len()];
        Ok(self.ports.translate(pick))
    }
}
