//! The parsed request (pure): path, query, headers, body and user, with the query flags the
//! handlers read, the decoded body (JSON or protobuf), write options, and where a resource path
//! points (`Target`) with its Kubernetes verb.

use std::collections::HashMap;

use axum::http::{HeaderMap, Method, header};
use bytes::Bytes;
use serde_json::Value;

use crate::api::{FieldValidation, WriteOptions};
use crate::auth::UserInfo;
use crate::error::{ApiError, ApiResult};
use crate::table::IncludeObject;

/// A parsed request.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub user: UserInfo,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1"))
    }

    pub fn wants_table(&self) -> bool {
        self.headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("as=Table"))
    }

    pub fn include_object(&self) -> IncludeObject {
        match self.q("includeObject") {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }

    pub(super) fn is_protobuf(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with(crate::proto::CONTENT_TYPE))
    }

    /// The request body as JSON (protobuf bodies of typed clients are decoded too).
    pub fn decode(&self) -> ApiResult<Value> {
        if self.is_protobuf() {
            crate::proto::decode(&self.body, |kind| {
                crate::resource::builtin_registry().proto_fields(kind)
            })
        } else {
            crate::schema::decode_json(&self.body)
        }
    }

    pub(super) fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dry_run: self.q("dryRun") == Some("All"),
            validation: FieldValidation::parse(self.q("fieldValidation").unwrap_or_default()),
            field_manager: self.q("fieldManager").unwrap_or("unknown").to_string(),
            raw: (!self.is_protobuf()).then(|| self.body.clone()),
        }
    }
}

/// Where a resource request points.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub name: String,
    pub sub: String,
}

/// Parses `/api/v1/...` and `/apis/<g>/<v>/...` resource paths.
pub(crate) fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, r, more @ ..]
            if !(more.is_empty() && matches!(*r, "status" | "finalize")) =>
        {
            (*ns, &rest[2..])
        }
        _ => ("", rest),
    };
    let t = Target {
        group: group.into(),
        version: version.into(),
        namespace: namespace.into(),
        resource: rest.first()?.to_string(),
        name: rest.get(1).map(|s| s.to_string()).unwrap_or_default(),
        sub: rest.get(2).map(|s| s.to_string()).unwrap_or_default(),
    };
    (rest.len() <= 3).then_some(t)
}

pub(super) fn verb_of(req: &Req, t: &Target) -> &'static str {
    match (&req.method, t.name.is_empty()) {
        (&Method::GET, false) => "get",
        (&Method::GET, true) if req.flag("watch") => "watch",
        (&Method::GET, true) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "delete",
        (&Method::DELETE, true) => "deletecollection",
        _ => "",
    }
}

pub(super) fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_paths() {
        let t = parse_target("/api/v1/namespaces/default/pods/p/status").unwrap();
        assert_eq!(
            (
                t.namespace.as_str(),
                t.resource.as_str(),
                t.name.as_str(),
                t.sub.as_str()
            ),
            ("default", "pods", "p", "status")
        );
        let t = parse_target("/api/v1/namespaces/default").unwrap();
        assert_eq!(
            (t.resource.as_str(), t.name.as_str()),
            ("namespaces", "default")
        );
        let t = parse_target("/api/v1/namespaces/default/status").unwrap();
        assert_eq!(
            (t.resource.as_str(), t.name.as_str(), t.sub.as_str()),
            ("namespaces", "default", "status")
        );
        let t = parse_target("/apis/apps/v1/deployments").unwrap();
        assert_eq!(
            (t.group.as_str(), t.namespace.as_str(), t.resource.as_str()),
            ("apps", "", "deployments")
        );
        assert!(parse_target("/apis/apps/v1/namespaces/x/deployments/d/scale/extra").is_none());
    }
}
