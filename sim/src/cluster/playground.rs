//! `vpa-sim up`: the one-command local cluster (edge). Starts the API server, nodes and
//! controllers, applies `deploy/` and `examples/hamster.yaml` as a user would (with the real
//! `kubectl` when installed, else in-process), prints what to run next, and stops everything on
//! Ctrl-C or SIGTERM.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

use super::node::processes;
use super::{Cluster, ClusterOptions, NodeSpec, UsageScenario, clock};
use crate::sim::{Sim, SimOptions};

/// Flags of `vpa-sim up`.
#[derive(Parser, Debug, Clone)]
pub struct UpArgs {
    /// Port of the API server on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "VPA_SIM_PORT", default_value_t = 6443)]
    pub port: u16,
    /// Where to write the admin kubeconfig.
    #[arg(
        long,
        env = "VPA_SIM_KUBECONFIG_OUT",
        default_value = "vpa-sim.kubeconfig"
    )]
    pub kubeconfig_out: PathBuf,
    /// A node as NAME:CPU:MEMORY (e.g. node-1:4:8Gi); repeatable. Default: two 4-core 8Gi nodes.
    #[arg(long = "node")]
    pub nodes: Vec<NodeSpec>,
    /// How much faster than real time the simulation clock runs.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Port of the cAdvisor-style Prometheus page on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 9101)]
    pub metrics_port: u16,
    /// Webhook Service to a fixed local address, NAMESPACE/NAME=HOST:PORT (repeatable), instead
    /// of the ready endpoints of the Service (pod addresses).
    #[arg(long = "service")]
    pub services: Vec<ServiceMapping>,
    /// The kustomization to apply (empty: apply nothing).
    #[arg(long, default_value = "deploy")]
    pub deploy: PathBuf,
    /// Manifests applied after it (repeatable).
    #[arg(long = "example", default_value = "examples/hamster.yaml")]
    pub examples: Vec<PathBuf>,
    /// The kubectl to apply with; without one, manifests are applied in-process.
    #[arg(long, default_value = "kubectl")]
    pub kubectl: String,
    /// Where the vpa-recommender, vpa-updater and vpa-admission-controller binaries are (default:
    /// beside this executable); pods with their images run them. Without them they are simulated.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Simulate the VPA components even when their binaries are present.
    #[arg(long)]
    pub simulate_components: bool,
    /// A YAML file of usage models by namespace, workload, pod-name prefix and container (see
    /// `vpa_sim::cluster::UsageScenario`); they take precedence over pod annotations.
    #[arg(long)]
    pub usage_scenario: Option<PathBuf>,
}

/// `NAMESPACE/NAME=HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceMapping {
    /// `namespace/name`.
    pub service: String,
    /// Where it is reached.
    pub addr: SocketAddr,
}

impl std::str::FromStr for ServiceMapping {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (service, addr) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected NAMESPACE/NAME=HOST:PORT"))?;
        if service.split('/').count() != 2 {
            return Err(format!("{s:?}: the service must be NAMESPACE/NAME"));
        }
        let addr = addr.parse().map_err(|e| format!("{s:?}: {e}"))?;
        Ok(ServiceMapping {
            service: service.to_string(),
            addr,
        })
    }
}

