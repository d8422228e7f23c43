//! Object name validation (pure), as the real API server checks `metadata.name` on create: a
//! lowercase RFC 1123 subdomain (at most 253 characters of `a-z`, `0-9`, `-` and `.`, starting and
//! ending with a letter or digit), the rule most kinds use; RBAC objects take any path segment
//! (`system:controller:job-controller`).

/// The API server's explanation, kept word for word so clients see the same error.
const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// `None` when `name` is a valid name for an object of API `group`, else the cause message for
/// `metadata.name`.
pub fn name_error(group: &str, name: &str) -> Option<String> {
    if group == "rbac.authorization.k8s.io" {
        let bad = name == "." || name == ".." || name.contains('/') || name.contains('%');
        return bad.then(|| {
            format!(
                "Invalid value: \"{name}\": may not be '.' or '..' and may not contain '/' or '%'"
            )
        });
    }
    subdomain_error(name)
}

/// `None` when `name` is a lowercase RFC 1123 subdomain, else the cause message.
pub fn subdomain_error(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!(
            "Invalid value: \"{name}\": must be no more than 253 characters"
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.starts_with(alnum)
            && label.ends_with(alnum)
            && label.chars().all(|c| alnum(c) || c == '-')
    });
    (!labels_ok).then(|| format!("Invalid value: \"{name}\": {SUBDOMAIN_RULE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_pass_and_everything_else_is_explained() {
        for ok in ["a", "hamster-vpa", "v1beta1.metrics.k8s.io", "x0-y.z9"] {
            assert_eq!(subdomain_error(ok), None, "{ok}");
        }
        for bad in ["Bad_Name", "-a", "a-", "a..b", "UPPER", ""] {
            let e = subdomain_error(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.starts_with(&format!("Invalid value: \"{bad}\"")), "{e}");
        }
        assert!(subdomain_error(&"a".repeat(254)).unwrap().contains("253"));
        assert_eq!(
            name_error("rbac.authorization.k8s.io", "vpa-rs:recommender"),
            None
        );
        assert!(name_error("rbac.authorization.k8s.io", "a/b").is_some());
        assert!(name_error("", "vpa-rs:recommender").is_some());
    }
}
