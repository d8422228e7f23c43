//! The protobuf field tables of the kinds whose bodies kubectl's typed clients send as protobuf:
//! field number, JSON name and wire form of each field kept. Each kind's top-level message is
//! referenced from its record in the built-in table (`ResourceInfo::proto`). Pure data.

use super::{F, Field};

const META: &[Field] = &[
    Field(1, "name", F::Str),
    Field(2, "generateName", F::Str),
    Field(3, "namespace", F::Str),
    Field(6, "resourceVersion", F::Str),
    Field(11, "labels", F::MapStr),
    Field(12, "annotations", F::MapStr),
    Field(14, "finalizers", F::RepStr),
];
const RES_ATTRS: &[Field] = &[
    Field(1, "namespace", F::Str),
    Field(2, "verb", F::Str),
    Field(3, "group", F::Str),
    Field(4, "version", F::Str),
    Field(5, "resource", F::Str),
    Field(6, "subresource", F::Str),
    Field(7, "name", F::Str),
];
const NONRES_ATTRS: &[Field] = &[Field(1, "path", F::Str), Field(2, "verb", F::Str)];
const SSAR_SPEC: &[Field] = &[
    Field(1, "resourceAttributes", F::Msg(RES_ATTRS)),
    Field(2, "nonResourceAttributes", F::Msg(NONRES_ATTRS)),
];
const SAR_SPEC: &[Field] = &[
    Field(1, "resourceAttributes", F::Msg(RES_ATTRS)),
    Field(2, "nonResourceAttributes", F::Msg(NONRES_ATTRS)),
    Field(3, "user", F::Str),
    Field(4, "groups", F::RepStr),
    Field(6, "uid", F::Str),
];
const SSRR_SPEC: &[Field] = &[Field(1, "namespace", F::Str)];
const BOUND_REF: &[Field] = &[
    Field(1, "kind", F::Str),
    Field(2, "apiVersion", F::Str),
    Field(3, "name", F::Str),
    Field(4, "uid", F::Str),
];
const TOKEN_SPEC: &[Field] = &[
    Field(1, "audiences", F::RepStr),
    Field(3, "boundObjectRef", F::Msg(BOUND_REF)),
    Field(4, "expirationSeconds", F::Int),
];
const TOKEN_REVIEW_SPEC: &[Field] = &[Field(1, "token", F::Str), Field(2, "audiences", F::RepStr)];
const NS_SPEC: &[Field] = &[Field(1, "finalizers", F::RepStr)];
const EMPTY: &[Field] = &[];
const RULE: &[Field] = &[
    Field(1, "verbs", F::RepStr),
    Field(2, "apiGroups", F::RepStr),
    Field(3, "resources", F::RepStr),
    Field(4, "resourceNames", F::RepStr),
    Field(5, "nonResourceURLs", F::RepStr),
];
const SUBJECT: &[Field] = &[
    Field(1, "kind", F::Str),
    Field(2, "apiGroup", F::Str),
    Field(3, "name", F::Str),
    Field(4, "namespace", F::Str),
];
const SELECTOR: &[Field] = &[Field(1, "matchLabels", F::MapStr)];
const CONTAINER_PORT: &[Field] = &[
    Field(1, "name", F::Str),
    Field(3, "containerPort", F::Int),
    Field(4, "protocol", F::Str),
];
const RESOURCES: &[Field] = &[
    Field(1, "limits", F::MapQuantity),
    Field(2, "requests", F::MapQuantity),
];
const CONTAINER: &[Field] = &[
    Field(1, "name", F::Str),
    Field(2, "image", F::Str),
    Field(3, "command", F::RepStr),
    Field(4, "args", F::RepStr),
    Field(6, "ports", F::RepMsg(CONTAINER_PORT)),
    Field(8, "resources", F::Msg(RESOURCES)),
    Field(14, "imagePullPolicy", F::Str),
];
const POD_SPEC: &[Field] = &[
    Field(2, "containers", F::RepMsg(CONTAINER)),
    Field(3, "restartPolicy", F::Str),
];
const TEMPLATE: &[Field] = &[
    Field(1, "metadata", F::Msg(META)),
    Field(2, "spec", F::Msg(POD_SPEC)),
];
const DEPLOYMENT_SPEC: &[Field] = &[
    Field(1, "replicas", F::Int),
    Field(2, "selector", F::Msg(SELECTOR)),
    Field(3, "template", F::Msg(TEMPLATE)),
];
const LEASE_SPEC: &[Field] = &[
    Field(1, "holderIdentity", F::Str),
    Field(2, "leaseDurationSeconds", F::Int),
    Field(3, "acquireTime", F::MicroTime),
    Field(4, "renewTime", F::MicroTime),
    Field(5, "leaseTransitions", F::Int),
    Field(6, "strategy", F::Str),
    Field(7, "preferredHolder", F::Str),
];
const ROLE_REF: &[Field] = &[
    Field(1, "apiGroup", F::Str),
    Field(2, "kind", F::Str),
    Field(3, "name", F::Str),
];

