//! Extension points of the API server: the audit hook that sees every request (identity, verb,
//! resource, decision) and admission hooks run on every create and update (where webhooks and
//! the cluster behaviour plug in). Pure types.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::auth::UserInfo;
use crate::error::ApiResult;

/// One request as the audit hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// User name.
    pub user: String,
    /// Kubernetes verb, or the HTTP verb for non-resource paths.
    pub verb: String,
    /// API group.
    pub group: String,
    /// Resource.
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Whether authorization allowed it.
    pub allowed: bool,
}

/// Receives every authorized-or-denied API request.
pub type AuditHook = Arc<dyn Fn(&AuditRecord) + Send + Sync>;

/// A create or update as an admission hook sees it.
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    /// `CREATE` or `UPDATE`.
    pub operation: &'static str,
    /// API group.
    pub group: String,
    /// Version.
    pub version: String,
    /// Resource.
    pub resource: String,
    /// Kind.
    pub kind: String,
    /// Subresource.
    pub subresource: String,
    /// Namespace.
    pub namespace: String,
    /// The object to admit.
    pub object: Value,
    /// The current object on update.
    pub old_object: Option<Value>,
    /// Who asks.
    pub user: UserInfo,
    /// Whether this is a dry run.
    pub dry_run: bool,
}

/// Serves `pods/<name>/log`: (namespace, pod, container) to the log text, None when unknown.
pub type LogSource = Arc<dyn Fn(&str, &str, &str) -> Option<String> + Send + Sync>;

/// A mutating/validating admission step on create and update (webhooks plug in here).
pub trait AdmissionHook: Send + Sync {
    /// Returns the admitted (possibly mutated) object, or an error to reject the request.
    fn admit(&self, req: AdmissionRequest) -> BoxFuture<'static, ApiResult<Value>>;

    /// Like [`admit`](Self::admit), also returning warnings for the client's `Warning` headers
    /// (admission webhooks' `response.warnings`). Defaults to no warnings.
    fn admit_with_warnings(
        &self,
        req: AdmissionRequest,
    ) -> BoxFuture<'static, ApiResult<(Value, Vec<String>)>> {
        let admitted = self.admit(req);
        Box::pin(async move { admitted.await.map(|v| (v, Vec::new())) })
    }
}
