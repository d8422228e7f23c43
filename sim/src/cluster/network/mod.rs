//! The cluster network: each process-backed pod's own loopback address and the ports moved off
//! it (`pod_network`), and Services reached as kube-proxy routes them (`services`: the pure
//! resolution over Endpoints, `service_proxy`: the edge that reads the store).

pub mod pod_network;
pub mod service_proxy;
pub mod services;
