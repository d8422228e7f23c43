//! A real Kubernetes control plane on loopback for the tests and the playground, beside vpa-sim.
//!
//! The programs are the real ones, built from pinned Go modules by `cluster/kube/build`
//! (kube-apiserver, kube-controller-manager, kube-scheduler and kubectl v1.36.3, etcd v3.6.16, the
//! kwok controller v0.8.0, metrics-server v0.8.0). [`ControlPlane`] starts them as local
//! processes, bound to 127.0.0.1 only, with fake nodes that kwok keeps Ready and whose pods it
//! marks Running; [`PodRunner`] runs the pods of our own images as local processes, as a kubelet
//! would. `kube-up` (and `scripts/kube-up`) is the command-line face of both.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let bin = vpa_kube_cluster::binaries::ensure_built()?;
//! let cp = vpa_kube_cluster::ControlPlane::start(vpa_kube_cluster::Options::new(bin)).await?;
//! println!("KUBECONFIG={}", cp.kubeconfig_path().display());
//! # Ok(()) }
//! ```

pub mod audit;
pub mod binaries;
pub mod control_plane;
pub mod deploy_overlay;
pub mod manifests;
pub mod pki;
pub mod pod_runner;
pub mod program;
pub mod resize_actuator;

pub use control_plane::{ControlPlane, Options, Ports, StartError};
pub use pod_runner::{ApiEndpoint, PodRunner};
pub use resize_actuator::ResizeActuator;
