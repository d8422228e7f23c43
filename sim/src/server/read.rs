//! Reading: objects as served (version rewrite), single objects and lists as JSON or Tables,
//! selectors, and paginated lists with continue tokens that expire with compaction. Edge.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Req, json_response, value_response};
use crate::api::Shared;
use crate::error::{ApiError, ApiResult};
use crate::resource::ResourceInfo;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::StoredObject;
use crate::table;

/// The object as served: its stored bytes, with apiVersion rewritten when it was stored in
/// another version (another served one, or a storage version the CRD has since moved from).
pub(crate) fn object_bytes(info: &ResourceInfo, o: &StoredObject) -> Bytes {
    if is_api_version(info, o.value["apiVersion"].as_str().unwrap_or_default()) {
        return o.json.clone();
    }
    let mut v = o.value.clone();
    v["apiVersion"] = json!(info.api_version());
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// Whether `api_version` is `info`'s `group/version` (without allocating: lists call it per item).
fn is_api_version(info: &ResourceInfo, api_version: &str) -> bool {
    match api_version.split_once('/') {
        Some((group, version)) => group == info.group && version == info.version,
        None => info.group.is_empty() && api_version == info.version,
    }
}

pub(super) fn render_one(
    s: &Shared,
    req: &Req,
    info: &ResourceInfo,
    o: &StoredObject,
    code: StatusCode,
) -> Response {
    if req.wants_table() && req.method == Method::GET {
        let t = table::table(
            &info.columns,
            &[&o.value],
            json!({"resourceVersion": o.rv.to_string()}),
            req.include_object(),
            s.store.now_time(),
        );
        return value_response(code, &t);
    }
    json_response(code, object_bytes(info, o))
}

/// The filter of `labelSelector` and `fieldSelector`.
pub(crate) fn filter(req: &Req) -> ApiResult<impl Fn(&StoredObject) -> bool + use<>> {
    let labels = LabelSelector::parse(req.q("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(req.q("fieldSelector").unwrap_or_default())?;
    Ok(move |o: &StoredObject| {
        labels.matches_object(&o.value) && (fields.is_empty() || fields.matches(&o.value))
    })
}

pub(super) fn list_body(
    info: &ResourceInfo,
    items: &[&StoredObject],
    rv: u64,
    cont: Option<&str>,
    remaining: usize,
) -> Bytes {
    let mut meta = format!("\"resourceVersion\":\"{rv}\"");
    if let Some(c) = cont {
        meta.push_str(&format!(
            ",\"continue\":\"{c}\",\"remainingItemCount\":{remaining}"
        ));
    }
    let total: usize = items.iter().map(|o| o.json.len() + 1).sum();
    let mut out = Vec::with_capacity(total + 256);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{{meta}}},\"items\":[",
            info.kind,
            info.api_version()
        )
        .as_bytes(),
    );
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&object_bytes(info, o));
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

pub(super) fn list(s: &Shared, req: &Req, info: &ResourceInfo, ns: &str) -> ApiResult<Response> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let limit: usize = req.q("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let after = match req.q("continue") {
        Some(c) => {
            let tok: Value = b64
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            let rv = tok["rv"].as_u64().unwrap_or(0);
            if s.store.is_compacted(&info.gr(), rv) {
                return Err(ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                ));
            }
            Some((
                rv,
                (
                    tok["ns"].as_str().unwrap_or_default().to_string(),
                    tok["name"].as_str().unwrap_or_default().to_string(),
                ),
            ))
        }
        None => None,
    };
    let ns_filter = (info.namespaced && !ns.is_empty()).then_some(ns);
    let page = s.store.list(
        &info.gr(),
        ns_filter,
        after.as_ref().map(|(_, k)| k),
        limit,
        filter(req)?,
    );
    let rv = after.as_ref().map(|(rv, _)| *rv).unwrap_or(page.rv);
    let cont = page
        .next
        .as_ref()
        .map(|(ns, name)| b64.encode(json!({"rv": rv, "ns": ns, "name": name}).to_string()));
    if req.wants_table() {
        let objs: Vec<&Value> = page.items.iter().map(|o| &o.value).collect();
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if let Some(c) = &cont {
            meta["continue"] = json!(c);
        }
        return Ok(value_response(
            StatusCode::OK,
            &table::table(
                &info.columns,
                &objs,
                meta,
                req.include_object(),
                s.store.now_time(),
            ),
        ));
    }
    let items: Vec<&StoredObject> = page.items.iter().map(|o| o.as_ref()).collect();
    Ok(json_response(
        StatusCode::OK,
        list_body(info, &items, rv, cont.as_deref(), page.remaining),
    ))
}
