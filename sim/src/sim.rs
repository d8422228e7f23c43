//! The in-process handle: start the server on loopback TLS, get a kubeconfig or a kube `Client`
//! (as admin or any identity), reach the store, faults, hooks and metrics, and shut down. Edge.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::api::{AdmissionHook, AuditRecord, Shared};
use crate::auth::{MASTERS, UserInfo};
use crate::faults::{FaultConfig, Faults};
use crate::resource::GroupResource;
use crate::store::{Clock, Store};
use crate::tls::{TlsMaterial, kubeconfig};

/// How to start a [`Sim`].
#[derive(Clone)]
pub struct SimOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where to write the admin kubeconfig; a temporary file when None.
    pub kubeconfig_out: Option<PathBuf>,
    /// How many events of each resource watches can resume from (as kube-apiserver's watch cache,
    /// per resource); older resourceVersions get 410 Gone.
    pub history_window: usize,
    /// Faults active from the start.
    pub faults: FaultConfig,
    /// BOOKMARK period for watches that allow them.
    pub bookmark_interval: Duration,
    /// The clock for timestamps (simulated time plugs in here).
    pub clock: Option<Clock>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: 0,
            kubeconfig_out: None,
            history_window: 20_000,
            faults: FaultConfig::default(),
            bookmark_interval: Duration::from_secs(5),
            clock: None,
        }
    }
}

/// Collects audit records (see [`Sim::record_requests`]).
#[derive(Clone, Default)]
pub struct AuditLog(Arc<Mutex<Vec<AuditRecord>>>);

impl AuditLog {
    /// Every record so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running simulated API server.
pub struct Sim {
    shared: Arc<Shared>,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    addr: SocketAddr,
    admin_token: String,
    ca_pem: String,
    kubeconfig_path: PathBuf,
    temp_dir: Option<PathBuf>,
}

fn bootstrap(store: &Store) {
    let ns = GroupResource::new("", "namespaces");
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let _ = store.create(&ns, false, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}), false);
    }
    let roles = GroupResource::new("rbac.authorization.k8s.io", "clusterroles");
    let _ = store.create(&roles, false, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cluster-admin"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]}), false);
}

