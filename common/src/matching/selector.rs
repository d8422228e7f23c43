//! Label selector evaluation (pure): `matchLabels` plus `matchExpressions` with the operators
//! `In`, `NotIn`, `Exists` and `DoesNotExist`, as apimachinery's `LabelSelectorAsSelector`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A selector Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// An operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error("unknown label selector operator {0:?}")]
    UnknownOperator(String),
    /// `In`/`NotIn` with no values, or `Exists`/`DoesNotExist` with some.
    #[error("invalid values for operator {operator:?} on key {key:?}")]
    InvalidValues {
        /// The operator.
        operator: String,
        /// The label key.
        key: String,
    },
}

/// Whether `selector` selects an object with `labels`. An empty selector selects everything.
pub fn matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorError> {
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let mut all = labels_ok;
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default();
        let present = labels.get(&req.key);
        let invalid = || SelectorError::InvalidValues {
            operator: req.operator.clone(),
            key: req.key.clone(),
        };
        let ok = match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => return Err(invalid()),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(invalid()),
            "In" => present.is_some_and(|v| values.contains(v)),
            "NotIn" => present.is_none_or(|v| !values.contains(v)),
            "Exists" => present.is_some(),
            "DoesNotExist" => present.is_none(),
            other => return Err(SelectorError::UnknownOperator(other.to_string())),
        };
        all &= ok;
    }
    Ok(all)
}

/// A selector of exactly these labels (`matchLabels`), as for a ReplicationController's or a
/// CronJob template's labels.
pub fn from_labels(labels: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        match_expressions: None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: op.into(),
                values: (!values.is_empty())
                    .then(|| values.iter().map(|s| s.to_string()).collect()),
            }]),
        }
    }

    #[test]
    fn match_labels_need_every_pair() {
        let sel = from_labels(&labels(&[("app", "web"), ("tier", "fe")]));
        assert!(matches(&sel, &labels(&[("app", "web"), ("tier", "fe"), ("x", "y")])).unwrap());
        assert!(!matches(&sel, &labels(&[("app", "web")])).unwrap());
    }

    #[test]
    fn empty_selector_selects_everything() {
        assert!(matches(&LabelSelector::default(), &labels(&[])).unwrap());
    }

    #[test]
    fn expressions_follow_their_operator() {
        let pod = labels(&[("env", "prod")]);
        let cases = [
            (expr("env", "In", &["prod", "qa"]), true),
            (expr("env", "In", &["qa"]), false),
            (expr("env", "NotIn", &["qa"]), true),
            (expr("env", "NotIn", &["prod"]), false),
            (expr("other", "NotIn", &["prod"]), true),
            (expr("env", "Exists", &[]), true),
            (expr("other", "Exists", &[]), false),
            (expr("env", "DoesNotExist", &[]), false),
            (expr("other", "DoesNotExist", &[]), true),
        ];
        for (sel, want) in cases {
            assert_eq!(matches(&sel, &pod).unwrap(), want, "{sel:?}");
        }
    }

    #[test]
    fn malformed_expressions_are_errors() {
        let pod = labels(&[]);
        assert!(matches(&expr("a", "In", &[]), &pod).is_err());
        assert!(matches(&expr("a", "Exists", &["x"]), &pod).is_err());
        assert!(matches(&expr("a", "Gt", &["1"]), &pod).is_err());
    }
}
