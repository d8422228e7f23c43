//! Service resolution as kube-proxy does it (pure): a Service port is served by the ready
//! addresses of the Service's Endpoints, on the endpoint port of the same name; the caller picks
//! one of them (round robin).

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

/// Why a Service port has no backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The Service does not exist.
    #[error("service \"{0}\" not found")]
    NoService(String),
    /// The Service has no port numbered so.
    #[error("service \"{0}\" has no port {1}")]
    NoPort(String, u16),
    /// No ready endpoint serves the port.
    #[error("no endpoints available for service \"{0}\"")]
    NoEndpoints(String),
}

/// The ready backends of port `port` of `service`, given its `endpoints` (Null when absent), in
/// the order of the Endpoints object.
pub fn backends(
    service: &Value,
    endpoints: &Value,
    port: u16,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let name = service["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let svc_port = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)))
        .ok_or_else(|| ResolveError::NoPort(name.clone(), port))?;
    let port_name = svc_port["name"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let ports: Vec<&Value> = subset["ports"].as_array().into_iter().flatten().collect();
        let target = ports
            .iter()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
            .or_else(|| (ports.len() == 1).then(|| &ports[0]))
            .and_then(|p| p["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok());
        let Some(target) = target else { continue };
        for a in subset["addresses"].as_array().into_iter().flatten() {
            if let Some(ip) = a["ip"].as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
                out.push(SocketAddr::new(ip, target));
            }
        }
    }
    if out.is_empty() {
        return Err(ResolveError::NoEndpoints(name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc() -> Value {
        json!({"metadata": {"name": "vpa-webhook", "namespace": "kube-system"},
            "spec": {"ports": [{"name": "webhook", "port": 443, "targetPort": "webhook"}]}})
    }

    #[test]
    fn ready_addresses_serve_the_named_target_port() {
        let ep = json!({"subsets": [{"ports": [{"name": "webhook", "port": 8000}],
            "addresses": [{"ip": "127.1.0.1"}, {"ip": "127.1.0.2"}], "notReadyAddresses": [{"ip": "127.1.0.3"}]}]});
        assert_eq!(
            backends(&svc(), &ep, 443).unwrap(),
            vec![
                "127.1.0.1:8000".parse().unwrap(),
                "127.1.0.2:8000".parse::<SocketAddr>().unwrap()
            ]
        );
    }

    #[test]
    fn no_ready_address_or_unknown_port_is_an_error() {
        let ep = json!({"subsets": [{"ports": [{"name": "webhook", "port": 8000}],
            "notReadyAddresses": [{"ip": "127.1.0.3"}]}]});
        assert_eq!(
            backends(&svc(), &ep, 443),
            Err(ResolveError::NoEndpoints("vpa-webhook".into()))
        );
        assert_eq!(
            backends(&svc(), &Value::Null, 443),
            Err(ResolveError::NoEndpoints("vpa-webhook".into()))
        );
        assert_eq!(
            backends(&svc(), &ep, 80),
            Err(ResolveError::NoPort("vpa-webhook".into(), 80))
        );
    }
}
