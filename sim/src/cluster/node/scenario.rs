//! Usage scenarios (pure): a YAML file given to the cluster that says which containers use what,
//! without touching their pods' annotations, in the model vocabulary of [`super::usage`].
//!
//! ```yaml
//! rules:
//!   - namespace: default            # optional: any namespace
//!     workload: Deployment/hamster  # optional: the pod's controller (a Deployment through its
//!                                   # ReplicaSet), `Kind/name`
//!     pod: hamster-                 # optional: a prefix of the pod's name
//!     container: hamster            # optional: every container
//!     cpu: ramp:100m:1:600          # optional: a usage model
//!     memory: growth:100Mi:10Ki     # optional
//! ```
//!
//! For each container and resource, the first rule that matches it and sets that resource
//! decides; a resource no rule sets comes from the pod's annotations, then the defaults. Errors
//! name the file's line and column and the field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::usage::{self, ContainerUsageModels, UsageModel};
use crate::cluster::controllers::workloads::HASH_LABEL;

/// A scenario file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("usage scenario line {line} column {column}: {field}: {message}")]
pub struct ScenarioError {
    /// 1-based line of the offending value (0 when unknown).
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Where in the document (`rules[1].cpu`), or `document` for a YAML error.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    namespace: Option<String>,
    workload: Option<Spanned<String>>,
    pod: Option<String>,
    container: Option<String>,
    cpu: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
}

/// One rule: what it matches (absent = anything) and the models it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Namespace.
    pub namespace: Option<String>,
    /// Controller as (kind, name).
    pub workload: Option<(String, String)>,
    /// Pod name prefix.
    pub pod_prefix: Option<String>,
    /// Container name.
    pub container: Option<String>,
    /// CPU model (cores).
    pub cpu: Option<UsageModel>,
    /// Memory model (bytes).
    pub memory: Option<UsageModel>,
}

/// The rules of a scenario file, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageScenario {
    /// First match wins, per resource.
    pub rules: Vec<Rule>,
}

fn located<T>(s: &Spanned<T>, field: String, message: String) -> ScenarioError {
    ScenarioError {
        line: s.referenced.line(),
        column: s.referenced.column(),
        field,
        message,
    }
}

impl UsageScenario {
    /// Parses a scenario document.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let file: File = serde_saphyr::from_str(text).map_err(|e| {
            let loc = e.location();
            ScenarioError {
                line: loc.map_or(0, |l| l.line()),
                column: loc.map_or(0, |l| l.column()),
                field: "document".into(),
                message: yaml_message(&e.to_string()),
            }
        })?;
        let mut rules = Vec::new();
        for (i, raw) in file.rules.into_iter().enumerate() {
            let model = |s: &Option<Spanned<String>>, name: &str| {
                s.as_ref()
                    .map(|s| {
                        s.value
                            .parse::<UsageModel>()
                            .map_err(|e| located(s, format!("rules[{i}].{name}"), e.to_string()))
                    })
                    .transpose()
            };
            let workload = raw
                .workload
                .as_ref()
                .map(|w| {
                    w.value
                        .split_once('/')
                        .filter(|(k, n)| !k.is_empty() && !n.is_empty() && !n.contains('/'))
                        .map(|(k, n)| (k.to_string(), n.to_string()))
                        .ok_or_else(|| {
                            located(
                                w,
                                format!("rules[{i}].workload"),
                                format!("{:?} is not KIND/NAME", w.value),
                            )
                        })
                })
                .transpose()?;
            rules.push(Rule {
                namespace: raw.namespace,
                workload,
                pod_prefix: raw.pod,
                container: raw.container,
                cpu: model(&raw.cpu, "cpu")?,
                memory: model(&raw.memory, "memory")?,
            });
        }
        Ok(UsageScenario { rules })
    }

    /// Reads and parses a scenario file; errors start with its path.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading usage scenario {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The models of `container` in `pod`: the scenario's first matching rule per resource, then
    /// the pod's annotations, then the defaults. Errors are those of the annotations.
    pub fn models_for(
        &self,
        pod: &Value,
        container: &str,
    ) -> Result<ContainerUsageModels, usage::UsageModelError> {
        let annotations: BTreeMap<String, String> = pod
            .pointer("/metadata/annotations")
            .cloned()
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or_default();
        let mut models = usage::models_for(&annotations, container)?;
        let owners = controllers_of(pod);
        let matching = || {
            self.rules
                .iter()
                .filter(|r| r.matches(pod, &owners, container))
        };
        if let Some(cpu) = matching().find_map(|r| r.cpu.clone()) {
            models.cpu = cpu;
        }
        if let Some(memory) = matching().find_map(|r| r.memory.clone()) {
            models.memory = memory;
        }
        Ok(models)
    }
}

