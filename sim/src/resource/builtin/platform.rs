//! The built-in records of the platform groups: leases, RBAC, admission registration, CRDs, the
//! review kinds (answered, never stored) and the read-only metrics. Pure data.

use super::{B, path, res};
use crate::defaults;
use crate::proto::messages;
use crate::resource::{CREATE_VERBS, READ_VERBS};
use crate::table::ColumnValue::Name;

/// The platform kinds, in discovery order.
pub(super) fn kinds() -> Vec<B> {
    let rbac = "rbac.authorization.k8s.io/v1";
    let review = |gv: &str, plural: &str, kind: &str| {
        res(gv, plural, kind, false, "")
            .verbs(CREATE_VERBS)
            .unstored()
    };
    vec![
        res(
            "coordination.k8s.io/v1",
            "leases",
            "Lease",
            true,
            "io.k8s.api.coordination.v1.Lease",
        )
        .proto(&messages::LEASE),
        res(rbac, "roles", "Role", true, "io.k8s.api.rbac.v1.Role").proto(&messages::ROLE),
        res(
            rbac,
            "rolebindings",
            "RoleBinding",
            true,
            "io.k8s.api.rbac.v1.RoleBinding",
        )
        .proto(&messages::BINDING),
        res(
            rbac,
            "clusterroles",
            "ClusterRole",
            false,
            "io.k8s.api.rbac.v1.ClusterRole",
        )
        .proto(&messages::ROLE),
        res(
            rbac,
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            "io.k8s.api.rbac.v1.ClusterRoleBinding",
        )
        .proto(&messages::BINDING),
        res(
            "admissionregistration.k8s.io/v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
            "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        )
        .defaults(defaults::mutating_webhooks)
        .cat("api-extensions"),
        res(
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        )
        .defaults(defaults::validating_webhooks)
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
        .cols([
            ("NAME", Name, 0),
            ("CREATED AT", path(".metadata.creationTimestamp"), 0),
        ]),
        review(
            "authorization.k8s.io/v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
        )
        .proto(&messages::SSAR),
        review(
            "authorization.k8s.io/v1",
            "subjectaccessreviews",
            "SubjectAccessReview",
        )
        .proto(&messages::SAR),
        review(
            "authorization.k8s.io/v1",
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
        )
        .proto(&messages::SSRR),
        review(
            "authentication.k8s.io/v1",
            "selfsubjectreviews",
            "SelfSubjectReview",
        )
        .proto(&messages::SSR),
        review("authentication.k8s.io/v1", "tokenreviews", "TokenReview")
            .proto(&messages::TOKEN_REVIEW),
        res("metrics.k8s.io/v1beta1", "pods", "PodMetrics", true, "").verbs(READ_VERBS),
        res("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", false, "").verbs(READ_VERBS),
    ]
}
