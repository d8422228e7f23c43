//! Least RBAC (issue 9): the three components run as pods of `deploy/` under their own
//! ServiceAccounts with deploy/'s RBAC enforced, every API request is recorded while they do their
//! normal work (recommendation, checkpoints and their garbage collection, evictions, webhook
//! registration, certificates, status and leader-election Leases), and then:
//! - every request of each component was allowed (its RBAC is enough), and
//! - every (apiGroup, resource, verb) of every rule of its ClusterRole and Role was used by at
//!   least one request of that identity (its RBAC is no more than needed), except the few rules in
//!   [`UNUSED_ALLOWED`], each with its reason.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use vpa_sim::AuditRecord;

use support::{Env, Options, identity, pod_names};

const COMPONENTS: [(&str, &str); 3] = [
    ("vpa-recommender", "deploy/rbac/recommender.yaml"),
    ("vpa-updater", "deploy/rbac/updater.yaml"),
    (
        "vpa-admission-controller",
        "deploy/rbac/admission-controller.yaml",
    ),
];

/// Rules (component, apiGroup, resource, verb) the RBAC keeps although this run does not use them.
const UNUSED_ALLOWED: &[(&str, &str, &str, &str)] = &[
    // All three read /scale to find the selector of targets of custom kinds; the hamster is a
    // Deployment, resolved from the watch caches.
    ("vpa-recommender", "*", "*/scale", "get"),
    ("vpa-updater", "*", "*/scale", "get"),
    ("vpa-admission-controller", "*", "*/scale", "get"),
    // In-place resize (updateMode InPlaceOrRecreate): the resize subresource and the annotation
    // patch after it. The walkthrough's VPA is in Recreate mode, so it only evicts.
    ("vpa-updater", "", "pods/resize", "patch"),
    ("vpa-updater", "", "pods", "patch"),
];

