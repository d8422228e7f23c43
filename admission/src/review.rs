//! AdmissionReview wire format (pure): request decoding and response encoding.
//!
//! The response is written by hand rather than through kube-core, so that `patch` is the base64
//! string kube-apiserver (Go, `[]byte`) expects, and the `apiVersion` echoes the request's.
//!
//! For speed, the objects under review stay undecoded JSON text ([`RawValue`]) until the handler
//! knows what they are, and the response is serialised straight to bytes.

use base64::Engine;
use json_patch::PatchOperation;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The served AdmissionReview version.
pub const ADMISSION_V1: &str = "admission.k8s.io/v1";

/// Group, version and resource of the object under review.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct GroupVersionResource {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version, e.g. `v1`.
    #[serde(default)]
    pub version: String,
    /// Plural resource name, e.g. `pods`.
    #[serde(default)]
    pub resource: String,
}

/// The fields of an AdmissionRequest the webhook reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifier echoed in the response.
    pub uid: String,
    /// The resource under review.
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// Subresource, empty for the main resource.
    #[serde(default)]
    pub sub_resource: Option<String>,
    /// Object name; may be empty on CREATE (generateName).
    #[serde(default)]
    pub name: Option<String>,
    /// Namespace of the object.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// The new object, as JSON text.
    #[serde(default)]
    pub object: Option<Box<RawValue>>,
    /// The previous object on UPDATE, as JSON text.
    #[serde(default)]
    pub old_object: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Review {
    api_version: Option<String>,
    kind: Option<String>,
    request: Option<AdmissionRequest>,
}

/// A decoded review: the request and the API version to answer with.
#[derive(Clone, Debug)]
pub struct DecodedReview {
    /// `admission.k8s.io/v1` or `v1beta1`.
    pub api_version: String,
    /// The request.
    pub request: AdmissionRequest,
}

/// Why a body is not an AdmissionReview.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The body is not JSON of the expected shape.
    #[error("malformed AdmissionReview: {0}")]
    Malformed(#[from] serde_json::Error),
    /// `kind` is not `AdmissionReview` or `apiVersion` not an admission version.
    #[error("not an AdmissionReview: apiVersion {api_version:?}, kind {kind:?}")]
    WrongKind {
        /// The apiVersion found.
        api_version: Option<String>,
        /// The kind found.
        kind: Option<String>,
    },
    /// `request` is missing.
    #[error("AdmissionReview has no request")]
    NoRequest,
}

impl ReviewError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_review",
            Self::WrongKind { .. } => "wrong_kind",
            Self::NoRequest => "no_request",
        }
    }
}

/// Decodes an AdmissionReview body.
pub fn decode(body: &[u8]) -> Result<DecodedReview, ReviewError> {
    let review: Review = serde_json::from_slice(body)?;
    let api_version = review.api_version.clone().unwrap_or_default();
    let admission_version =
        api_version == ADMISSION_V1 || api_version == "admission.k8s.io/v1beta1";
    if review.kind.as_deref() != Some("AdmissionReview") || !admission_version {
        return Err(ReviewError::WrongKind {
            api_version: review.api_version,
            kind: review.kind,
        });
    }
    let request = review.request.ok_or(ReviewError::NoRequest)?;
    Ok(DecodedReview {
        api_version,
        request,
    })
}

/// The webhook's answer to one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdmissionResponse {
    /// Whether the object is admitted.
    pub allowed: bool,
    /// JSON patch to apply, if any.
    pub patch: Vec<PatchOperation>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
    /// For a rejection: HTTP-like code, reason and message.
    pub denial: Option<(u16, String, String)>,
}

impl AdmissionResponse {
    /// Admit unchanged.
    pub fn allow() -> Self {
        Self {
            allowed: true,
            ..Default::default()
        }
    }

    /// Admit with a patch.
    pub fn patched(patch: Vec<PatchOperation>) -> Self {
        Self {
            allowed: true,
            patch,
            ..Default::default()
        }
    }

