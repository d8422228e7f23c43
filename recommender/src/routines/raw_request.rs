//! Raw requests (edge): PATCHes whose response is not decoded, and a GET read into one buffer. The API server answers a patch with
//! the whole object; for a checkpoint that is two histograms, and decoding tens of thousands of
//! them into typed objects per loop cost more CPU than building the requests. The body is sent
//! as given, so callers serialise typed values straight to bytes without a `serde_json::Value`
//! tree in between.

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

/// Sends one PATCH of `body` (of `content_type`) to `path`; the response body is dropped
/// unread. API errors come back as `kube::Error::Api` with their status code, as from `Api`.
pub async fn patch(
    client: &Client,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), kube::Error> {
    let request = http::Request::patch(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::ACCEPT, "application/json")
        .body(body)
        .map_err(kube::Error::HttpError)?;
    client.request_text(request).await.map(drop)
}

/// Sends one GET to `path` and reads the whole response body into one buffer (sized by its
/// `Content-Length` when given). `Client::request_text` holds the body up to three times while
/// collecting it (chunks, contiguous bytes, string): about 60 MiB for a 20 MiB PodMetrics list.
pub async fn raw_get(client: &Client, path: &str) -> Result<Vec<u8>, kube::Error> {
    use http_body_util::BodyExt;

    let request = http::Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(kube::client::Body::empty())
        .map_err(kube::Error::HttpError)?;
    let response = client.send(request).await?;
    let status = response.status();
    let expected = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = response.into_body();
    let mut bytes = Vec::with_capacity(expected);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    if status.is_client_error() || status.is_server_error() {
        let text = String::from_utf8_lossy(&bytes);
        let status_object =
            serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
                kube::core::Status::failure(text.trim(), "Failed to parse error data")
                    .with_code(status.as_u16())
            });
        return Err(kube::Error::Api(status_object.boxed()));
    }
    Ok(bytes)
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