/// One grant: a verb on a resource of a group, maybe limited to names, in a namespace (a Role's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    group: String,
    resource: String,
    verb: String,
    names: Vec<String>,
    namespace: Option<String>,
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}.{}", self.verb, self.resource, self.group)?;
        if !self.names.is_empty() {
            write!(f, " names={:?}", self.names)?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        Ok(())
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// Every grant of the ClusterRoles and Roles in a component's RBAC file.
fn grants(file: &str) -> Vec<Grant> {
    let text = std::fs::read_to_string(vpa_e2e::repo_root().join(file)).unwrap();
    let mut out = Vec::new();
    for doc in vpa_e2e::yaml_documents(&text) {
        let namespace = match doc["kind"].as_str() {
            Some("ClusterRole") => None,
            Some("Role") => Some(
                doc["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("kube-system")
                    .to_string(),
            ),
            _ => continue,
        };
        for rule in doc["rules"].as_array().unwrap() {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        out.push(Grant {
                            group: group.clone(),
                            resource: resource.clone(),
                            verb,
                            names: strings(&rule["resourceNames"]),
                            namespace: namespace.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Whether `grant` covers request `r`, as the RBAC authorizer decides.
fn covers(grant: &Grant, r: &AuditRecord) -> bool {
    let resource = if r.subresource.is_empty() {
        r.resource.clone()
    } else {
        format!("{}/{}", r.resource, r.subresource)
    };
    let resource_ok = grant.resource == "*"
        || grant.resource == resource
        || grant
            .resource
            .strip_prefix("*/")
            .is_some_and(|sub| sub == r.subresource)
        || grant
            .resource
            .strip_suffix("/*")
            .is_some_and(|res| res == r.resource && !r.subresource.is_empty());
    (grant.group == "*" || grant.group == r.group)
        && resource_ok
        && (grant.verb == "*" || grant.verb == r.verb)
        && (grant.names.is_empty() || grant.names.contains(&r.name))
        && grant.namespace.as_ref().is_none_or(|ns| *ns == r.namespace)
}

fn describe(r: &AuditRecord) -> String {
    let sub = if r.subresource.is_empty() {
        String::new()
    } else {
        format!("/{}", r.subresource)
    };
    format!(
        "{} {}{}.{} ns={:?} name={:?}",
        r.verb, r.resource, sub, r.group, r.namespace, r.name
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_component_uses_exactly_its_rbac() {
    let opts = Options {
        recommender_args: vec![
            "--recommender-interval=3s".into(),
            "--checkpoints-gc-interval=3s".into(),
            // Not on in deploy/ (one replica), but its Lease rules are there for who turns it on.
            "--leader-elect".into(),
            "--leader-elect-retry-period=500ms".into(),
        ],
        updater_args: vec![
            "--updater-interval=3s".into(),
            "--leader-elect".into(),
            "--leader-elect-retry-period=500ms".into(),
        ],
        admission_args: vec!["--status-lease-update-interval=1s".into()],
    };
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.wait_components().await;
    // A checkpoint of a VPA that does not exist: the recommender's garbage collection deletes it.
    let orphan = json!({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscalerCheckpoint",
        "metadata": {"name": "gone-vpa-app", "namespace": "default"},
        "spec": {"vpaObjectName": "gone-vpa", "containerName": "app"}});
    let dir = tempfile::tempdir().unwrap();
    let orphan_file = dir.path().join("orphan.json");
    std::fs::write(&orphan_file, orphan.to_string()).unwrap();
    env.kubectl_ok(&["apply", "-f", orphan_file.to_str().unwrap()])
        .await;

    env.apply_hamster().await;
    let original = pod_names(&env.two_hamsters().await);
    env.wait_for_recommendation("a recommendation").await;
    env.eventually(
        "evictions and recreated pods",
        Duration::from_secs(40),
        || async {
            let pods = env.hamster_pods().await;
            (pods.len() == 2
                && pods
                    .iter()
                    .all(|p| !original.contains(p["metadata"]["name"].as_str().unwrap())))
            .then_some(())
        },
    )
    .await;
    env.eventually(
        "the hamster checkpoint written and the orphan deleted",
        Duration::from_secs(20),
        || async {
            let list = env
                .get_json(&["verticalpodautoscalercheckpoints", "-n", "default"])
                .await;
            let names: Vec<&str> = list["items"]
                .as_array()?
                .iter()
                .filter_map(|c| c["metadata"]["name"].as_str())
                .collect();
            (names.contains(&"hamster-vpa-hamster") && !names.contains(&"gone-vpa-app"))
                .then_some(())
        },
    )
    .await;

    // A restart of the admission controller over an unreadable certificate Secret: it writes new
    // certificates (update of the Secret) and re-registers over its existing configuration (update
    // of the MutatingWebhookConfiguration).
    let junk = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vpa-tls-certs", "namespace": "kube-system"},
        "data": {"junk": "anVuaw=="}});
    let junk_file = dir.path().join("junk.json");
    std::fs::write(&junk_file, junk.to_string()).unwrap();
    env.kubectl_ok(&["replace", "-f", junk_file.to_str().unwrap()])
        .await;
    env.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "kube-system",
        "-l",
        "app=vpa-admission-controller",
    ])
    .await;
    let admission = identity("vpa-admission-controller");
    env.eventually(
        "the restarted admission controller rewriting its Secret and webhook configuration",
        Duration::from_secs(30),
        || async {
            let records = env.audit_records();
            let updated = |resource: &str| {
                records.iter().any(|r| {
                    r.user == admission && r.verb == "update" && r.resource == resource && r.allowed
                })
            };
            (updated("secrets") && updated("mutatingwebhookconfigurations")).then_some(())
        },
    )
    .await;

    let records = env.audit_records();
    let mut failures = Vec::new();
    for (component, file) in COMPONENTS {
        let user = identity(component);
        let ours: Vec<&AuditRecord> = records.iter().filter(|r| r.user == user).collect();
        assert!(!ours.is_empty(), "no request from {user}");
        let denied: BTreeSet<String> = ours
            .iter()
            .filter(|r| !r.allowed)
            .map(|r| describe(r))
            .collect();
        for d in denied {
            failures.push(format!("{component}: denied: {d}"));
        }
        for grant in grants(file) {
            let used = ours.iter().any(|r| r.allowed && covers(&grant, r));
            let allowed_unused = UNUSED_ALLOWED.iter().any(|(c, g, res, v)| {
                *c == component && *g == grant.group && *res == grant.resource && *v == grant.verb
            });
            if !used && !allowed_unused {
                failures.push(format!("{component}: unused grant: {grant}"));
            }
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for r in &ours {
            seen.insert(describe(r));
        }
        eprintln!(
            "{component} requests:\n  {}",
            Vec::from_iter(seen).join("\n  ")
        );
    }
    assert!(
        failures.is_empty(),
        "RBAC mismatches:\n  {}",
        failures.join("\n  ")
    );
    env.shutdown().await;
}
