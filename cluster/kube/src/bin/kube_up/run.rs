//! The `kube-up` run (edge): its flags, the control plane with the resize stand-in, and the
//! optional walkthrough (deploy/ and the hamster), stopped on Ctrl-C.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::Parser;
use vpa_kube_cluster::deploy_overlay::{self, ComponentArgs, ComponentPorts, WebhookReach};
use vpa_kube_cluster::{ApiEndpoint, ControlPlane, Options, PodRunner, ResizeActuator, binaries};
use vpa_sim::cluster::Launcher;

/// Start a real Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager,
/// kube-scheduler, KWOK fake nodes, metrics-server) on 127.0.0.1, built from the pinned Go
/// modules in cluster/kube (the first build takes about 15 minutes).
#[derive(Parser, Debug)]
#[command(name = "kube-up")]
pub struct Args {
    /// Where to write the admin kubeconfig.
    #[arg(long, default_value = "vpa-kube.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Also run vpa-recommender, vpa-updater and vpa-admission-controller as the pods of deploy/
    /// (local processes under their ServiceAccounts' tokens) and apply examples/hamster.yaml.
    #[arg(long)]
    walkthrough: bool,
    /// How many fake nodes.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// Keep certificates, logs, etcd data and the audit log in this folder (default: a temporary
    /// one, removed at exit).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The folder of our binaries for --walkthrough (default: next to this program).
    #[arg(long)]
    vpa_bin_dir: Option<PathBuf>,
    /// Do not run cluster/kube/build; use what is in $VPA_KUBE_BIN (or /var/tmp/vpa-kube/bin).
    #[arg(long)]
    no_build: bool,
}

/// Starts the control plane (and the walkthrough), then waits for Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let bin = if args.no_build {
        let dir = binaries::bin_dir();
        if !binaries::all_present(&dir) {
            bail!(
                "--no-build: the programs are not all in {} (run cluster/kube/build)",
                dir.display()
            );
        }
        dir
    } else {
        tokio::task::spawn_blocking(binaries::ensure_built).await??
    };
    let mut opts = Options::new(bin.clone());
    opts.nodes = args.nodes;
    opts.dir = args.dir.clone();
    let cp = ControlPlane::start(opts).await?;
    std::fs::copy(cp.kubeconfig_path(), &args.kubeconfig_out)
        .with_context(|| format!("cannot write {}", args.kubeconfig_out.display()))?;
    let kubectl = bin.join("kubectl");
    let kc = args.kubeconfig_out.display().to_string();

    // KWOK ignores in-place resizes; this reports them done, as a kubelet would.
    let resizes = ResizeActuator::start(cp.client().await?);
    let runner = if args.walkthrough {
        Some(walkthrough(&cp, &args, &kubectl).await?)
    } else {
        None
    };
    eprintln!();
    eprintln!(
        "The control plane runs on {} (files in {}).",
        cp.server(),
        cp.dir().display()
    );
    eprintln!("Try:");
    eprintln!("  export KUBECONFIG={kc}");
    eprintln!("  {} get nodes", kubectl.display());
    eprintln!(
        "  {} top nodes        # metrics-server, from kwok's simulated usage",
        kubectl.display()
    );
    if runner.is_some() {
        eprintln!(
            "  {} get vpa -w       # the hamster's recommendation appears after a loop",
            kubectl.display()
        );
        eprintln!(
            "  {} get pods -o wide # Recreate mode: the updater replaces the hamster pods",
            kubectl.display()
        );
        eprintln!("Component logs are in {}/pods.", cp.dir().display());
    }
    eprintln!("Ctrl-C stops everything.");
    vpa_common::shutdown::termination().await;
    eprintln!("stopping");
    drop(runner);
    drop(resizes);
    drop(cp);
    Ok(())
}

/// deploy/ (by an overlay: free ports, webhook by URL, short loops) and the hamster.
async fn walkthrough(
    cp: &ControlPlane,
    args: &Args,
    kubectl: &PathBuf,
) -> anyhow::Result<PodRunner> {
    let bin_dir = match &args.vpa_bin_dir {
        Some(d) => d.clone(),
        None => vpa_sim::cluster::default_bin_dir().context("cannot find this program's folder")?,
    };
    for b in vpa_sim::cluster::BINARIES {
        if !bin_dir.join(b).is_file() {
            bail!(
                "{b} is not in {} (cargo build, or pass --vpa-bin-dir)",
                bin_dir.display()
            );
        }
    }
    let runner = PodRunner::start(
        cp.client().await?,
        ApiEndpoint {
            server: cp.server(),
            ca_file: cp.pki.file("ca.crt"),
        },
        Launcher {
            bin_dir,
            work_dir: cp.dir().join("pods"),
        },
    );
    let extra = ComponentArgs {
        recommender: vec!["--recommender-interval=15s".into()],
        updater: vec!["--updater-interval=15s".into()],
        admission: Vec::new(),
    };
    let overlay = deploy_overlay::write(
        cp.dir(),
        &deploy_overlay::repo_deploy_dir(),
        &ComponentPorts::pick(),
        &extra,
        WebhookReach::Url,
    )?;
    let kc = cp.kubeconfig_path();
    let run = |what: &[&str]| -> anyhow::Result<()> {
        let out = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&kc)
            .args(what)
            .output()?;
        if !out.status.success() {
            bail!(
                "kubectl {what:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
        Ok(())
    };
    run(&[
        "apply",
        "--server-side",
        "-k",
        &overlay.display().to_string(),
    ])?;
    let hamster = vpa_kube_cluster::binaries::cluster_dir().join("../../examples/hamster.yaml");
    run(&[
        "apply",
        "-n",
        "default",
        "-f",
        &hamster.display().to_string(),
    ])?;
    Ok(runner)
}