impl Sim {
    /// Starts a server on 127.0.0.1 and writes its admin kubeconfig.
    pub async fn start(opts: SimOptions) -> anyhow::Result<Sim> {
        let clock = opts
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(chrono::Utc::now));
        let store = Store::new(opts.history_window, clock);
        bootstrap(&store);
        let shared = Arc::new(Shared::new(
            store,
            Faults::new(opts.faults.clone()),
            opts.bookmark_interval,
        ));
        let admin_token = shared.tokens.issue(UserInfo::new("admin", &[MASTERS]));
        let tls = TlsMaterial::generate()?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", opts.port))
            .context("binding the API port")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        *shared.address.write().unwrap_or_else(|e| e.into_inner()) = addr.to_string();
        let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.server_config()?);
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
        let app = crate::server::router(shared.clone());
        let task = tokio::spawn(server.serve(app.into_make_service()));
        let (kubeconfig_path, temp_dir) = match &opts.kubeconfig_out {
            Some(p) => (p.clone(), None),
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "vpa-sim-{}-{}",
                    std::process::id(),
                    fastrand::u64(..)
                ));
                std::fs::create_dir_all(&dir)?;
                (dir.join("kubeconfig"), Some(dir))
            }
        };
        let sim = Sim {
            shared,
            handle,
            task,
            addr,
            admin_token,
            ca_pem: tls.ca_pem,
            kubeconfig_path,
            temp_dir,
        };
        // Written whole, then renamed: a reader never sees half a kubeconfig.
        let partial = sim.kubeconfig_path.with_extension("partial");
        std::fs::write(&partial, sim.kubeconfig_for(&sim.admin_token))
            .context("writing the kubeconfig")?;
        std::fs::rename(&partial, &sim.kubeconfig_path).context("writing the kubeconfig")?;
        Ok(sim)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin kubeconfig file.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// A kubeconfig (YAML) that authenticates with `token`.
    pub fn kubeconfig_for(&self, token: &str) -> String {
        kubeconfig(&self.url(), &self.ca_pem, token, "default")
    }

    /// The CA certificate (PEM) that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The admin's bearer token (group system:masters).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The bearer token of a ServiceAccount (stable per account; RBAC applies).
    pub fn service_account_token(&self, namespace: &str, name: &str) -> String {
        self.shared.tokens.for_service_account(namespace, name)
    }

    /// A token for any user and groups.
    pub fn token_for_user(&self, name: &str, groups: &[&str]) -> String {
        self.shared.tokens.issue(UserInfo::new(name, groups))
    }

    /// A kube client as admin.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        self.client_for(&self.admin_token).await
    }

    /// A kube client authenticating with `token`.
    pub async fn client_for(&self, token: &str) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.config_for(token).await?)?)
    }

    /// The kube client configuration for `token`, to adjust (e.g. `default_retry`) before
    /// building a client.
    pub async fn config_for(&self, token: &str) -> anyhow::Result<kube::Config> {
        let kc = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_for(token))?;
        let opts = kube::config::KubeConfigOptions::default();
        Ok(kube::Config::from_custom_kubeconfig(kc, &opts).await?)
    }

    /// The shared server state (store, registry, tokens, hooks).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The object store (direct access for controllers and tests).
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Fault injection, changeable at run time.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Compacts the history: watches and continue tokens from older resourceVersions get 410.
    pub fn compact(&self) {
        self.shared.store.compact();
    }

    /// Drops every open watch, as an API server restart would.
    pub fn restart(&self) {
        self.shared.faults.restart();
    }

    /// Records every request from now on.
    pub fn record_requests(&self) -> AuditLog {
        let log = AuditLog::default();
        let sink = log.0.clone();
        self.shared
            .set_audit_hook(Some(Arc::new(move |r: &AuditRecord| {
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(r.clone())
            })));
        log
    }

    /// Adds an admission hook run on every create and update.
    pub fn add_admission_hook(&self, hook: Arc<dyn AdmissionHook>) {
        self.shared.add_admission_hook(hook);
    }

    fn put_metrics(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        mut obj: Value,
    ) -> anyhow::Result<()> {
        let gr = GroupResource::new("metrics.k8s.io", resource);
        let now = self.shared.store.now();
        obj["apiVersion"] = json!("metrics.k8s.io/v1beta1");
        obj["metadata"] = json!({"name": name, "namespace": namespace});
        obj["timestamp"] = json!(now);
        obj["window"] = json!("30s");
        let namespaced = !namespace.is_empty();
        if !namespaced {
            obj["metadata"]
                .as_object_mut()
                .map(|m| m.remove("namespace"));
        }
        match self.shared.store.get(&gr, namespace, name) {
            Some(_) => self
                .shared
                .store
                .update(&gr, namespace, name, obj, None, false)?,
            None => self.shared.store.create(&gr, namespaced, obj, false)?,
        };
        Ok(())
    }

    /// Sets a pod's metrics.k8s.io usage: `(container, cpu, memory)` quantities.
    pub fn set_pod_metrics(
        &self,
        namespace: &str,
        pod: &str,
        containers: &[(&str, &str, &str)],
    ) -> anyhow::Result<()> {
        let cs: Vec<Value> = containers
            .iter()
            .map(|(n, c, m)| json!({"name": n, "usage": {"cpu": c, "memory": m}}))
            .collect();
        self.put_metrics(
            "pods",
            namespace,
            pod,
            json!({"kind": "PodMetrics", "containers": cs}),
        )
    }

    /// Sets a node's metrics.k8s.io usage.
    pub fn set_node_metrics(&self, node: &str, cpu: &str, memory: &str) -> anyhow::Result<()> {
        self.put_metrics(
            "nodes",
            "",
            node,
            json!({"kind": "NodeMetrics", "usage": {"cpu": cpu, "memory": memory}}),
        )
    }

    /// Stops the server (dropping watches) and removes the temporary kubeconfig.
    pub async fn shutdown(self) {
        self.shared.faults.restart();
        self.handle
            .graceful_shutdown(Some(Duration::from_millis(200)));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
