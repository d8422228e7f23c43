//! Selectors of VPA targets outside the well-known kinds (e.g. Argo Rollouts or any custom
//! resource with a scale subresource), read from their scale subresource (`.status.selector`, a
//! label-selector string) and cached for ten minutes as upstream's scale cache keeps them fresh.
//! The recommender, updater and admission controller share it so that all three see the same
//! targets. Parsing the string is pure; fetching is the edge.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use tokio::time::Instant;

use crate::api::VerticalPodAutoscaler;
use crate::matching::WELL_KNOWN_KINDS;

/// How long a scale lookup is trusted.
pub const SCALE_FRESHNESS: Duration = Duration::from_secs(600);

/// Parses a label selector in query-parameter form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
pub fn parse_selector(text: &str) -> Result<LabelSelector, String> {
    let mut match_labels = BTreeMap::new();
    let mut expressions = Vec::new();
    let mut requirement = |key: &str, operator: &str, values: Option<Vec<String>>| {
        expressions.push(LabelSelectorRequirement {
            key: key.trim().to_owned(),
            operator: operator.to_owned(),
            values,
        });
    };
    for part in split_top_level(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("bad set in selector {text:?}"))?;
            Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
        };
        if let Some((key, rest)) = part.split_once(" notin ") {
            requirement(key, "NotIn", Some(set(rest)?));
        } else if let Some((key, rest)) = part.split_once(" in ") {
            requirement(key, "In", Some(set(rest)?));
        } else if let Some((key, value)) = part.split_once("!=") {
            requirement(key, "NotIn", Some(vec![value.trim().to_owned()]));
        } else if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
            match_labels.insert(key.trim().to_owned(), value.trim().to_owned());
        } else if let Some(key) = part.strip_prefix('!') {
            requirement(key, "DoesNotExist", None);
        } else if part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            requirement(part, "Exists", None);
        } else {
            return Err(format!("cannot parse selector {text:?} at {part:?}"));
        }
    }
    Ok(LabelSelector {
        match_labels: (!match_labels.is_empty()).then_some(match_labels),
        match_expressions: (!expressions.is_empty()).then_some(expressions),
    })
}

fn split_top_level(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// (namespace, apiVersion, kind, name) of a VPA target.
type TargetKey = (String, String, String, String);

/// Cached scale-subresource selectors.
pub struct ScaleCache {
    client: Client,
    entries: HashMap<TargetKey, (Instant, Result<LabelSelector, String>)>,
}

impl ScaleCache {
    /// An empty cache.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            entries: HashMap::new(),
        }
    }

    /// Looks up the targets of `vpas` outside the well-known kinds whose entry is missing, stale
    /// or failed; forgets targets no VPA names any more.
    pub async fn refresh(&mut self, vpas: Vec<Arc<VerticalPodAutoscaler>>) {
        let wanted: Vec<TargetKey> = vpas
            .iter()
            .filter(|v| !WELL_KNOWN_KINDS.contains(&v.spec.target_ref.kind.as_str()))
            .map(|v| {
                let t = &v.spec.target_ref;
                (
                    v.metadata.namespace.clone().unwrap_or_default(),
                    t.api_version.clone().unwrap_or_default(),
                    t.kind.clone(),
                    t.name.clone(),
                )
            })
            .collect();
        self.entries.retain(|k, _| wanted.contains(k));
        for key in wanted {
            // Answers are trusted for a while; failures are asked again on the next loop, so a
            // VPA created just before its target is served as soon as the target appears.
            let fresh = self
                .entries
                .get(&key)
                .is_some_and(|(at, answer)| answer.is_ok() && at.elapsed() < SCALE_FRESHNESS);
            if !fresh {
                let selector = fetch(self.client.clone(), key.clone()).await;
                if let Err(why) = &selector {
                    let (namespace, _, kind, name) = &key;
                    tracing::debug!(%namespace, %kind, %name, %why, "VPA target not resolvable");
                }
                self.entries.insert(key, (Instant::now(), selector));
            }
        }
    }

    /// Every cached answer as (namespace, kind, name, selector or why there is none).
    pub fn answers(
        &self,
    ) -> impl Iterator<Item = (&str, &str, &str, &Result<LabelSelector, String>)> {
        self.entries
            .iter()
            .map(|((namespace, _, kind, name), (_, selector))| {
                (namespace.as_str(), kind.as_str(), name.as_str(), selector)
            })
    }

    /// Whether some cached target of `kind` answered with a selector: the kind has a scale
    /// subresource, so it counts as a controller when walking a pod's owners.
    pub fn is_scalable(&self, kind: &str) -> bool {
        self.entries
            .iter()
            .any(|((_, _, k, _), (_, answer))| k == kind && answer.is_ok())
    }

    /// The cached selector of the target `kind` `namespace/name`, if it has one.
    pub fn selector(&self, namespace: &str, kind: &str, name: &str) -> Option<&LabelSelector> {
        self.answers()
            .find(|(ns, k, n, _)| *ns == namespace && *k == kind && *n == name)
            .and_then(|(_, _, _, answer)| answer.as_ref().ok())
    }
}

async fn fetch(
    client: Client,
    (namespace, api_version, kind, name): TargetKey,
) -> Result<LabelSelector, String> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (String::new(), api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &kind);
    let (resource, _) = kube::discovery::pinned_kind(&client, &gvk)
        .await
        .map_err(|e| format!("{kind} {api_version} is not served: {e}"))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
    let scale = api
        .get_scale(&name)
        .await
        .map_err(|e| format!("no scale subresource for {kind} {namespace}/{name}: {e}"))?;
    let selector = scale
        .status
        .and_then(|s| s.selector)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!("{kind} {namespace}/{name} has no selector in its scale subresource")
        })?;
    parse_selector(&selector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_strings_parse_into_labels_and_expressions() {
        let s = parse_selector(
            "app=web, tier==fe,env in (prod, qa),zone notin (z1),canary,!legacy,x!=y",
        )
        .unwrap();
        let labels = s.match_labels.unwrap();
        assert_eq!(labels["app"], "web");
        assert_eq!(labels["tier"], "fe");
        let ops: Vec<(String, String)> = s
            .match_expressions
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.operator))
            .collect();
        let ops: Vec<(&str, &str)> = ops.iter().map(|(k, o)| (k.as_str(), o.as_str())).collect();
        assert_eq!(
            ops,
            [
                ("env", "In"),
                ("zone", "NotIn"),
                ("canary", "Exists"),
                ("legacy", "DoesNotExist"),
                ("x", "NotIn")
            ]
        );
    }

    #[test]
    fn parsed_selector_selects_like_kubernetes() {
        let s = parse_selector("app=web,env in (prod,qa)").unwrap();
        let pod = |env: &str| {
            BTreeMap::from([
                ("app".to_string(), "web".to_string()),
                ("env".to_string(), env.to_string()),
            ])
        };
        assert!(crate::matching::selector_matches(&s, &pod("qa")).unwrap());
        assert!(!crate::matching::selector_matches(&s, &pod("dev")).unwrap());
        assert!(parse_selector("a in b").is_err());
        assert_eq!(parse_selector("").unwrap(), LabelSelector::default());
    }
}
