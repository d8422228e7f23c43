//! Raw requests (edge): PATCHes and POSTs whose response is not decoded, and GETs read chunk by
//! chunk; all of them read the response body as it arrives instead of collecting it. The API
//! server answers a write with the whole object; for a checkpoint that is two histograms, and
//! decoding tens of thousands of them into typed objects per loop cost more CPU than building
//! the requests. The body is sent as given, so callers serialise typed values straight to bytes
//! without a `serde_json::Value` tree in between.

use kube::{Client, Resource};

/// `application/json-patch+json` (RFC 6902).
pub const JSON_PATCH: &str = "application/json-patch+json";
/// `application/merge-patch+json` (RFC 7386).
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// The path of the object `name` of kind `K` in `namespace`, plus `subresource` (e.g.
/// `/status`, or empty).
pub fn object_path<K>(namespace: &str, name: &str, subresource: &str) -> String
where
    K: Resource<DynamicType = ()>,
{
    format!("{}/{name}{subresource}", K::url_path(&(), Some(namespace)))
}

/// Sends one PATCH of `body` (of `content_type`) to `path`; the response body is read and
/// dropped as it arrives, never held whole. API errors come back as `kube::Error::Api` with
/// their status code, as from `Api`.
pub async fn patch(
    client: &Client,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), kube::Error> {
    send_unread(client, http::Method::PATCH, path, content_type, body).await
}

/// Sends one POST (a create) of the JSON `body` to the collection at `path`; the response body
/// (the created object) is dropped as it arrives. Errors as for [`patch`].
pub async fn post(client: &Client, path: &str, body: Vec<u8>) -> Result<(), kube::Error> {
    send_unread(client, http::Method::POST, path, "application/json", body).await
}

async fn send_unread(
    client: &Client,
    method: http::Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), kube::Error> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::ACCEPT, "application/json")
        .body(kube::client::Body::from(body))
        .map_err(kube::Error::HttpError)?;
    send_chunks(client, request, |_| {}).await
}

/// Sends one GET to `path` and hands each chunk of a successful response's body to `each` as it
/// arrives, so the body never exists as a whole (`Client::request_text` would hold it up to three
/// times: chunks, contiguous bytes, string). An error status comes back as `kube::Error::Api`
/// with its code, as from `Api` (its body, a `Status`, read whole).
pub async fn get_chunks(
    client: &Client,
    path: &str,
    each: impl FnMut(&[u8]),
) -> Result<(), kube::Error> {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(kube::client::Body::empty())
        .map_err(kube::Error::HttpError)?;
    send_chunks(client, request, each).await
}

/// Sends `request` and hands each chunk of a successful response's body to `each`; an error
/// status becomes `kube::Error::Api` with its `Status` (read whole: it is small).
async fn send_chunks(
    client: &Client,
    request: http::Request<kube::client::Body>,
    mut each: impl FnMut(&[u8]),
) -> Result<(), kube::Error> {
    use http_body_util::BodyExt;

    let response = client.send(request).await?;
    let status = response.status();
    let failed = status.is_client_error() || status.is_server_error();
    let mut body = response.into_body();
    let mut error_text = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            match failed {
                true => error_text.extend_from_slice(&data),
                false => each(&data),
            }
        }
    }
    if failed {
        let text = String::from_utf8_lossy(&error_text);
        let status_object =
            serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
                kube::core::Status::failure(text.trim(), "Failed to parse error data")
                    .with_code(status.as_u16())
            });
        return Err(kube::Error::Api(status_object.boxed()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use vpa_common::api::{VerticalPodAutoscaler, VerticalPodAutoscalerCheckpoint};

    use super::*;

    #[test]
    fn paths_name_the_object_and_subresource() {
        assert_eq!(
            object_path::<VerticalPodAutoscaler>("ns", "web", "/status"),
            "/apis/autoscaling.k8s.io/v1/namespaces/ns/verticalpodautoscalers/web/status"
        );
        assert_eq!(
            object_path::<VerticalPodAutoscalerCheckpoint>("ns", "web-app", ""),
            "/apis/autoscaling.k8s.io/v1/namespaces/ns/verticalpodautoscalercheckpoints/web-app"
        );
    }
}