/// A message of metadata and the given spec.
const fn with_spec(spec: &'static [Field]) -> [Field; 2] {
    [
        Field(1, "metadata", F::Msg(META)),
        Field(2, "spec", F::Msg(spec)),
    ]
}
/// SelfSubjectAccessReview.
pub(crate) static SSAR: [Field; 2] = with_spec(SSAR_SPEC);
/// SubjectAccessReview.
pub(crate) static SAR: [Field; 2] = with_spec(SAR_SPEC);
/// SelfSubjectRulesReview.
pub(crate) static SSRR: [Field; 2] = with_spec(SSRR_SPEC);
/// SelfSubjectReview.
pub(crate) static SSR: [Field; 2] = with_spec(EMPTY);
/// TokenRequest (`serviceaccounts/token`).
pub(crate) static TOKEN: [Field; 2] = with_spec(TOKEN_SPEC);
/// TokenReview.
pub(crate) static TOKEN_REVIEW: [Field; 2] = with_spec(TOKEN_REVIEW_SPEC);
/// Namespace.
pub(crate) static NS: [Field; 2] = with_spec(NS_SPEC);
/// ServiceAccount.
pub(crate) static SA: [Field; 2] = [
    Field(1, "metadata", F::Msg(META)),
    Field(5, "automountServiceAccountToken", F::Bool),
];
/// ConfigMap.
pub(crate) static CM: [Field; 4] = [
    Field(1, "metadata", F::Msg(META)),
    Field(2, "data", F::MapStr),
    Field(3, "binaryData", F::MapB64),
    Field(4, "immutable", F::Bool),
];
/// Secret.
pub(crate) static SECRET: [Field; 5] = [
    Field(1, "metadata", F::Msg(META)),
    Field(2, "data", F::MapB64),
    Field(3, "type", F::Str),
    Field(4, "stringData", F::MapStr),
    Field(5, "immutable", F::Bool),
];
/// Role and ClusterRole.
pub(crate) static ROLE: [Field; 2] = [
    Field(1, "metadata", F::Msg(META)),
    Field(2, "rules", F::RepMsg(RULE)),
];
/// RoleBinding and ClusterRoleBinding.
pub(crate) static BINDING: [Field; 3] = [
    Field(1, "metadata", F::Msg(META)),
    Field(2, "subjects", F::RepMsg(SUBJECT)),
    Field(3, "roleRef", F::Msg(ROLE_REF)),
];
/// Deployment (its common fields).
pub(crate) static DEPLOYMENT: [Field; 2] = with_spec(DEPLOYMENT_SPEC);
/// Pod (its common fields).
pub(crate) static POD: [Field; 2] = with_spec(POD_SPEC);
/// Lease.
pub(crate) static LEASE: [Field; 2] = with_spec(LEASE_SPEC);
