//! Authentication (bearer tokens per identity: the admin and one per ServiceAccount) and RBAC
//! authorization evaluated from the Roles, ClusterRoles and bindings in the store.

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::Value;

use crate::resource::GroupResource;
use crate::store::Store;

/// The group whose members may do anything.
pub const MASTERS: &str = "system:masters";

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User name, e.g. `system:serviceaccount:vpa-system:vpa-recommender`.
    pub name: String,
    /// Groups, including `system:authenticated`.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// A user with `system:authenticated` added to `groups`.
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        if !g.iter().any(|x| x == "system:authenticated") {
            g.push("system:authenticated".into());
        }
        UserInfo {
            name: name.into(),
            groups: g,
        }
    }

    /// The identity of a ServiceAccount.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        let ns_group = format!("system:serviceaccounts:{namespace}");
        UserInfo::new(
            &format!("system:serviceaccount:{namespace}:{name}"),
            &["system:serviceaccounts", &ns_group],
        )
    }

    /// Parses `system:serviceaccount:<ns>:<name>` (for impersonation) or takes a plain user.
    pub fn from_name(name: &str, groups: &[String]) -> Self {
        if let Some(rest) = name.strip_prefix("system:serviceaccount:")
            && let Some((ns, sa)) = rest.split_once(':')
        {
            let mut u = Self::service_account(ns, sa);
            u.groups.extend(groups.iter().cloned());
            return u;
        }
        let g: Vec<&str> = groups.iter().map(String::as_str).collect();
        UserInfo::new(name, &g)
    }

    /// Whether the user is a cluster admin.
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }
}

/// Bearer tokens and whom they stand for.
#[derive(Default)]
pub struct Tokens {
    map: RwLock<HashMap<String, UserInfo>>,
}

fn random_token() -> String {
    (0..32).map(|_| fastrand::alphanumeric()).collect()
}

impl Tokens {
    /// Registers `user` under a new random token and returns it.
    pub fn issue(&self, user: UserInfo) -> String {
        let token = random_token();
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), user);
        token
    }

    /// The token of a ServiceAccount (the same on every call).
    pub fn for_service_account(&self, namespace: &str, name: &str) -> String {
        let user = UserInfo::service_account(namespace, name);
        if let Some((t, _)) = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, u)| **u == user)
        {
            return t.clone();
        }
        self.issue(user)
    }

    /// Who holds `token`.
    pub fn lookup(&self, token: &str) -> Option<UserInfo> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, ...).
    pub verb: String,
    /// API group.
    pub group: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource, e.g. `status`.
    pub subresource: String,
    /// Namespace, empty for cluster scope.
    pub namespace: String,
    /// Object name, empty for collections.
    pub name: String,
    /// For non-resource requests: the URL path.
    pub path: String,
}

