//! Discovery and OpenAPI documents (any authenticated user, as `system:discovery` allows).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;

use super::{Req, not_found_path, openapi_cache, value_response};
use crate::api::Shared;
use crate::auth::{self, Attributes};
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::resource::Registry;

/// Serves a discovery or OpenAPI path.
pub(super) fn discover(s: &Arc<Shared>, reg: &Registry, req: &Req) -> ApiResult<Response> {
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
