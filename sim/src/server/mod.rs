//! The HTTP layer: one axum fallback handler that authenticates, routes Kubernetes paths
//! (discovery, OpenAPI, resources and subresources), authorizes with RBAC, injects faults, and
//! renders objects, lists, tables and Status errors. Edge. The parsed request is in `request`,
//! responses in `response`, authentication in `authn`, discovery in `discover`, reads in `read`,
//! patches and delete options in `write`, subresources and reviews in `subresources`.

mod authn;
mod control;
mod discover;
mod openapi_cache;
mod read;
mod request;
mod response;
mod subresources;
mod watch;
mod write;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

pub(crate) use read::{filter, object_bytes};
use read::{list, list_body, render_one};
pub(crate) use request::{Req, Target, parse_target};
use request::{not_found_path, verb_of};
use response::with_warnings;
pub(crate) use response::{error_response, json_response, value_response};
use write::delete_options;
pub(crate) use write::patch;

use crate::api::{AuditRecord, Shared, ns_of};
use crate::auth::{self, Attributes};
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::store::{Deleted, StoredObject};

/// The router serving the whole API.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
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
    let user = match authn::authenticate(&s, &parts.headers) {
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
        return discover::discover(s, &reg, req);
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
