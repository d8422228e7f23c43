//! PATCH requests (the patch type from Content-Type, Scale bodies for the scale subresource)
//! and the options of DELETE requests (propagation, preconditions, dry run).

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, Target, render_one, value_response, with_warnings};
use crate::api::{Shared, WriteOptions};
use crate::error::{ApiError, ApiResult};
use crate::patch::PatchType;
use crate::resource::{ResourceInfo, scale_of};
use crate::store::{DeleteOptions, Propagation};

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

pub(super) fn delete_options(req: &Req) -> ApiResult<DeleteOptions> {
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