fn contains(list: Option<&Value>, want: &str) -> bool {
    list.and_then(Value::as_array).is_some_and(|l| {
        l.iter()
            .filter_map(Value::as_str)
            .any(|x| x == "*" || x == want)
    })
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !a.path.is_empty() {
        let urls = rule.get("nonResourceURLs").and_then(Value::as_array);
        return contains(rule.get("verbs"), &a.verb)
            && urls.is_some_and(|u| {
                u.iter().filter_map(Value::as_str).any(|p| {
                    p == a.path
                        || p.strip_suffix('*')
                            .is_some_and(|pre| a.path.starts_with(pre))
                })
            });
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let names_ok = rule
        .get("resourceNames")
        .and_then(Value::as_array)
        .is_none_or(|n| n.is_empty() || n.iter().any(|x| x.as_str() == Some(a.name.as_str())));
    contains(rule.get("verbs"), &a.verb)
        && contains(rule.get("apiGroups"), &a.group)
        && (contains(rule.get("resources"), &resource)
            || (!a.subresource.is_empty()
                && contains(rule.get("resources"), &format!("*/{}", a.subresource))))
        && names_ok
}

fn subject_matches(s: &Value, user: &UserInfo) -> bool {
    let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
    match s.get("kind").and_then(Value::as_str).unwrap_or_default() {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// Requests every authenticated user may make: discovery, OpenAPI, version, health and self-reviews.
fn always_allowed(a: &Attributes) -> bool {
    if !a.path.is_empty() {
        return a.verb == "get"
            && [
                "/api", "/apis", "/version", "/openapi", "/healthz", "/readyz", "/livez",
            ]
            .iter()
            .any(|p| a.path == *p || a.path.starts_with(&format!("{p}/")));
    }
    a.verb == "create"
        && matches!(
            (a.group.as_str(), a.resource.as_str()),
            (
                "authorization.k8s.io",
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
            ) | ("authentication.k8s.io", "selfsubjectreviews")
        )
}

/// The rules bound to `user` that apply in `namespace` (cluster-wide ones included).
pub fn rules_for(store: &Store, user: &UserInfo, namespace: &str) -> Vec<Value> {
    let rbac = |r: &str| GroupResource::new("rbac.authorization.k8s.io", r);
    let role_rules = |kind: &str, ns: &str, name: &str| -> Vec<Value> {
        let (gr, ns) = if kind == "ClusterRole" {
            (rbac("clusterroles"), "")
        } else {
            (rbac("roles"), ns)
        };
        store
            .get(&gr, ns, name)
            .and_then(|r| r.value.get("rules").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    let mut rules = Vec::new();
    let mut bindings = store
        .list(&rbac("clusterrolebindings"), None, None, 0, |_| true)
        .items;
    if !namespace.is_empty() {
        bindings.extend(
            store
                .list(&rbac("rolebindings"), Some(namespace), None, 0, |_| true)
                .items,
        );
    }
    for b in bindings {
        let bound = b
            .value
            .get("subjects")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|s| subject_matches(s, user)));
        if bound {
            let kind = b
                .value
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = b
                .value
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            rules.extend(role_rules(kind, b.namespace(), name));
        }
    }
    rules
}

/// Whether `user` may do `a`, by RBAC.
pub fn authorize(store: &Store, user: &UserInfo, a: &Attributes) -> bool {
    user.is_admin()
        || always_allowed(a)
        || rules_for(store, user, &a.namespace)
            .iter()
            .any(|r| rule_allows(r, a))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn attrs(verb: &str, group: &str, resource: &str, sub: &str, ns: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            ..Default::default()
        }
    }

    #[test]
    fn rbac_follows_bindings_of_service_accounts() {
        let store = Store::new(100, Arc::new(chrono::Utc::now));
        let gr = |r: &str| GroupResource::new("rbac.authorization.k8s.io", r);
        let ns = GroupResource::new("", "namespaces");
        store
            .create(&ns, false, json!({"metadata": {"name": "vpa"}}), false)
            .unwrap();
        store
            .create(
                &gr("clusterroles"),
                false,
                json!({"metadata": {"name": "reader"}, "rules": [
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]}
                ]}),
                false,
            )
            .unwrap();
        store.create(&gr("clusterrolebindings"), false, json!({"metadata": {"name": "b"},
            "roleRef": {"kind": "ClusterRole", "name": "reader", "apiGroup": "rbac.authorization.k8s.io"},
            "subjects": [{"kind": "ServiceAccount", "name": "rec", "namespace": "vpa"}]}), false).unwrap();
        store.create(&gr("roles"), true, json!({"metadata": {"name": "leases", "namespace": "vpa"}, "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"], "resourceNames": ["lock"]}
        ]}), false).unwrap();
        store.create(&gr("rolebindings"), true, json!({"metadata": {"name": "b", "namespace": "vpa"},
            "roleRef": {"kind": "Role", "name": "leases"}, "subjects": [{"kind": "Group", "name": "system:serviceaccounts:vpa"}]}), false).unwrap();
        let sa = UserInfo::service_account("vpa", "rec");
        assert!(authorize(
            &store,
            &sa,
            &attrs("list", "", "pods", "", "default")
        ));
        assert!(authorize(
            &store,
            &sa,
            &attrs("create", "", "pods", "eviction", "x")
        ));
        assert!(!authorize(
            &store,
            &sa,
            &attrs("delete", "", "pods", "", "x")
        ));
        assert!(!authorize(
            &store,
            &sa,
            &attrs("patch", "", "pods", "status", "x")
        ));
        let mut lease = attrs("update", "coordination.k8s.io", "leases", "", "vpa");
        lease.name = "lock".into();
        assert!(authorize(&store, &sa, &lease));
        lease.name = "other".into();
        assert!(!authorize(&store, &sa, &lease));
        let other = UserInfo::service_account("default", "x");
        assert!(!authorize(
            &store,
            &other,
            &attrs("list", "", "pods", "", "default")
        ));
        assert!(authorize(
            &store,
            &other,
            &attrs(
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                "",
                ""
            )
        ));
    }
}
