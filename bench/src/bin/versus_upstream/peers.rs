//! The binaries compared: ours, upstream with the same flags (its client throttle raised to ours'
//! level, as both get `--kube-api-qps`/`--kube-api-burst`), and upstream with its defaults.

use std::path::{Path, PathBuf};

use crate::args::{Args, Component};

/// Whose binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Ours (logs JSON lines with `LOG_FORMAT=json`).
    Ours,
    /// Upstream's 1.7.1.
    Upstream,
}

/// One configuration of one binary.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Row label.
    pub label: &'static str,
    /// Ours or upstream's.
    pub kind: Kind,
    /// The program.
    pub binary: PathBuf,
    /// Flags of this configuration, after the component's common flags.
    pub flags: Vec<String>,
}

/// Row label of ours.
pub const OURS: &str = "ours";
/// Row label of upstream with the same flags.
pub const UPSTREAM_SAME_FLAGS: &str = "upstream (same flags)";
/// Row label of upstream with its default client throttle.
pub const UPSTREAM_DEFAULTS: &str = "upstream (defaults)";

/// Where the binaries are.
pub struct Binaries {
    ours: PathBuf,
    upstream: PathBuf,
}

fn program(component: Component) -> &'static str {
    match component {
        Component::Recommender => "recommender",
        Component::Updater => "updater",
        Component::Admission => "admission-controller",
    }
}

/// Where this harness was built, which is where `cargo build --release` puts ours too.
fn release_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| vpa_e2e::repo_root().join("target/release"))
}

impl Binaries {
    /// From the flags, checking that every binary of `components` exists.
    pub fn locate(args: &Args) -> anyhow::Result<Binaries> {
        let b = Binaries {
            ours: args.ours_bin_dir.clone().unwrap_or_else(release_dir),
            upstream: args
                .upstream_bin_dir
                .clone()
                .unwrap_or_else(vpa_kube_cluster::binaries::bin_dir),
        };
        for c in &args.component {
            for (path, hint) in [
                (
                    b.ours(*c),
                    "cargo build --release -p vpa-recommender -p vpa-updater -p vpa-admission-controller",
                ),
                (b.upstream(*c), "cluster/kube/build vpa"),
            ] {
                anyhow::ensure!(
                    path.is_file(),
                    "{} is missing: run `{hint}`",
                    path.display()
                );
            }
        }
        Ok(b)
    }

    /// Our binary of `component`.
    pub fn ours(&self, component: Component) -> PathBuf {
        self.ours.join(format!("vpa-{}", program(component)))
    }

    /// Upstream's binary of `component`.
    pub fn upstream(&self, component: Component) -> PathBuf {
        self.upstream
            .join(format!("upstream-vpa-{}", program(component)))
    }

    /// The folder of upstream's binaries and the control plane's programs.
    pub fn upstream_dir(&self) -> &Path {
        &self.upstream
    }
}

/// Ours and upstream with the same raised throttle, then (when `with_defaults`) upstream with its
/// defaults.
pub fn peers(b: &Binaries, component: Component, args: &Args, with_defaults: bool) -> Vec<Peer> {
    let throttle = vec![
        format!("--kube-api-qps={}", args.kube_api_qps),
        format!("--kube-api-burst={}", args.kube_api_burst),
    ];
    let mut peers = vec![
        Peer {
            label: OURS,
            kind: Kind::Ours,
            binary: b.ours(component),
            flags: throttle.clone(),
        },
        Peer {
            label: UPSTREAM_SAME_FLAGS,
            kind: Kind::Upstream,
            binary: b.upstream(component),
            flags: throttle,
        },
    ];
    if with_defaults {
        peers.push(Peer {
            label: UPSTREAM_DEFAULTS,
            kind: Kind::Upstream,
            binary: b.upstream(component),
            flags: Vec::new(),
        });
    }
    peers
}

/// The order of round `round`: ours and upstream (same flags) swap places every round; the
/// defaults row, when present, always runs last (it runs fewer rounds).
pub fn round_order(peers: &[Peer], round: usize) -> Vec<&Peer> {
    let mut order: Vec<&Peer> = peers.iter().take(2).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order.extend(peers.iter().skip(2));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(label: &'static str) -> Peer {
        Peer {
            label,
            kind: Kind::Upstream,
            binary: PathBuf::new(),
            flags: Vec::new(),
        }
    }

    #[test]
    fn rounds_alternate_who_goes_first() {
        let peers = [
            peer(OURS),
            peer(UPSTREAM_SAME_FLAGS),
            peer(UPSTREAM_DEFAULTS),
        ];
        let labels = |r| {
            round_order(&peers, r)
                .iter()
                .map(|p| p.label)
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(0), [OURS, UPSTREAM_SAME_FLAGS, UPSTREAM_DEFAULTS]);
        assert_eq!(labels(1), [UPSTREAM_SAME_FLAGS, OURS, UPSTREAM_DEFAULTS]);
        assert_eq!(labels(2), labels(0));
    }
}
