//! The simulator's control endpoints under `/sim/v1/` (admin only). Edge.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{Req, not_found_path, value_response};
use crate::api::Shared;
use crate::error::{ApiError, ApiResult};

/// The simulator's own control endpoints (admin only), for the standalone binary:
/// `PUT /sim/v1/faults` with `{"rules": ["list:pods:0.1:503"], "latencyMs": 0, "dropWatchesAfterSecs": null}`,
/// `POST /sim/v1/restart` (drop every watch) and `POST /sim/v1/compact` (410 for older versions).
pub(super) fn handle(s: &Shared, req: &Req, action: &str) -> ApiResult<Response> {
    if !req.user.is_admin() {
        return Err(ApiError::new(
            403,
            "Forbidden",
            "the simulator controls are for the admin",
        ));
    }
    match (action, &req.method) {
        ("faults", &Method::PUT) => {
            let body = req.decode()?;
            let rules = body["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    r.as_str()
                        .unwrap_or_default()
                        .parse::<crate::faults::FaultRule>()
                        .map_err(ApiError::bad_request)
                })
                .collect::<ApiResult<Vec<_>>>()?;
            s.faults.set(crate::faults::FaultConfig {
                rules,
                latency: std::time::Duration::from_millis(body["latencyMs"].as_u64().unwrap_or(0)),
                drop_watches_after: body["dropWatchesAfterSecs"]
                    .as_u64()
                    .map(std::time::Duration::from_secs),
            });
        }
        ("restart", &Method::POST) => s.faults.restart(),
        ("compact", &Method::POST) => s.store.compact(),
        _ => return Err(not_found_path()),
    }
    Ok(value_response(
        StatusCode::OK,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    ))
}
