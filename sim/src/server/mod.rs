//! The HTTP layer: one axum fallback handler that authenticates, routes Kubernetes paths
//! (discovery, OpenAPI, resources and subresources), authorizes with RBAC, injects faults, and
//! renders objects, lists, tables and Status errors. Edge.

mod control;
mod openapi_cache;
mod read;
mod subresources;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

pub use subresources::{scale_of, set_scale_replicas};

pub(crate) use read::{filter, object_bytes};
use read::{list, list_body, render_one};

use crate::api::{AuditRecord, FieldValidation, Shared, WriteOptions, ns_of};
use crate::auth::{self, Attributes, UserInfo};
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::patch::PatchType;
use crate::resource::ResourceInfo;
use crate::store::{DeleteOptions, Deleted, Propagation, StoredObject};
use crate::table::IncludeObject;

/// The router serving the whole API.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

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

    fn is_protobuf(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with(crate::proto::CONTENT_TYPE))
    }

    /// The request body as JSON (protobuf bodies of typed clients are decoded too).
    pub fn decode(&self) -> ApiResult<Value> {
        if self.is_protobuf() {
            crate::proto::decode(&self.body)
        } else {
            crate::schema::decode_json(&self.body)
        }
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dry_run: self.q("dryRun") == Some("All"),
            validation: FieldValidation::parse(self.q("fieldValidation").unwrap_or_default()),
            field_manager: self.q("fieldManager").unwrap_or("unknown").to_string(),
            raw: (!self.is_protobuf()).then(|| self.body.clone()),
        }
    }
}

/// A JSON response.
pub(crate) fn json_response(code: StatusCode, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("valid response")
}

fn value_response(code: StatusCode, v: &Value) -> Response {
    json_response(code, serde_json::to_vec(v).unwrap_or_default())
}

/// The Status response of an error.
pub(crate) fn error_response(e: &ApiError) -> Response {
    let mut r = value_response(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.to_status(),
    );
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", w.replace('"', "\\\""))) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let latency = s.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 256 << 20).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let path = parts.uri.path().trim_end_matches('/').to_string();
    if path == "/version" {
        return value_response(StatusCode::OK, &discovery::version());
    }
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/livez") {
        return Response::builder()
            .status(200)
            .body(Body::from("ok"))
            .expect("valid response");
    }
    let user = match authenticate(&s, &parts.headers) {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let req = Req {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
        user,
    };
    match route(&s, &req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn authenticate(s: &Shared, headers: &HeaderMap) -> ApiResult<UserInfo> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    let user = s
        .tokens
        .lookup(token.trim())
        .ok_or_else(ApiError::unauthorized)?;
    let Some(as_user) = headers
        .get("Impersonate-User")
        .and_then(|h| h.to_str().ok())
    else {
        return Ok(user);
    };
    if !user.is_admin() {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "users \"{as_user}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
                user.name
            ),
        ));
    }
    let groups: Vec<String> = headers
        .get_all("Impersonate-Group")
        .iter()
        .filter_map(|h| h.to_str().ok().map(String::from))
        .collect();
    Ok(UserInfo::from_name(as_user, &groups))
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

fn verb_of(req: &Req, t: &Target) -> &'static str {
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

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// Discovery and OpenAPI documents (any authenticated user, as `system:discovery` allows).
fn discover(s: &Arc<Shared>, reg: &crate::resource::Registry, req: &Req) -> ApiResult<Response> {
    let p = req.path.as_str();
    let attrs = Attributes {
        verb: "get".into(),
        path: p.into(),
        ..Default::default()
    };
    if !auth::authorize(&s.store, &req.user, &attrs) {
        let msg = format!(
            "forbidden: User \"{}\" cannot get path \"{p}\"",
            req.user.name
        );
        return Err(ApiError::new(403, "Forbidden", msg));
    }
    let addr = s.address.read().unwrap_or_else(|e| e.into_inner()).clone();
    let found = match p {
        "/api" => Some(discovery::core_versions(&addr)),
        "/apis" => Some(discovery::group_list(reg)),
        "/api/v1" => discovery::resource_list(reg, "", "v1"),
        _ if p.starts_with("/openapi/v3") => {
            return openapi_cache::serve(s, reg, p).ok_or_else(not_found_path);
        }
        _ => match p
            .trim_start_matches("/apis/")
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            [g] => discovery::api_group(reg, g),
            [g, v] => discovery::resource_list(reg, g, v),
            _ => None,
        },
    };
    found
        .map(|v| value_response(StatusCode::OK, &v))
        .ok_or_else(not_found_path)
}

