//! Self-registration (pure part): the MutatingWebhookConfiguration `vpa-webhook-config` as
//! upstream registers it (spec §4.2).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
    WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};

/// Name of the MutatingWebhookConfiguration.
pub const WEBHOOK_CONFIG_NAME: &str = "vpa-webhook-config";
/// Name of the one webhook in it.
pub const WEBHOOK_NAME: &str = "vpa.k8s.io";
/// Pods (and VPAs) labelled `vpa.k8s.io/webhook-ignore: "true"` are never sent to the webhook.
/// The admission controller's own pods carry it (deploy/ and the chart), so that with
/// `--webhook-failure-policy-fail` and no replica running, their replacements can still be
/// created: otherwise the API server would wait on the very webhook the new pods are to serve.
/// Upstream registers no objectSelector; this one matches every object without the label.
pub const WEBHOOK_IGNORE_LABEL: &str = "vpa.k8s.io/webhook-ignore";

/// How to register, from the flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registration {
    /// Namespace of the Service (`$NAMESPACE`).
    pub namespace: String,
    /// `--webhook-service`.
    pub service_name: String,
    /// `--register-by-url`.
    pub register_by_url: bool,
    /// `--webhook-address`.
    pub webhook_address: String,
    /// `--webhook-port`.
    pub webhook_port: String,
    /// `--webhook-timeout-seconds`.
    pub timeout_seconds: i32,
    /// `--webhook-failure-policy-fail`.
    pub failure_policy_fail: bool,
    /// `--ignored-vpa-object-namespaces`, split.
    pub ignored_namespaces: Vec<String>,
    /// `--vpa-object-namespace`.
    pub vpa_object_namespace: String,
    /// `--webhook-labels`, parsed.
    pub labels: BTreeMap<String, String>,
}

/// Parses `--webhook-labels` (`k1:v1,k2:v2`); any malformed entry gives no labels, as upstream.
pub fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        match item.split_once(':') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => return BTreeMap::new(),
        }
    }
    out
}

fn rule(group: &str, version: &str, resource: &str, operations: &[&str]) -> RuleWithOperations {
    RuleWithOperations {
        api_groups: Some(vec![group.to_string()]),
        api_versions: Some(vec![version.to_string()]),
        operations: Some(operations.iter().map(|s| s.to_string()).collect()),
        resources: Some(vec![resource.to_string()]),
        scope: None,
    }
}

fn object_selector() -> LabelSelector {
    LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: WEBHOOK_IGNORE_LABEL.into(),
            operator: "NotIn".into(),
            values: Some(vec!["true".into()]),
        }]),
    }
}

fn namespace_selector(reg: &Registration) -> Option<LabelSelector> {
    let requirement = |operator: &str, values: Vec<String>| LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "kubernetes.io/metadata.name".into(),
            operator: operator.into(),
            values: Some(values),
        }]),
    };
    let ignored: Vec<String> = reg
        .ignored_namespaces
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    if !ignored.is_empty() {
        Some(requirement("NotIn", ignored))
    } else if !reg.vpa_object_namespace.is_empty() {
        Some(requirement("In", vec![reg.vpa_object_namespace.clone()]))
    } else {
        None
    }
}

/// The configuration to create or replace, trusting `ca_bundle` (PEM).
pub fn webhook_configuration(reg: &Registration, ca_bundle: &str) -> MutatingWebhookConfiguration {
    let client_config = if reg.register_by_url {
        WebhookClientConfig {
            url: Some(format!("{}:{}", reg.webhook_address, reg.webhook_port)),
            ca_bundle: Some(ByteString(ca_bundle.as_bytes().to_vec())),
            service: None,
        }
    } else {
        WebhookClientConfig {
            url: None,
            ca_bundle: Some(ByteString(ca_bundle.as_bytes().to_vec())),
            service: Some(ServiceReference {
                namespace: reg.namespace.clone(),
                name: reg.service_name.clone(),
                path: None,
                port: None,
            }),
        }
    };
    let webhook = MutatingWebhook {
        name: WEBHOOK_NAME.into(),
        admission_review_versions: vec!["v1".into()],
        client_config,
        failure_policy: Some(
            if reg.failure_policy_fail {
                "Fail"
            } else {
                "Ignore"
            }
            .into(),
        ),
        side_effects: "None".into(),
        timeout_seconds: Some(reg.timeout_seconds),
        namespace_selector: namespace_selector(reg),
        object_selector: Some(object_selector()),
        rules: Some(vec![
            rule("", "v1", "pods", &["CREATE"]),
            rule(
                "autoscaling.k8s.io",
                "*",
                "verticalpodautoscalers",
                &["CREATE", "UPDATE"],
            ),
        ]),
        ..Default::default()
    };
    MutatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(WEBHOOK_CONFIG_NAME.into()),
            labels: (!reg.labels.is_empty()).then(|| reg.labels.clone()),
            ..Default::default()
        },
        webhooks: Some(vec![webhook]),
    }
}

