//! The real control plane on loopback: etcd, kube-apiserver (RBAC, the default admission plugins,
//! an audit log), kube-controller-manager, kube-scheduler, the kwok controller with fake nodes, and
//! metrics-server behind `metrics.k8s.io`. Started in dependency order, each waited for; stopped in
//! reverse order when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use serde_json::Value;

use crate::audit;
use crate::binaries::KWOK_CONFIG;
use crate::manifests::{self, Credentials, NodeShape};
use crate::pki::Pki;
use crate::program::Program;

/// How long each step may take before start-up fails (a cold 2-core machine needs about 10 s for
/// the API server).
const STEP_TIMEOUT: Duration = Duration::from_secs(90);

/// What to start.
#[derive(Clone, Debug)]
pub struct Options {
    /// The folder with the programs (see [`crate::binaries`]).
    pub bin_dir: PathBuf,
    /// Where to keep certificates, logs, etcd's data and the kubeconfig; a temporary folder
    /// (removed on drop) when `None`.
    pub dir: Option<PathBuf>,
    /// How many fake nodes.
    pub nodes: usize,
    /// What each node offers.
    pub node_shape: NodeShape,
    /// Extra kube-apiserver flags (appended, so they win).
    pub apiserver_args: Vec<String>,
}

impl Options {
    /// Two nodes, programs from `bin_dir`, files in a temporary folder.
    pub fn new(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            dir: None,
            nodes: 2,
            node_shape: NodeShape::default(),
            apiserver_args: Vec::new(),
        }
    }
}

/// The loopback ports in use, each picked free at start.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// etcd's client port.
    pub etcd: u16,
    /// etcd's peer port.
    pub etcd_peer: u16,
    /// kube-apiserver's secure port.
    pub apiserver: u16,
    /// kube-controller-manager's secure (health and metrics) port.
    pub controller_manager: u16,
    /// kube-scheduler's secure port.
    pub scheduler: u16,
    /// The kwok controller's server: the fake kubelets' endpoint metrics-server scrapes.
    pub kwok: u16,
    /// metrics-server's secure port, which the aggregator proxies metrics.k8s.io to.
    pub metrics_server: u16,
}

impl Ports {
    fn pick() -> std::io::Result<Ports> {
        let p = vpa_sim::try_free_port;
        Ok(Ports {
            etcd: p()?,
            etcd_peer: p()?,
            apiserver: p()?,
            controller_manager: p()?,
            scheduler: p()?,
            kwok: p()?,
            metrics_server: p()?,
        })
    }
}

/// Errors starting the control plane; each says which step and, for a program that died, the end
/// of its log.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A file or process could not be made.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The certificates could not be made.
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    /// A program exited during start-up.
    #[error("{0}")]
    Exited(String),
    /// A step did not finish in time.
    #[error("timed out after {timeout:?} waiting for {what}; {detail}")]
    Timeout {
        /// The step.
        what: String,
        /// How long it was given.
        timeout: Duration,
        /// The last error seen.
        detail: String,
    },
    /// The API server answered an error.
    #[error("{what}: {source}")]
    Api {
        /// What was asked.
        what: String,
        /// The answer.
        source: kube::Error,
    },
}

/// A running control plane.
pub struct ControlPlane {
    /// Started programs, in start order.
    programs: Vec<Program>,
    /// The certificates.
    pub pki: Pki,
    /// The ports.
    pub ports: Ports,
    bin_dir: PathBuf,
    dir: PathBuf,
    /// The audit log read so far (a test asks for it again and again while the file grows).
    audit: std::sync::Mutex<audit::AuditReader>,
    _temp: Option<tempfile::TempDir>,
    started: Instant,
}