fn kubectl_available(kubectl: &str) -> bool {
    std::process::Command::new(kubectl)
        .args(["version", "--client"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn kubectl_apply(
    kubectl: &str,
    kubeconfig: &Path,
    flag: &str,
    target: &Path,
) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", flag])
        .arg(target)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {kubectl}"))?;
    anyhow::ensure!(
        out.status.success(),
        "kubectl apply {flag} {} failed: {}",
        target.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The documents of a multi-document YAML text (empty documents skipped).
pub fn yaml_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).context("parsing YAML")?;
    Ok(docs.into_iter().filter(|d| d.is_object()).collect())
}

/// The objects of a kustomization as `kubectl kustomize` would list them for the simple cases
/// used here: `resources` files and directories, and `namespace`.
pub fn render_kustomization(dir: &Path) -> anyhow::Result<(Vec<Value>, Option<String>)> {
    let file = dir.join("kustomization.yaml");
    let k: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?,
    )?;
    let mut objects = Vec::new();
    for r in k["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let path = dir.join(r);
        if path.is_dir() {
            objects.extend(render_kustomization(&path)?.0);
        } else {
            objects.extend(yaml_documents(&std::fs::read_to_string(&path)?)?);
        }
    }
    Ok((objects, k["namespace"].as_str().map(String::from)))
}

/// Server-side applies `objects` (namespaced ones into `namespace` unless they name one).
pub async fn apply_objects(
    client: &kube::Client,
    objects: &[Value],
    namespace: Option<&str>,
) -> anyhow::Result<()> {
    for obj in objects {
        // Re-discover each time: a CRD applied just before adds kinds.
        let discovery = Discovery::new(client.clone()).run().await?;
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("unknown kind {api_version} {kind}"))?;
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .or(namespace)
                .unwrap_or("default");
            Api::namespaced_with(client.clone(), ns, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        api.patch(
            name,
            &PatchParams::apply("vpa-sim-up").force(),
            &Patch::Apply(obj),
        )
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
        tracing::info!(%kind, %name, "Applied");
    }
    Ok(())
}

async fn apply_all(args: &UpArgs, sim: &Sim) -> anyhow::Result<()> {
    let kubeconfig = sim.kubeconfig_path();
    let use_kubectl = kubectl_available(&args.kubectl);
    if !args.deploy.as_os_str().is_empty() {
        if use_kubectl {
            print!(
                "{}",
                kubectl_apply(&args.kubectl, kubeconfig, "-k", &args.deploy).await?
            );
        } else {
            let (objects, ns) = render_kustomization(&args.deploy)?;
            apply_objects(&sim.client().await?, &objects, ns.as_deref()).await?;
        }
    }
    for example in &args.examples {
        if use_kubectl {
            print!(
                "{}",
                kubectl_apply(&args.kubectl, kubeconfig, "-f", example).await?
            );
        } else {
            let objects = yaml_documents(&std::fs::read_to_string(example)?)?;
            apply_objects(&sim.client().await?, &objects, Some("default")).await?;
        }
    }
    Ok(())
}

/// Runs the playground until `shutdown` completes, then stops everything.
pub async fn run_until(args: UpArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    // A bad scenario file stops `up` before anything starts.
    let usage_scenario = match &args.usage_scenario {
        Some(path) => UsageScenario::load(path)?,
        None => Default::default(),
    };
    let sim = Sim::start(SimOptions {
        port: args.port,
        kubeconfig_out: Some(args.kubeconfig_out.clone()),
        clock: Some(clock::accelerated(args.speed)),
        ..Default::default()
    })
    .await?;
    let services: BTreeMap<String, SocketAddr> = args
        .services
        .iter()
        .map(|m| (m.service.clone(), m.addr))
        .collect();
    let nodes = if args.nodes.is_empty() {
        NodeSpec::defaults()
    } else {
        args.nodes.clone()
    };
    let node_count = nodes.len();
    let bin_dir = args.bin_dir.clone().or_else(processes::default_bin_dir);
    let launcher = bin_dir
        .filter(|d| {
            !args.simulate_components && processes::BINARIES.iter().all(|b| d.join(b).exists())
        })
        .map(|bin_dir| processes::Launcher {
            bin_dir,
            work_dir: args.kubeconfig_out.with_extension("d"),
        });
    let components = match &launcher {
        Some(l) => format!(
            "run from {} (logs in {})",
            l.bin_dir.display(),
            l.work_dir.display()
        ),
        None => "simulated (their binaries were not found; `cargo build` builds them)".to_string(),
    };
    let opts = ClusterOptions {
        usage_scenario,
        processes: launcher,
        nodes,
        interval: Duration::from_millis(200),
        metrics_port: Some(args.metrics_port),
        webhooks: true,
        services,
        process_second: Duration::from_secs(1),
    };
    let cluster = Cluster::start(&sim, opts).await?;
    let result = apply_all(&args, &sim).await;
    if let Err(e) = &result {
        eprintln!("vpa-sim up: {e:#}");
    } else {
        let kc = args.kubeconfig_out.display();
        let metrics = cluster
            .metrics_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!(
            "\nvpa-sim cluster ready at {} ({} nodes, clock x{}).\n\nNext:\n  kubectl --kubeconfig {kc} get pods -A\n  kubectl --kubeconfig {kc} get vpa -w\n  kubectl --kubeconfig {kc} top pods\n  kubectl --kubeconfig {kc} -n kube-system logs deploy/vpa-recommender\n  curl http://{metrics}/metrics\n\nThe VPA components are {components}; press Ctrl-C to stop.",
            sim.url(),
            node_count,
            args.speed
        );
        shutdown.await;
    }
    cluster.stop().await;
    sim.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_mappings_parse() {
        let m: ServiceMapping = "kube-system/vpa-webhook=127.0.0.1:8000".parse().unwrap();
        assert_eq!(m.service, "kube-system/vpa-webhook");
        assert_eq!(m.addr.port(), 8000);
        assert!(
            "vpa-webhook=127.0.0.1:8000"
                .parse::<ServiceMapping>()
                .is_err()
        );
        assert!("a/b=nowhere".parse::<ServiceMapping>().is_err());
    }

    #[test]
    fn the_repository_kustomization_renders_into_kube_system() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
        let (objects, ns) = render_kustomization(&deploy).unwrap();
        assert_eq!(ns.as_deref(), Some("kube-system"));
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert!(
            kinds.contains(&"CustomResourceDefinition") && kinds.contains(&"Deployment"),
            "{kinds:?}"
        );
    }
}