    /// Reject as invalid (422) with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            allowed: false,
            denial: Some((422, "Invalid".into(), message.into())),
            ..Default::default()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewOut<'a> {
    api_version: &'a str,
    kind: &'static str,
    response: ResponseOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseOut<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusOut<'a>>,
}

#[derive(Serialize)]
struct StatusOut<'a> {
    metadata: Empty,
    status: &'static str,
    code: u16,
    reason: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Empty {}

/// The full AdmissionReview answering `uid`, as JSON bytes.
pub fn encode(api_version: &str, uid: &str, resp: &AdmissionResponse) -> Vec<u8> {
    let patch = (!resp.patch.is_empty()).then(|| {
        let bytes = serde_json::to_vec(&resp.patch).expect("patch operations serialize");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    });
    let out = ReviewOut {
        api_version: if api_version.is_empty() {
            ADMISSION_V1
        } else {
            api_version
        },
        kind: "AdmissionReview",
        response: ResponseOut {
            uid,
            allowed: resp.allowed,
            patch_type: patch.as_ref().map(|_| "JSONPatch"),
            patch,
            warnings: &resp.warnings,
            status: resp
                .denial
                .as_ref()
                .map(|(code, reason, message)| StatusOut {
                    metadata: Empty {},
                    status: "Failure",
                    code: *code,
                    reason,
                    message,
                }),
        },
    };
    serde_json::to_vec(&out).expect("an AdmissionReview serializes")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn patch_is_a_base64_string_of_the_json_patch() {
        let op: PatchOperation =
            serde_json::from_value(json!({"op": "add", "path": "/a", "value": 1})).unwrap();
        let out = parse(encode(
            ADMISSION_V1,
            "u1",
            &AdmissionResponse::patched(vec![op]),
        ));
        let b64 = out["response"]["patch"]
            .as_str()
            .expect("patch is a string");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let back: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(back, json!([{"op": "add", "path": "/a", "value": 1}]));
        assert_eq!(out["response"]["patchType"], "JSONPatch");
        assert_eq!(out["response"]["uid"], "u1");
    }

    #[test]
    fn plain_allow_has_no_patch_fields() {
        let out = parse(encode(ADMISSION_V1, "u", &AdmissionResponse::allow()));
        assert_eq!(
            out,
            json!({"apiVersion": ADMISSION_V1, "kind": "AdmissionReview", "response": {"uid": "u", "allowed": true}})
        );
    }

    #[test]
    fn denial_and_warnings_have_upstream_shape() {
        let mut resp = AdmissionResponse::invalid("bad field");
        resp.warnings = vec!["careful".into()];
        let out = parse(encode("admission.k8s.io/v1beta1", "u", &resp));
        assert_eq!(
            out,
            json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                "response": {"uid": "u", "allowed": false, "warnings": ["careful"],
                    "status": {"metadata": {}, "status": "Failure", "code": 422,
                        "reason": "Invalid", "message": "bad field"}}})
        );
        let out = parse(encode("", "u", &AdmissionResponse::allow()));
        assert_eq!(out["apiVersion"], ADMISSION_V1);
    }

    #[test]
    fn objects_stay_json_text_until_read() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"a": [1, 2]},"oldObject":null}}"#;
        let review = decode(body).unwrap();
        assert_eq!(review.request.object.unwrap().get(), r#"{"a": [1, 2]}"#);
        assert!(review.request.old_object.is_none());
    }

    #[test]
    fn wrong_kind_and_missing_request_are_errors() {
        assert!(matches!(
            decode(br#"{"apiVersion":"v1","kind":"Pod"}"#),
            Err(ReviewError::WrongKind { .. })
        ));
        assert!(matches!(
            decode(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#),
            Err(ReviewError::NoRequest)
        ));
        assert!(matches!(decode(b"{"), Err(ReviewError::Malformed(_))));
    }
}