/// The first line of a YAML error without its own `error: line L column C: ` prefix (the
/// location is reported separately) and without the source excerpt that follows.
fn yaml_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let bare = first.strip_prefix("error: ").unwrap_or(first);
    match bare.split_once(": ") {
        Some((loc, rest)) if loc.starts_with("line ") => rest.to_string(),
        _ => bare.to_string(),
    }
}

/// The pod's controller as (kind, name), and for a ReplicaSet named `<d>-<pod-template-hash>`
/// also the Deployment `<d>` that made it.
fn controllers_of(pod: &Value) -> Vec<(String, String)> {
    let Some(owner) = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
    else {
        return Vec::new();
    };
    let kind = owner["kind"].as_str().unwrap_or_default().to_string();
    let name = owner["name"].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    let hash = pod
        .pointer("/metadata/labels")
        .and_then(|l| l.get(HASH_LABEL))
        .and_then(Value::as_str);
    if kind == "ReplicaSet"
        && let Some(d) = hash.and_then(|h| name.strip_suffix(&format!("-{h}")))
    {
        out.push(("Deployment".to_string(), d.to_string()));
    }
    out.push((kind, name));
    out
}

impl Rule {
    fn matches(&self, pod: &Value, owners: &[(String, String)], container: &str) -> bool {
        let meta = |f: &str| {
            pod.pointer(&format!("/metadata/{f}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        self.namespace
            .as_deref()
            .is_none_or(|n| n == meta("namespace"))
            && self
                .pod_prefix
                .as_deref()
                .is_none_or(|p| meta("name").starts_with(p))
            && self.container.as_deref().is_none_or(|c| c == container)
            && self.workload.as_ref().is_none_or(|(kind, name)| {
                owners
                    .iter()
                    .any(|(k, n)| k.eq_ignore_ascii_case(kind) && n == name)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MI: f64 = 1024.0 * 1024.0;

    fn pod(ns: &str, name: &str, owner: (&str, &str), hash: &str, annotations: Value) -> Value {
        json!({"metadata": {"namespace": ns, "name": name, "labels": {HASH_LABEL: hash}, "annotations": annotations,
            "ownerReferences": [{"kind": owner.0, "name": owner.1, "controller": true}]}})
    }

    #[test]
    fn first_matching_rule_per_resource_wins_over_annotations() {
        let s = UsageScenario::parse(
            "rules:\n\
             - workload: Deployment/web\n  container: app\n  cpu: constant:2\n\
             - namespace: prod\n  pod: web-\n  cpu: constant:1\n  memory: constant:300Mi\n",
        )
        .unwrap();
        let web = pod(
            "prod",
            "web-h1-abcde",
            ("ReplicaSet", "web-h1"),
            "h1",
            json!({"sim.vpa.rs/memory": "constant:100Mi", "sim.vpa.rs/cpu": "constant:5"}),
        );
        let app = s.models_for(&web, "app").unwrap();
        assert_eq!(
            app.cpu,
            UsageModel::Constant(2.0),
            "rule 1 via the Deployment"
        );
        assert_eq!(
            app.memory,
            UsageModel::Constant(300.0 * MI),
            "rule 2 sets memory"
        );
        let sidecar = s.models_for(&web, "sidecar").unwrap();
        assert_eq!(sidecar.cpu, UsageModel::Constant(1.0));
        let elsewhere = pod(
            "dev",
            "web-h1-abcde",
            ("ReplicaSet", "other-h1"),
            "h1",
            json!({"sim.vpa.rs/cpu": "constant:5"}),
        );
        let other = s.models_for(&elsewhere, "app").unwrap();
        assert_eq!(
            other.cpu,
            UsageModel::Constant(5.0),
            "annotation when no rule matches"
        );
        assert_eq!(other.memory, usage::default_models().memory);
        let rs_only = pod("dev", "x", ("ReplicaSet", "web-h1"), "other", json!({}));
        assert_eq!(
            s.models_for(&rs_only, "app").unwrap().cpu,
            usage::default_models().cpu,
            "a ReplicaSet whose hash does not match is not the Deployment's"
        );
    }

    #[test]
    fn bad_files_name_the_line_and_field() {
        let e = UsageScenario::parse("rules:\n  - pod: a-\n    cpu: ramp:1:2\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "rules[0].cpu"), "{e}");
        assert!(e.message.contains("takes 3 argument"), "{e}");
        let e = UsageScenario::parse("rules:\n  - pod: a-\n  - workload: hamster\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "rules[1].workload"), "{e}");
        let e = UsageScenario::parse("rules:\n  - pod: a-\n    cpus: constant:1\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "document"), "{e}");
        assert!(e.message.starts_with("unknown field `cpus`"), "{e}");
        assert!(
            e.to_string().starts_with("usage scenario line 3 column"),
            "{e}"
        );
    }
}