/// The `caBundle` (PEM) of our webhook in a registered configuration; empty when it has none.
pub fn registered_ca_bundle(config: &MutatingWebhookConfiguration) -> String {
    config
        .webhooks
        .iter()
        .flatten()
        .find(|w| w.name == WEBHOOK_NAME)
        .and_then(|w| w.client_config.ca_bundle.as_ref())
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registration {
        Registration {
            namespace: "kube-system".into(),
            service_name: "vpa-webhook".into(),
            timeout_seconds: 30,
            ..Default::default()
        }
    }

    #[test]
    fn default_registration_matches_upstream() {
        let cfg = webhook_configuration(&reg(), "CA");
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(json["metadata"]["name"], "vpa-webhook-config");
        let w = &json["webhooks"][0];
        assert_eq!(w["name"], "vpa.k8s.io");
        assert_eq!(w["failurePolicy"], "Ignore");
        assert_eq!(w["sideEffects"], "None");
        assert_eq!(w["timeoutSeconds"], 30);
        assert_eq!(w["admissionReviewVersions"], serde_json::json!(["v1"]));
        assert_eq!(
            w["clientConfig"]["service"],
            serde_json::json!({"namespace": "kube-system", "name": "vpa-webhook"})
        );
        assert_eq!(w["clientConfig"]["caBundle"], "Q0E=");
        assert_eq!(w["rules"][0]["resources"], serde_json::json!(["pods"]));
        assert_eq!(w["rules"][0]["operations"], serde_json::json!(["CREATE"]));
        assert_eq!(
            w["rules"][1]["operations"],
            serde_json::json!(["CREATE", "UPDATE"])
        );
        assert!(w.get("namespaceSelector").is_none());
        assert_eq!(
            w["objectSelector"],
            serde_json::json!({"matchExpressions": [
                {"key": "vpa.k8s.io/webhook-ignore", "operator": "NotIn", "values": ["true"]}
            ]})
        );
    }

    #[test]
    fn url_registration_failure_policy_and_selectors_follow_flags() {
        let mut r = reg();
        r.register_by_url = true;
        r.webhook_address = "https://10.0.0.1".into();
        r.webhook_port = "8000".into();
        r.failure_policy_fail = true;
        r.ignored_namespaces = vec!["kube-system".into()];
        r.labels = parse_labels("team:autoscaling");
        let json = serde_json::to_value(webhook_configuration(&r, "CA")).unwrap();
        let w = &json["webhooks"][0];
        assert_eq!(w["clientConfig"]["url"], "https://10.0.0.1:8000");
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(
            w["namespaceSelector"]["matchExpressions"][0]["operator"],
            "NotIn"
        );
        assert_eq!(json["metadata"]["labels"]["team"], "autoscaling");
        r.ignored_namespaces.clear();
        r.vpa_object_namespace = "apps".into();
        let json = serde_json::to_value(webhook_configuration(&r, "CA")).unwrap();
        assert_eq!(
            json["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"],
            serde_json::json!(["apps"])
        );
    }

    #[test]
    fn registered_ca_bundle_reads_back_what_was_registered() {
        let cfg = webhook_configuration(&reg(), "PEM");
        assert_eq!(registered_ca_bundle(&cfg), "PEM");
        let mut other = cfg.clone();
        other.webhooks.as_mut().unwrap()[0].name = "other.example.com".into();
        assert_eq!(registered_ca_bundle(&other), "");
        assert_eq!(
            registered_ca_bundle(&MutatingWebhookConfiguration::default()),
            ""
        );
    }

    #[test]
    fn malformed_labels_give_none() {
        assert_eq!(parse_labels("a:b,c:d").len(), 2);
        assert!(parse_labels("a:b,broken").is_empty());
        assert!(parse_labels("").is_empty());
    }
}