/// Waits until `check` returns `Ok(Some)`, failing when a program has died or after `timeout`.
async fn wait_for<T, F: std::future::Future<Output = Result<Option<T>, String>>>(
    programs: &mut [Program],
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> F,
) -> Result<T, StartError> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e,
        }
        for p in programs.iter_mut() {
            p.check_running().map_err(StartError::Exited)?;
        }
        if Instant::now() > deadline {
            return Err(StartError::Timeout {
                what: what.to_string(),
                timeout,
                detail: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl ControlPlane {
    /// Starts every program and waits until the cluster is usable: the API server ready, the
    /// nodes Ready, the `default` ServiceAccount made by the controller-manager, and the
    /// metrics.k8s.io APIService available. Prints one progress line per step to stderr.
    pub async fn start(opts: Options) -> Result<ControlPlane, StartError> {
        vpa_common::install_crypto_provider();
        let started = Instant::now();
        let (dir, temp) = match &opts.dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.canonicalize()?, None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("vpa-kube-").tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        for sub in ["logs", "etcd", "metrics-server"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let pki = Pki::create(&dir.join("pki"))?;
        let ports = Ports::pick()?;
        let mut cp = ControlPlane {
            programs: Vec::new(),
            pki,
            ports,
            bin_dir: opts.bin_dir.clone(),
            audit: std::sync::Mutex::new(audit::AuditReader::new(dir.join("audit.log"))),
            dir,
            _temp: temp,
            started,
        };
        std::fs::write(cp.kubeconfig_path(), cp.admin_kubeconfig())?;
        std::fs::write(cp.dir.join("audit-policy.yaml"), manifests::AUDIT_POLICY)?;

        cp.spawn("etcd", cp.etcd_args())?;
        let etcd = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.etcd));
        wait_for(&mut cp.programs, "etcd", STEP_TIMEOUT, || async move {
            Ok(tokio::net::TcpStream::connect(etcd).await.ok().map(|_| ()))
        })
        .await?;
        cp.progress("etcd is up");

        cp.spawn("kube-apiserver", cp.apiserver_args(&opts.apiserver_args))?;
        let client = cp.client_when_ready().await?;
        cp.progress("kube-apiserver is ready");

        cp.spawn("kube-controller-manager", cp.controller_manager_args())?;
        cp.spawn("kube-scheduler", cp.scheduler_args())?;
        cp.spawn("kwok", cp.kwok_args())?;
        cp.spawn("metrics-server", cp.metrics_server_args())?;
        for i in 0..opts.nodes {
            let node = manifests::node(&manifests::node_name(i), &opts.node_shape);
            apply(&client, &node).await?;
        }
        apply(&client, &manifests::metrics_server_service()).await?;
        apply(
            &client,
            &manifests::metrics_api_service(ports.metrics_server),
        )
        .await?;

        let nodes: Api<Node> = Api::all(client.clone());
        let want = opts.nodes;
        wait_for(
            &mut cp.programs,
            "the fake nodes to be Ready",
            STEP_TIMEOUT,
            || {
                let nodes = nodes.clone();
                async move {
                    let list = nodes
                        .list(&Default::default())
                        .await
                        .map_err(|e| e.to_string())?;
                    let ready = list.items.iter().filter(|n| node_ready(n)).count();
                    Ok((ready >= want).then_some(()))
                }
            },
        )
        .await?;
        cp.progress(&format!("{want} kwok nodes are Ready"));

        let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        wait_for(
            &mut cp.programs,
            "the default ServiceAccount (kube-controller-manager)",
            STEP_TIMEOUT,
            || {
                let sa = sa.clone();
                async move { sa.get_opt("default").await.map_err(|e| e.to_string()) }
            },
        )
        .await?;
        cp.progress("kube-controller-manager is running");

        let api_services = Api::<DynamicObject>::all_with(client.clone(), &api_service_resource());
        wait_for(
            &mut cp.programs,
            "APIService v1beta1.metrics.k8s.io to be Available (metrics-server)",
            STEP_TIMEOUT,
            || {
                let api_services = api_services.clone();
                async move {
                    let a = api_services
                        .get("v1beta1.metrics.k8s.io")
                        .await
                        .map_err(|e| e.to_string())?;
                    let available = a.data["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Available" && c["status"] == "True");
                    Ok(available.then_some(()))
                }
            },
        )
        .await?;
        cp.progress("metrics-server serves metrics.k8s.io");
        Ok(cp)
    }

    fn progress(&self, what: &str) {
        eprintln!(
            "[kube {:>5.1}s] {what}",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn spawn(&mut self, name: &str, args: Vec<String>) -> Result<(), StartError> {
        let binary = self.bin_dir.join(name);
        let p = Program::start(name, &binary, args, &self.dir.join("logs"))?;
        self.programs.push(p);
        Ok(())
    }

    async fn client_when_ready(&mut self) -> Result<kube::Client, StartError> {
        let kubeconfig = self.kubeconfig_path();
        let client = wait_for(
            &mut self.programs,
            "kube-apiserver /readyz",
            STEP_TIMEOUT,
            || {
                let kubeconfig = kubeconfig.clone();
                async move {
                    let client = admin_client(&kubeconfig).await.map_err(|e| e.to_string())?;
                    let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
                    match client.request_text(req).await {
                        Ok(body) if body.trim() == "ok" => Ok(Some(client)),
                        Ok(body) => Err(format!("/readyz: {body}")),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await?;
        Ok(client)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.ports.apiserver)
    }

    /// The admin kubeconfig (client certificate in `system:masters`).
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    fn admin_kubeconfig(&self) -> String {
        manifests::kubeconfig(
            &self.server(),
            &self.pki.file("ca.crt"),
            "vpa-kube",
            Credentials::ClientCert {
                cert: &self.pki.file("admin.crt"),
                key: &self.pki.file("admin.key"),
            },
        )
    }

    /// A kubeconfig for `server` that authenticates with `token` and trusts the cluster CA.
    pub fn token_kubeconfig(&self, token: &str) -> String {
        manifests::kubeconfig(
            &self.server(),
            &self.pki.file("ca.crt"),
            "vpa-kube",
            Credentials::Token(token),
        )
    }

    /// An admin client.
    pub async fn client(&self) -> Result<kube::Client, kube::Error> {
        admin_client(&self.kubeconfig_path()).await
    }

    /// Where the files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every request the API server has answered so far, from its audit log.
    pub fn audit_records(&self) -> Vec<vpa_sim::AuditRecord> {
        let mut reader = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        reader.read_new();
        reader.records().to_vec()
    }

    /// The end of every program's log (for a failing test's report).
    pub fn logs(&self, lines: usize) -> String {
        self.programs
            .iter()
            .map(|p| {
                format!(
                    "===== {} (last {lines} lines) =====\n{}\n",
                    p.name(),
                    p.log_tail(lines)
                )
            })
            .collect()
    }

    /// Stops every program, in reverse start order.
    pub fn stop(&mut self) {
        while let Some(mut p) = self.programs.pop() {
            p.stop();
        }
    }

    fn etcd_args(&self) -> Vec<String> {
        let client = format!("http://127.0.0.1:{}", self.ports.etcd);
        let peer = format!("http://127.0.0.1:{}", self.ports.etcd_peer);
        vec![
            "--name=vpa-kube".into(),
            format!("--data-dir={}", self.dir.join("etcd").display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=vpa-kube={peer}"),
            "--log-level=warn".into(),
            // Tests write quickly and briefly: no fsync per write is the usual test-etcd setting.
            "--unsafe-no-fsync=true".into(),
        ]
    }

    fn apiserver_args(&self, extra: &[String]) -> Vec<String> {
        let f = |n: &str| self.pki.file(n);
        let mut args = vec![
            format!("--etcd-servers=http://127.0.0.1:{}", self.ports.etcd),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={}", self.ports.apiserver),
            format!("--tls-cert-file={}", f("apiserver.crt")),
            format!("--tls-private-key-file={}", f("apiserver.key")),
            format!("--client-ca-file={}", f("ca.crt")),
            "--authorization-mode=Node,RBAC".into(),
            "--enable-admission-plugins=NodeRestriction".into(),
            "--allow-privileged=true".into(),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", f("sa.pub")),
            format!("--service-account-signing-key-file={}", f("sa.key")),
            // The loopback address may not be a Service endpoint: keep `kubernetes` endpoint-less.
            "--endpoint-reconciler-type=none".into(),
            format!("--requestheader-client-ca-file={}", f("front-proxy-ca.crt")),
            format!(
                "--requestheader-allowed-names={}",
                crate::pki::FRONT_PROXY_CLIENT
            ),
            "--requestheader-username-headers=X-Remote-User".into(),
            "--requestheader-group-headers=X-Remote-Group".into(),
            "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
            format!("--proxy-client-cert-file={}", f("front-proxy-client.crt")),
            format!("--proxy-client-key-file={}", f("front-proxy-client.key")),
            format!(
                "--audit-policy-file={}",
                self.dir.join("audit-policy.yaml").display()
            ),
            format!("--audit-log-path={}", self.dir.join("audit.log").display()),
            // Rotate only at 100 GB (0 is not "never": it is lumberjack's 100 MB, which a
            // benchmark writing 30,000 objects a loop reaches in minutes). The reader follows one
            // file and starts a shorter one from the top (see `AuditReader`).
            "--audit-log-maxsize=100000".into(),
            format!("--cert-dir={}", self.dir.join("pki").display()),
        ];
        args.extend(extra.iter().cloned());
        args
    }

    /// What kube-controller-manager and kube-scheduler share: the admin kubeconfig for the API
    /// and for delegated authentication and authorization, loopback serving on `port`, one
    /// replica, and a client throttle well above what a test cluster needs.
    fn control_loop_args(&self, port: u16) -> Vec<String> {
        let mut args = self.serving_args(port, "pki");
        args.extend([
            "--leader-elect=false".into(),
            "--kube-api-qps=200".into(),
            "--kube-api-burst=400".into(),
        ]);
        args
    }

    /// A Kubernetes server component's flags for the admin kubeconfig (its API client and its
    /// delegated authentication and authorization) and loopback serving on `port`, with its
    /// self-signed certificate in `cert_dir` (under the control plane's folder).
    fn serving_args(&self, port: u16, cert_dir: &str) -> Vec<String> {
        let kc = self.kubeconfig_path().display().to_string();
        vec![
            format!("--kubeconfig={kc}"),
            format!("--authentication-kubeconfig={kc}"),
            format!("--authorization-kubeconfig={kc}"),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", self.dir.join(cert_dir).display()),
        ]
    }

    fn controller_manager_args(&self) -> Vec<String> {
        let mut args = self.control_loop_args(self.ports.controller_manager);
        args.extend([
            format!(
                "--service-account-private-key-file={}",
                self.pki.file("sa.key")
            ),
            format!("--root-ca-file={}", self.pki.file("ca.crt")),
            // Each controller under its own ServiceAccount, as kubeadm runs it.
            "--use-service-account-credentials=true".into(),
        ]);
        args
    }

    fn scheduler_args(&self) -> Vec<String> {
        self.control_loop_args(self.ports.scheduler)
    }

    fn kwok_args(&self) -> Vec<String> {
        vec![
            format!("--kubeconfig={}", self.kubeconfig_path().display()),
            format!("--config={}", self.bin_dir.join(KWOK_CONFIG).display()),
            "--manage-all-nodes=true".into(),
            // Every node's Hostname address is localhost (kwok serves all of them) and none gets
            // an InternalIP, so metrics-server only ever dials loopback.
            "--node-name=localhost".into(),
            "--node-ip=".into(),
            format!("--node-port={}", self.ports.kwok),
            format!("--server-address=127.0.0.1:{}", self.ports.kwok),
            format!("--tls-cert-file={}", self.pki.file("kubelet.crt")),
            format!("--tls-private-key-file={}", self.pki.file("kubelet.key")),
            "--node-lease-duration-seconds=40".into(),
        ]
    }

    fn metrics_server_args(&self) -> Vec<String> {
        let mut args = self.serving_args(self.ports.metrics_server, "metrics-server");
        args.extend([
            "--kubelet-preferred-address-types=Hostname".into(),
            "--kubelet-use-node-status-port".into(),
            "--kubelet-insecure-tls".into(),
            "--metric-resolution=10s".into(),
            "--kubelet-request-timeout=5s".into(),
        ]);
        args
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a node's Ready condition is True.
fn node_ready(n: &Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn api_service_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk("apiregistration.k8s.io", "v1", "APIService"),
        "apiservices",
    )
}

/// An admin client from the kubeconfig file.
pub async fn admin_client(kubeconfig: &Path) -> Result<kube::Client, kube::Error> {
    let kc = Kubeconfig::read_from(kubeconfig).map_err(kube::Error::InferKubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(kube::Error::InferKubeconfig)?;
    kube::Client::try_from(config)
}

/// Server-side applies `obj` (one of the few kinds the control plane is set up with, named by its
/// apiVersion and kind; the resource is the kind's regular plural, which holds for those).
pub async fn apply(client: &kube::Client, obj: &Value) -> Result<(), StartError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = format!("{}s", kind.to_lowercase());
    let ar = ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(group, version, kind),
        &plural,
    );
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("vpa-kube-cluster").force(),
        &Patch::Apply(obj),
    )
    .await
    .map(|_| ())
    .map_err(|source| StartError::Api {
        what: format!("apply {kind} {name}"),
        source,
    })
}
