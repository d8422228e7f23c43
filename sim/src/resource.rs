//! What the server serves: one `ResourceInfo` per group/version/resource, for the built-in kinds
//! (a fixed table) and for CRDs (derived from the CRD objects). Pure data.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// The verbs of a fully writable resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs of a read-only resource (metrics).
pub const READ_VERBS: &[&str] = &["get", "list"];
/// The verbs of a create-only resource (reviews).
pub const CREATE_VERBS: &[&str] = &["create"];

/// A group and resource (plural), the storage key of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group, empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// `GroupResource { group, resource }`.
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// A subresource as listed in discovery (`pods/eviction`).
#[derive(Debug, Clone)]
pub struct Subresource {
    /// Name after the slash.
    pub name: &'static str,
    /// Kind of the object sent and received.
    pub kind: &'static str,
    /// Group of that kind when it differs from the parent's (`policy` for evictions).
    pub group: Option<&'static str>,
    /// Version of that kind when it differs from the parent's.
    pub version: Option<&'static str>,
    /// Allowed verbs.
    pub verbs: &'static [&'static str],
}

/// The status subresource.
pub(crate) const STATUS: Subresource = Subresource {
    name: "status",
    kind: "",
    group: None,
    version: None,
    verbs: &["get", "patch", "update"],
};
/// The autoscaling/v1 scale subresource.
pub(crate) const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group: Some("autoscaling"),
    version: Some("v1"),
    verbs: &["get", "patch", "update"],
};

/// A column of `kubectl get` output (a CRD's additionalPrinterColumns, or a built-in's).
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// `format`, e.g. `name`.
    pub format: String,
    /// Column description.
    pub description: String,
    /// 0 shows by default; higher only with `-o wide`.
    pub priority: i64,
    /// JSONPath of the value (CRDs) or a built-in computation key.
    pub json_path: String,
}

/// Where a custom kind keeps what its scale subresource shows, as JSON pointers (`/spec/replicas`)
/// converted from the CRD's `subresources.scale` JSON paths (`.spec.replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// `specReplicasPath`: read into and written from the Scale's `spec.replicas`.
    pub spec_replicas: String,
    /// `statusReplicasPath`: the Scale's `status.replicas`.
    pub status_replicas: String,
    /// `labelSelectorPath`: a string field holding a serialized label selector (`status.selector`).
    pub label_selector: Option<String>,
}

impl ScalePaths {
    /// From a CRD version's `subresources.scale` object; `None` without `specReplicasPath`.
    pub fn from_crd(scale: &Value) -> Option<Self> {
        let pointer = |key: &str| scale.get(key).and_then(Value::as_str).map(json_pointer);
        Some(ScalePaths {
            spec_replicas: pointer("specReplicasPath")?,
            status_replicas: pointer("statusReplicasPath").unwrap_or_default(),
            label_selector: pointer("labelSelectorPath"),
        })
    }
}