async fn route(s: &Arc<Shared>, req: &Req) -> ApiResult<Response> {
    let reg = s.registry();
    let p = req.path.as_str();
    if let Some(action) = p.strip_prefix("/sim/v1/") {
        return control::handle(s, req, action);
    }
    let discovery_path = matches!(p, "/api" | "/apis" | "/api/v1")
        || p.starts_with("/openapi")
        || p.strip_prefix("/apis/")
            .is_some_and(|r| r.split('/').count() <= 2);
    if discovery_path {
        return discover(s, &reg, req);
    }
    let t = parse_target(p).ok_or_else(not_found_path)?;
    let info = reg
        .get(&t.group, &t.version, &t.resource)
        .ok_or_else(not_found_path)?;
    let verb = verb_of(req, &t);
    let attrs = Attributes {
        verb: verb.into(),
        group: t.group.clone(),
        resource: t.resource.clone(),
        subresource: t.sub.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        path: String::new(),
    };
    let allowed = auth::authorize(&s.store, &req.user, &attrs);
    s.audit(&AuditRecord {
        user: req.user.name.clone(),
        verb: verb.into(),
        group: t.group.clone(),
        resource: t.resource.clone(),
        subresource: t.sub.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        allowed,
    });
    if !allowed {
        let resource = if t.sub.is_empty() {
            t.resource.clone()
        } else {
            format!("{}/{}", t.resource, t.sub)
        };
        let ns = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
        return Err(ApiError::forbidden(
            &req.user.name,
            verb,
            &t.group,
            &resource,
            ns,
        ));
    }
    if let Some(e) = s.faults.pick(verb, &t.resource) {
        return Err(e);
    }
    if !t.sub.is_empty() {
        if !info.has_subresource(&t.sub) {
            return Err(not_found_path());
        }
        return subresources::handle(s, req, &info, &t).await;
    }
    if !info.allows(verb) {
        return Err(ApiError::method_not_allowed());
    }
    if !info.stored {
        return subresources::review(s, req, &info);
    }
    let ns = t.namespace.as_str();
    let opts = req.write_options();
    match verb {
        "get" => {
            let o = s
                .store
                .get(&info.gr(), ns_of(&info, ns), &t.name)
                .ok_or_else(|| ApiError::not_found(&t.group, &t.resource, &t.name))?;
            Ok(render_one(s, req, &info, &o, StatusCode::OK))
        }
        "list" => list(s, req, &info, ns),
        "watch" => watch::serve(s.clone(), req, info.clone(), ns),
        "create" => {
            let body = req.decode()?;
            let (o, w) = s.create(&req.user, &info, ns, body, &opts).await?;
            Ok(with_warnings(
                render_one(s, req, &info, &o, StatusCode::CREATED),
                &w,
            ))
        }
        "update" => {
            let body = req.decode()?;
            let (o, w) = s
                .update(&req.user, &info, ns, &t.name, "", body, &opts)
                .await?;
            Ok(with_warnings(
                render_one(s, req, &info, &o, StatusCode::OK),
                &w,
            ))
        }
        "patch" => patch(s, req, &info, &t, opts).await,
        "delete" => {
            let d = s.delete(&info, ns, &t.name, &delete_options(req)?)?;
            let o = match d {
                Deleted::Gone(o) | Deleted::Pending(o) => o,
            };
            Ok(render_one(s, req, &info, &o, StatusCode::OK))
        }
        "deletecollection" => {
            let opts = delete_options(req)?;
            let page = s.store.list(
                &info.gr(),
                (!ns.is_empty()).then_some(ns),
                None,
                0,
                filter(req)?,
            );
            for o in &page.items {
                let _ = s.delete(&info, o.namespace(), o.name(), &opts);
            }
            let items: Vec<&StoredObject> = page.items.iter().map(|o| o.as_ref()).collect();
            Ok(json_response(
                StatusCode::OK,
                list_body(&info, &items, page.rv, None, 0),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

pub(crate) async fn patch(
    s: &Arc<Shared>,
    req: &Req,
    info: &ResourceInfo,
    t: &Target,
    opts: WriteOptions,
) -> ApiResult<Response> {
    let ct = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default();
    let ptype =
        PatchType::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct))?;
    let (o, w, created) = s
        .patch(
            &req.user,
            info,
            &t.namespace,
            &t.name,
            &t.sub,
            ptype,
            &req.body,
            &opts,
        )
        .await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if t.sub == "scale" {
        return Ok(value_response(code, &scale_of(info, &o.value)));
    }
    Ok(with_warnings(render_one(s, req, info, &o, code), &w))
}

fn delete_options(req: &Req) -> ApiResult<DeleteOptions> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        req.decode()?
    };
    let policy = req
        .q("propagationPolicy")
        .or(body["propagationPolicy"].as_str());
    let propagation = match policy {
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        _ if body["orphanDependents"] == true => Propagation::Orphan,
        _ => Propagation::Background,
    };
    let dry = req.q("dryRun") == Some("All")
        || body["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "All"));
    Ok(DeleteOptions {
        propagation,
        uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from),
        resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|r| r.parse().ok()),
        dry_run: dry,
    })
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
