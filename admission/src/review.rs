//! AdmissionReview wire format (pure): request decoding and response encoding.
//!
//! The response is written by hand rather than through kube-core, so that `patch` is the base64
//! string kube-apiserver (Go, `[]byte`) expects, and the `apiVersion` echoes the request's.
//!
//! For speed, the objects under review stay undecoded JSON text ([`RawValue`]) until the handler
//! knows what they are, and the response is serialised straight to bytes.

use std::borrow::Cow;

use base64::Engine;
use json_patch::PatchOperation;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The served AdmissionReview version.
pub const ADMISSION_V1: &str = "admission.k8s.io/v1";

/// Group, version and resource of the object under review.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct GroupVersionResource<'a> {
    /// API group; empty for the core group.
    #[serde(default, borrow)]
    pub group: Cow<'a, str>,
    /// API version, e.g. `v1`.
    #[serde(default, borrow)]
    pub version: Cow<'a, str>,
    /// Plural resource name, e.g. `pods`.
    #[serde(default, borrow)]
    pub resource: Cow<'a, str>,
}

/// The fields of an AdmissionRequest the webhook reads, borrowed from the request body where
/// JSON escaping allows.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    /// Identifier echoed in the response.
    #[serde(borrow)]
    pub uid: Cow<'a, str>,
    /// The resource under review.
    #[serde(default, borrow)]
    pub resource: GroupVersionResource<'a>,
    /// Subresource, empty for the main resource.
    #[serde(default, borrow)]
    pub sub_resource: Option<Cow<'a, str>>,
    /// Object name; may be empty on CREATE (generateName).
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    /// Namespace of the object.
    #[serde(default, borrow)]
    pub namespace: Option<Cow<'a, str>>,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    /// The new object, as JSON text.
    #[serde(default, borrow)]
    pub object: Option<&'a RawValue>,
    /// The previous object on UPDATE, as JSON text.
    #[serde(default, borrow)]
    pub old_object: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Review<'a> {
    #[serde(borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    request: Option<AdmissionRequest<'a>>,
}

/// A decoded review: the request and the API version to answer with, borrowing the body.
#[derive(Clone, Debug)]
pub struct DecodedReview<'a> {
    /// `admission.k8s.io/v1` or `v1beta1`.
    pub api_version: Cow<'a, str>,
    /// The request.
    pub request: AdmissionRequest<'a>,
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
pub fn decode(body: &[u8]) -> Result<DecodedReview<'_>, ReviewError> {
    let review: Review = serde_json::from_slice(body)?;
    let api_version = review.api_version.clone().unwrap_or_default();
    let admission_version =
        api_version == ADMISSION_V1 || api_version == "admission.k8s.io/v1beta1";
    if review.kind.as_deref() != Some("AdmissionReview") || !admission_version {
        return Err(ReviewError::WrongKind {
            api_version: review.api_version.map(Cow::into_owned),
            kind: review.kind.map(Cow::into_owned),
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
struct StatusOut<'a> {
    metadata: Empty,
    status: &'static str,
    code: u16,
    reason: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Empty {}

/// Appends `value` as JSON (strings escaped).
fn push_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("writing JSON to memory cannot fail");
}

/// Appends the JSON of `ops`: `add` operations (all a pod patch holds) written directly, others
/// through their derived `Serialize`; the same text either way.
fn push_patch(out: &mut Vec<u8>, ops: &[PatchOperation]) {
    out.push(b'[');
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match op {
            PatchOperation::Add(add) => {
                out.extend_from_slice(b"{\"op\":\"add\",\"path\":");
                push_json(out, add.path.as_str());
                out.extend_from_slice(b",\"value\":");
                push_json(out, &add.value);
                out.push(b'}');
            }
            other => push_json(out, other),
        }
    }
    out.push(b']');
}

/// Rough bytes of one serialised patch operation, to size the buffer once.
const BYTES_PER_OPERATION: usize = 96;

/// The full AdmissionReview answering `uid`, as JSON bytes.
///
/// Written piece by piece rather than through a derived `Serialize`: the base64 patch (most of
/// the answer) goes straight into the output, which needs no escaping, instead of being built
/// as a `String` and then scanned for characters to escape.
pub fn encode(api_version: &str, uid: &str, resp: &AdmissionResponse) -> Vec<u8> {
    let api_version = if api_version.is_empty() {
        ADMISSION_V1
    } else {
        api_version
    };
    let mut patch = Vec::new();
    if !resp.patch.is_empty() {
        patch.reserve(resp.patch.len() * BYTES_PER_OPERATION);
        push_patch(&mut patch, &resp.patch);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(160 + uid.len() + patch.len() * 4 / 3);
    out.extend_from_slice(b"{\"apiVersion\":");
    push_json(&mut out, api_version);
    out.extend_from_slice(b",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":");
    push_json(&mut out, uid);
    out.extend_from_slice(if resp.allowed {
        b",\"allowed\":true"
    } else {
        b",\"allowed\":false"
    });
    if !patch.is_empty() {
        out.extend_from_slice(b",\"patchType\":\"JSONPatch\",\"patch\":\"");
        let at = out.len();
        out.resize(
            at + base64::encoded_len(patch.len(), true).expect("patch size fits"),
            0,
        );
        let written = b64
            .encode_slice(&patch, &mut out[at..])
            .expect("buffer sized for the encoding");
        out.truncate(at + written);
        out.push(b'"');
    }
    if !resp.warnings.is_empty() {
        out.extend_from_slice(b",\"warnings\":");
        push_json(&mut out, &resp.warnings);
    }
    if let Some((code, reason, message)) = &resp.denial {
        out.extend_from_slice(b",\"status\":");
        let status = StatusOut {
            metadata: Empty {},
            status: "Failure",
            code: *code,
            reason,
            message,
        };
        push_json(&mut out, &status);
    }
    out.extend_from_slice(b"}}");
    out
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
    fn patch_text_is_what_the_derived_serialisation_writes() {
        let ops: Vec<PatchOperation> = serde_json::from_value(json!([
            {"op": "add", "path": "/metadata/annotations", "value": {}},
            {"op": "add", "path": "/spec/containers/0/resources/requests/cpu", "value": "250m"},
            {"op": "add", "path": "/metadata/annotations/a~1b", "value": "say \"hi\"\n"},
            {"op": "replace", "path": "/x", "value": [1, {"a": null}]},
            {"op": "remove", "path": "/y"}
        ]))
        .unwrap();
        let mut ours = Vec::new();
        push_patch(&mut ours, &ops);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&ops).unwrap()
        );
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
