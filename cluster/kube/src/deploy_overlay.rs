//! A kustomize overlay of the repository's `deploy/` for local runs, on either backend: each
//! component's flags replaced by free local ports plus the caller's, one admission-controller
//! replica (two would bind one webhook port here), and how the API server reaches the webhook.

use std::path::{Component, Path, PathBuf};

/// Local ports of the components (instead of the manifests' fixed ones).
#[derive(Clone, Copy, Debug)]
pub struct ComponentPorts {
    /// The admission controller's webhook (`--port`).
    pub webhook: u16,
    /// The recommender's admin server (`--address`).
    pub recommender: u16,
    /// The updater's admin server.
    pub updater: u16,
    /// The admission controller's admin server.
    pub admission: u16,
}

impl ComponentPorts {
    /// Free ports for all four.
    pub fn pick() -> ComponentPorts {
        ComponentPorts {
            webhook: vpa_sim::free_port(),
            recommender: vpa_sim::free_port(),
            updater: vpa_sim::free_port(),
            admission: vpa_sim::free_port(),
        }
    }
}

/// Extra flags of each component: appended to the overlay's own, and replacing an own flag of the
/// same name (`--address=:8942` lets every replica listen on its own pod address).
#[derive(Clone, Debug, Default)]
pub struct ComponentArgs {
    /// The recommender's.
    pub recommender: Vec<String>,
    /// The updater's.
    pub updater: Vec<String>,
    /// The admission controller's.
    pub admission: Vec<String>,
}

/// How the API server reaches the webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookReach {
    /// Through the `vpa-webhook` Service, as in a cluster (the sim routes Services to processes).
    Service,
    /// By URL, `https://127.0.0.1:<webhook port>` (`--register-by-url`): a real kube-apiserver
    /// dials a Service's ClusterIP, which nothing routes here, and Endpoints may not hold loopback
    /// addresses; a URL keeps the real TLS path (our certificate, our caBundle) without a network
    /// namespace or root.
    Url,
}

/// `to` relative to `from` (both absolute): kustomize refuses absolute resource paths.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        if let Component::Normal(p) = part {
            out.push(p);
        }
    }
    out
}

/// The kustomization text for `base` (relative to the overlay).
pub fn kustomization(
    base: &Path,
    ports: &ComponentPorts,
    extra: &ComponentArgs,
    reach: WebhookReach,
) -> String {
    let flag = |a: &str| a.split('=').next().unwrap_or_default().to_string();
    let patch = |name: &str, mut own: Vec<String>, extra: &[String]| {
        own.retain(|o| !extra.iter().any(|e| flag(e) == flag(o)));
        own.extend(extra.iter().cloned());
        format!(
            "- target: {{kind: Deployment, name: {name}}}\n  patch: |-\n    - op: replace\n      path: /spec/template/spec/containers/0/args\n      value: {}\n",
            serde_json::to_string(&own).expect("strings serialize")
        )
    };
    let mut admission = vec![
        format!("--port={}", ports.webhook),
        format!("--address=127.0.0.1:{}", ports.admission),
    ];
    if reach == WebhookReach::Url {
        admission.extend([
            "--register-by-url".to_string(),
            "--webhook-address=https://127.0.0.1".to_string(),
            format!("--webhook-port={}", ports.webhook),
        ]);
    }
    let mut text = format!("resources:\n- {}\npatches:\n", base.display());
    text += &patch(
        "vpa-recommender",
        vec![format!("--address=127.0.0.1:{}", ports.recommender)],
        &extra.recommender,
    );
    text += &patch(
        "vpa-updater",
        vec![format!("--address=127.0.0.1:{}", ports.updater)],
        &extra.updater,
    );
    text += &patch("vpa-admission-controller", admission, &extra.admission);
    text += "- target: {kind: Deployment, name: vpa-admission-controller}\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 1\n";
    text
}

/// Writes the overlay of `deploy_dir` into `<dir>/overlay` and returns that folder.
pub fn write(
    dir: &Path,
    deploy_dir: &Path,
    ports: &ComponentPorts,
    extra: &ComponentArgs,
    reach: WebhookReach,
) -> std::io::Result<PathBuf> {
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(&overlay)?;
    let base = relative(&overlay.canonicalize()?, &deploy_dir.canonicalize()?);
    std::fs::write(
        overlay.join("kustomization.yaml"),
        kustomization(&base, ports, extra, reach),
    )?;
    Ok(overlay)
}

/// The repository's `deploy/`.
pub fn repo_deploy_dir() -> PathBuf {
    crate::binaries::cluster_dir().join("../../deploy")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: ComponentPorts = ComponentPorts {
        webhook: 9443,
        recommender: 1,
        updater: 2,
        admission: 3,
    };

    #[test]
    fn url_registration_points_the_webhook_at_loopback() {
        let text = kustomization(
            Path::new("../deploy"),
            &PORTS,
            &ComponentArgs::default(),
            WebhookReach::Url,
        );
        assert!(
            text.contains(
                r#""--register-by-url","--webhook-address=https://127.0.0.1","--webhook-port=9443""#
            ),
            "{text}"
        );
        let service = kustomization(
            Path::new("../deploy"),
            &PORTS,
            &ComponentArgs::default(),
            WebhookReach::Service,
        );
        assert!(!service.contains("register-by-url"), "{service}");
        assert!(service.starts_with("resources:\n- ../deploy\n"));
    }

    #[test]
    fn extra_flags_follow_the_overlays_own() {
        let extra = ComponentArgs {
            recommender: vec!["--recommender-interval=5s".into()],
            ..Default::default()
        };
        let text = kustomization(Path::new("b"), &PORTS, &extra, WebhookReach::Service);
        assert!(
            text.contains(r#"["--address=127.0.0.1:1","--recommender-interval=5s"]"#),
            "{text}"
        );
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative(Path::new("/a/b/c"), Path::new("/a/d")),
            PathBuf::from("../../d")
        );
    }
}
