//! Serves `/openapi/v3` and the per-group-version documents, built once per registry generation.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::json_response;
use crate::api::Shared;
use crate::openapi;
use crate::resource::Registry;

fn rebuild(reg: &Registry) -> std::collections::HashMap<String, (String, Bytes)> {
    let mut docs = std::collections::HashMap::new();
    for (group, versions) in reg.groups() {
        for v in versions {
            if let Some(doc) = openapi::gv_doc(reg, &group, &v) {
                let body = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
                docs.insert(openapi::gv_path(&group, &v), (openapi::hash(&body), body));
            }
        }
    }
    docs
}

/// The response for an `/openapi/...` path, or None for 404.
pub(super) fn serve(s: &Arc<Shared>, reg: &Registry, path: &str) -> Option<Response> {
    let generation = s.registry_generation();
    let mut cache = s.openapi.lock().unwrap_or_else(|e| e.into_inner());
    if cache.0 != generation {
        *cache = (generation, rebuild(reg));
    }
    if path == "/openapi/v3" {
        let mut entries: Vec<(String, String)> = cache
            .1
            .iter()
            .map(|(p, (h, _))| (p.clone(), h.clone()))
            .collect();
        entries.sort();
        let index = openapi::index(&entries);
        return Some(json_response(
            StatusCode::OK,
            serde_json::to_vec(&index).unwrap_or_default(),
        ));
    }
    let gv = path.strip_prefix("/openapi/v3/")?;
    cache
        .1
        .get(gv)
        .map(|(_, body)| json_response(StatusCode::OK, body.clone()))
}