/// A simple JSON path of dotted fields (`.spec.replicas`) as a JSON pointer (`/spec/replicas`).
pub fn json_pointer(path: &str) -> String {
    path.trim()
        .trim_start_matches('.')
        .split('.')
        .filter(|f| !f.is_empty())
        .map(|f| format!("/{}", f.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Where a kind's schema comes from.
#[derive(Debug, Clone)]
pub enum Schema {
    /// A built-in type: the name of its component in the generated definitions.
    Builtin(&'static str),
    /// A CRD version's `openAPIV3Schema`.
    Crd(Arc<Value>),
    /// Not validated (reviews, metrics).
    None,
}

/// Everything the server knows about one group/version/resource.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`po`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Verbs on the main resource.
    pub verbs: Vec<String>,
    /// Subresources.
    pub subresources: Vec<Subresource>,
    /// Columns for tables (NAME is added in front when missing); empty means NAME and AGE.
    pub columns: Vec<PrinterColumn>,
    /// The schema used for validation and OpenAPI.
    pub schema: Schema,
    /// Whether objects are stored (reviews are not).
    pub stored: bool,
    /// The version objects are stored in (CRDs with several versions).
    pub storage_version: String,
    /// A custom kind's scale paths; `None` for built-in kinds (`spec.replicas`, `status.replicas`,
    /// `spec.selector`).
    pub scale_paths: Option<ScalePaths>,
}

impl ResourceInfo {
    /// The group/resource storage key.
    pub fn gr(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// `group/version` or `version` for core.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// Whether this resource has the named subresource.
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }

    /// Whether `verb` is allowed on the main resource.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// `group/version`, or `version` for the core group.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Splits an apiVersion into group and version.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

struct B {
    info: ResourceInfo,
}

fn res(gv: &str, plural: &str, kind: &str, namespaced: bool, schema: &'static str) -> B {
    let (group, version) = split_api_version(gv);
    B {
        info: ResourceInfo {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
            subresources: Vec::new(),
            columns: Vec::new(),
            schema: if schema.is_empty() {
                Schema::None
            } else {
                Schema::Builtin(schema)
            },
            stored: true,
            storage_version: version.to_string(),
            scale_paths: None,
        },
    }
}

impl B {
    fn short(mut self, names: &[&str]) -> Self {
        self.info.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    fn all(mut self) -> Self {
        self.info.categories = vec!["all".to_string()];
        self
    }
    fn cat(mut self, c: &str) -> Self {
        self.info.categories.push(c.to_string());
        self
    }
    fn sub(mut self, s: Subresource) -> Self {
        self.info.subresources.push(s);
        self
    }
    fn status(self) -> Self {
        self.sub(STATUS)
    }
    fn scale(self) -> Self {
        self.sub(SCALE)
    }
    fn verbs(mut self, verbs: &[&str]) -> Self {
        self.info.verbs = verbs.iter().map(|s| s.to_string()).collect();
        self
    }
    fn unstored(mut self) -> Self {
        self.info.stored = false;
        self
    }
    fn cols(mut self, cols: &[(&str, &str, i64)]) -> Self {
        self.info.columns = cols
            .iter()
            .map(|(name, path, priority)| PrinterColumn {
                name: name.to_string(),
                type_: if *name == "AGE" {
                    "date".into()
                } else {
                    "string".into()
                },
                format: if *name == "NAME" {
                    "name".into()
                } else {
                    String::new()
                },
                description: String::new(),
                priority: *priority,
                json_path: path.to_string(),
            })
            .collect();
        self
    }
}

/// The built-in resources, in discovery order.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    let v1 = "v1";
    let apps = "apps/v1";
    let rbac = "rbac.authorization.k8s.io/v1";
    let list = vec![
        res(
            v1,
            "namespaces",
            "Namespace",
            false,
            "io.k8s.api.core.v1.Namespace",
        )
        .short(&["ns"])
        .status()
        .cols(&[
            ("NAME", "", 0),
            ("STATUS", ".status.phase", 0),
            ("AGE", "", 0),
        ]),
        res(v1, "pods", "Pod", true, "io.k8s.api.core.v1.Pod")
            .short(&["po"])
            .all()
            .status()
            .sub(Subresource {
                name: "binding",
                kind: "Binding",
                group: None,
                version: None,
                verbs: CREATE_VERBS,
            })
            .sub(Subresource {
                name: "eviction",
                kind: "Eviction",
                group: Some("policy"),
                version: Some("v1"),
                verbs: CREATE_VERBS,
            })
            .sub(Subresource {
                name: "log",
                kind: "Pod",
                group: None,
                version: None,
                verbs: &["get"],
            })
            .sub(Subresource {
                name: "resize",
                kind: "Pod",
                group: None,
                version: None,
                verbs: &["get", "patch", "update"],
            })
            .cols(&[
                ("NAME", "", 0),
                ("READY", "pod:ready", 0),
                ("STATUS", "pod:status", 0),
                ("RESTARTS", "pod:restarts", 0),
                ("AGE", "", 0),
                ("IP", ".status.podIP", 1),
                ("NODE", ".spec.nodeName", 1),
            ]),
        res(
            v1,
            "replicationcontrollers",
            "ReplicationController",
            true,
            "io.k8s.api.core.v1.ReplicationController",
        )
        .short(&["rc"])
        .all()
        .status()
        .scale()
        .cols(&[
            ("NAME", "", 0),
            ("DESIRED", ".spec.replicas", 0),
            ("CURRENT", ".status.replicas", 0),
            ("READY", ".status.readyReplicas", 0),
            ("AGE", "", 0),
        ]),
        res(v1, "events", "Event", true, "io.k8s.api.core.v1.Event")
            .short(&["ev"])
            .cols(&[
                ("LAST SEEN", "event:lastseen", 0),
                ("TYPE", ".type", 0),
                ("REASON", ".reason", 0),
                ("OBJECT", "event:object", 0),
                ("MESSAGE", ".message", 0),
            ]),
        res(
            v1,
            "limitranges",
            "LimitRange",
            true,
            "io.k8s.api.core.v1.LimitRange",
        )
        .short(&["limits"]),
        res(
            v1,
            "resourcequotas",
            "ResourceQuota",
            true,
            "io.k8s.api.core.v1.ResourceQuota",
        )
        .short(&["quota"])
        .status(),
        res(v1, "nodes", "Node", false, "io.k8s.api.core.v1.Node")
            .short(&["no"])
            .status()
            .cols(&[
                ("NAME", "", 0),
                ("STATUS", "node:status", 0),
                ("ROLES", "node:roles", 0),
                ("AGE", "", 0),
                ("VERSION", ".status.nodeInfo.kubeletVersion", 0),
            ]),
        res(
            v1,
            "services",
            "Service",
            true,
            "io.k8s.api.core.v1.Service",
        )
        .short(&["svc"])
        .all()
        .status()
        .cols(&[
            ("NAME", "", 0),
            ("TYPE", ".spec.type", 0),
            ("CLUSTER-IP", ".spec.clusterIP", 0),
            ("PORT(S)", "service:ports", 0),
            ("AGE", "", 0),
        ]),
        res(
            v1,
            "endpoints",
            "Endpoints",
            true,
            "io.k8s.api.core.v1.Endpoints",
        )
        .short(&["ep"]),
        res(
            "discovery.k8s.io/v1",
            "endpointslices",
            "EndpointSlice",
            true,
            "io.k8s.api.discovery.v1.EndpointSlice",
        )
        .cols(&[
            ("NAME", "", 0),
            ("ADDRESSTYPE", ".addressType", 0),
            ("PORTS", "slice:ports", 0),
            ("ENDPOINTS", "slice:endpoints", 0),
            ("AGE", "", 0),
        ]),
        res(v1, "secrets", "Secret", true, "io.k8s.api.core.v1.Secret").cols(&[
            ("NAME", "", 0),
            ("TYPE", ".type", 0),
            ("DATA", "map:data", 0),
            ("AGE", "", 0),
        ]),
        res(
            v1,
            "configmaps",
            "ConfigMap",
            true,
            "io.k8s.api.core.v1.ConfigMap",
        )
        .short(&["cm"])
        .cols(&[("NAME", "", 0), ("DATA", "map:data", 0), ("AGE", "", 0)]),
        res(
            v1,
            "serviceaccounts",
            "ServiceAccount",
            true,
            "io.k8s.api.core.v1.ServiceAccount",
        )
        .short(&["sa"])
        .sub(Subresource {
            name: "token",
            kind: "TokenRequest",
            group: Some("authentication.k8s.io"),
            version: Some("v1"),
            verbs: CREATE_VERBS,
        }),
        res(
            apps,
            "deployments",
            "Deployment",
            true,
            "io.k8s.api.apps.v1.Deployment",
        )
        .short(&["deploy"])
        .all()
        .status()
        .scale()
        .cols(&[
            ("NAME", "", 0),
            ("READY", "deploy:ready", 0),
            ("UP-TO-DATE", ".status.updatedReplicas", 0),
            ("AVAILABLE", ".status.availableReplicas", 0),
            ("AGE", "", 0),
        ]),
        res(
            apps,
            "replicasets",
            "ReplicaSet",
            true,
            "io.k8s.api.apps.v1.ReplicaSet",
        )
        .short(&["rs"])
        .all()
        .status()
        .scale()
        .cols(&[
            ("NAME", "", 0),
            ("DESIRED", ".spec.replicas", 0),
            ("CURRENT", ".status.replicas", 0),
            ("READY", ".status.readyReplicas", 0),
            ("AGE", "", 0),
        ]),
        res(
            apps,
            "statefulsets",
            "StatefulSet",
            true,
            "io.k8s.api.apps.v1.StatefulSet",
        )
        .short(&["sts"])
        .all()
        .status()
        .scale(),
        res(
            apps,
            "daemonsets",
            "DaemonSet",
            true,
            "io.k8s.api.apps.v1.DaemonSet",
        )
        .short(&["ds"])
        .all()
        .status(),
        res("batch/v1", "jobs", "Job", true, "io.k8s.api.batch.v1.Job")
            .all()
            .status(),
        res(
            "batch/v1",
            "cronjobs",
            "CronJob",
            true,
            "io.k8s.api.batch.v1.CronJob",
        )
        .short(&["cj"])
        .all()
        .status(),
        res(
            "autoscaling/v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        )
        .short(&["hpa"])
        .all()
        .status()
        .cols(&[
            ("NAME", "", 0),
            ("REFERENCE", "hpa:reference", 0),
            ("TARGETS", "hpa:targets", 0),
            ("MINPODS", ".spec.minReplicas", 0),
            ("MAXPODS", ".spec.maxReplicas", 0),
            ("REPLICAS", ".status.currentReplicas", 0),
            ("AGE", "", 0),
        ]),
        res(
            "policy/v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            "io.k8s.api.policy.v1.PodDisruptionBudget",
        )
        .short(&["pdb"])
        .status(),
        res(
            "coordination.k8s.io/v1",
            "leases",
            "Lease",
            true,
            "io.k8s.api.coordination.v1.Lease",
        ),
        res(rbac, "roles", "Role", true, "io.k8s.api.rbac.v1.Role"),
        res(
            rbac,
            "rolebindings",
            "RoleBinding",
            true,
            "io.k8s.api.rbac.v1.RoleBinding",
        ),
        res(
            rbac,
            "clusterroles",
            "ClusterRole",
            false,
            "io.k8s.api.rbac.v1.ClusterRole",
        ),
        res(
            rbac,
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            "io.k8s.api.rbac.v1.ClusterRoleBinding",
        ),
        res(
            "admissionregistration.k8s.io/v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
            "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        )
        .cat("api-extensions"),
        res(
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        )
        .cat("api-extensions"),
        res(
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        )
        .short(&["crd", "crds"])
        .cat("api-extensions")
        .status()
        .cols(&[
            ("NAME", "", 0),
            ("CREATED AT", ".metadata.creationTimestamp", 0),
        ]),
        res(
            "authorization.k8s.io/v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            false,
            "",
        )
        .verbs(CREATE_VERBS)
        .unstored(),
        res(
            "authorization.k8s.io/v1",
            "subjectaccessreviews",
            "SubjectAccessReview",
            false,
            "",
        )
        .verbs(CREATE_VERBS)
        .unstored(),
        res(
            "authorization.k8s.io/v1",
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
            false,
            "",
        )
        .verbs(CREATE_VERBS)
        .unstored(),
        res(
            "authentication.k8s.io/v1",
            "selfsubjectreviews",
            "SelfSubjectReview",
            false,
            "",
        )
        .verbs(CREATE_VERBS)
        .unstored(),
        res(
            "authentication.k8s.io/v1",
            "tokenreviews",
            "TokenReview",
            false,
            "",
        )
        .verbs(CREATE_VERBS)
        .unstored(),
        res("metrics.k8s.io/v1beta1", "pods", "PodMetrics", true, "").verbs(READ_VERBS),
        res("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", false, "").verbs(READ_VERBS),
    ];
    list.into_iter().map(|b| b.info).collect()
}

/// The served resources, indexed by group/version/plural.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_gvr: BTreeMap<(String, String, String), Arc<ResourceInfo>>,
    /// Versions of each group in preference order.
    groups: BTreeMap<String, Vec<String>>,
    /// Group order for discovery.
    group_order: Vec<String>,
}

impl Registry {
    /// A registry with the built-in resources.
    pub fn builtin() -> Self {
        let mut r = Registry::default();
        for info in builtin_resources() {
            r.insert(info);
        }
        r
    }

    /// Adds or replaces one resource.
    pub fn insert(&mut self, info: ResourceInfo) {
        if !self.group_order.contains(&info.group) {
            self.group_order.push(info.group.clone());
        }
        let versions = self.groups.entry(info.group.clone()).or_default();
        if !versions.contains(&info.version) {
            versions.push(info.version.clone());
        }
        self.by_gvr.insert(
            (
                info.group.clone(),
                info.version.clone(),
                info.plural.clone(),
            ),
            Arc::new(info),
        );
    }

    /// Removes every version of `group`/`plural`; drops the group when it becomes empty.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.by_gvr
            .retain(|(g, _, p), _| !(g == group && p == plural));
        let remaining: Vec<String> = self
            .by_gvr
            .keys()
            .filter(|(g, _, _)| g == group)
            .map(|(_, v, _)| v.clone())
            .collect();
        if let Some(versions) = self.groups.get_mut(group) {
            versions.retain(|v| remaining.contains(v));
            if versions.is_empty() {
                self.groups.remove(group);
                self.group_order.retain(|g| g != group);
            }
        }
    }

    /// Sets the version preference order of a group.
    pub fn set_versions(&mut self, group: &str, versions: Vec<String>) {
        self.groups.insert(group.to_string(), versions);
    }

    /// Looks up one resource.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// The resource of `kind` in `group`/`version`.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.by_gvr
            .values()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    /// The groups in discovery order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        self.group_order
            .iter()
            .filter_map(|g| self.groups.get(g).map(|v| (g.clone(), v.clone())))
            .collect()
    }

    /// The resources of one group/version.
    pub fn resources(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.by_gvr
            .values()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }

    /// Every served resource.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        self.by_gvr.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_serves_the_issue_resources() {
        let r = Registry::builtin();
        let pods = r.get("", "v1", "pods").unwrap();
        assert!(pods.has_subresource("eviction") && pods.has_subresource("resize"));
        assert!(
            r.get("apps", "v1", "deployments")
                .unwrap()
                .has_subresource("scale")
        );
        assert!(r.get("metrics.k8s.io", "v1beta1", "nodes").is_some());
        assert!(
            !r.get("metrics.k8s.io", "v1beta1", "pods")
                .unwrap()
                .allows("create")
        );
        assert_eq!(r.groups()[0].0, "");
    }

    #[test]
    fn crd_scale_paths_become_json_pointers() {
        let paths = ScalePaths::from_crd(&serde_json::json!({"specReplicasPath": ".spec.size",
            "statusReplicasPath": ".status.count", "labelSelectorPath": ".status.sel"}))
        .unwrap();
        assert_eq!(
            (
                paths.spec_replicas.as_str(),
                paths.status_replicas.as_str(),
                paths.label_selector.as_deref()
            ),
            ("/spec/size", "/status/count", Some("/status/sel"))
        );
        assert_eq!(
            ScalePaths::from_crd(&serde_json::json!({"statusReplicasPath": ".status.n"})),
            None
        );
    }

    #[test]
    fn removing_the_last_resource_drops_the_group() {
        let mut r = Registry::builtin();
        r.remove("coordination.k8s.io", "leases");
        assert!(!r.groups().iter().any(|(g, _)| g == "coordination.k8s.io"));
    }
}
