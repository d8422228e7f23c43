//! Where the real programs are: the folder `cluster/kube/build` writes, built first when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The programs the control plane runs, all in one folder.
pub const PROGRAMS: [&str; 7] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
    "metrics-server",
];

/// The file (in the binary folder) with the kwok controller's stages, metric and usage rules.
pub const KWOK_CONFIG: &str = "kwok-config.yaml";

/// Errors finding or building the programs.
#[derive(Debug, thiserror::Error)]
pub enum BinariesError {
    /// The build script could not run or failed.
    #[error("cluster/kube/build failed ({0}); run it by hand to see why")]
    Build(String),
    /// A program is still missing after the build.
    #[error("{0} is missing from {1} after cluster/kube/build")]
    Missing(String, PathBuf),
}

/// The repository's `cluster/kube` folder.
pub fn cluster_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The folder the build script writes to: `$VPA_KUBE_BIN`, or `/var/tmp/vpa-kube/bin`.
pub fn bin_dir() -> PathBuf {
    std::env::var_os("VPA_KUBE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/vpa-kube/bin"))
}

/// Whether every program and the kwok config are in `dir`.
pub fn all_present(dir: &Path) -> bool {
    PROGRAMS.iter().all(|p| dir.join(p).is_file()) && dir.join(KWOK_CONFIG).is_file()
}

/// Runs `cluster/kube/build` (which skips what is built already; the first build takes about
/// 15 minutes on 2 cores and prints its progress) and returns the binary folder.
pub fn ensure_built() -> Result<PathBuf, BinariesError> {
    build(
        &[],
        &PROGRAMS
            .iter()
            .copied()
            .chain([KWOK_CONFIG])
            .collect::<Vec<_>>(),
    )
}

/// Upstream VPA's programs, as `cluster/kube/build vpa` installs them.
pub const UPSTREAM_VPA: [&str; 3] = [
    "upstream-vpa-recommender",
    "upstream-vpa-updater",
    "upstream-vpa-admission-controller",
];

/// Runs `cluster/kube/build vpa` (upstream's VPA 1.7.1; about 2 minutes the first time, seconds
/// when built) and returns the binary folder.
pub fn ensure_upstream_vpa() -> Result<PathBuf, BinariesError> {
    build(&["vpa"], &UPSTREAM_VPA)
}

fn build(modules: &[&str], expect: &[&str]) -> Result<PathBuf, BinariesError> {
    let dir = bin_dir();
    let script = cluster_dir().join("build");
    let status = Command::new("bash")
        .arg(&script)
        .args(modules)
        .env("VPA_KUBE_BIN", &dir)
        .status()
        .map_err(|e| BinariesError::Build(format!("cannot run {}: {e}", script.display())))?;
    if !status.success() {
        return Err(BinariesError::Build(status.to_string()));
    }
    for p in expect {
        if !dir.join(p).is_file() {
            return Err(BinariesError::Missing(p.to_string(), dir));
        }
    }
    Ok(dir)
}
