//! AdmissionReview bodies through the handler's pure path (decode, decide, encode), with every
//! feature gate off and on. Checks: every decodable review gets a well-formed AdmissionReview
//! answer with the request's uid and apiVersion; a pod is never refused; a refusal carries a
//! status; any patch is base64 JSON Patch that applies to the object under review (as
//! kube-apiserver applies it to the object it decoded) and leaves an object of the same kind.

#![no_main]

use base64::Engine;
use k8s_openapi::api::core::v1::Pod;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vpa_admission_controller::handler::decide;
use vpa_admission_controller::pod::decode_pod;
use vpa_admission_controller::review::{self, DecodedReview};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_fuzz::admission::states;

/// The object under review as kube-apiserver holds it: fully decoded and encoded again.
fn object_as_served(resource: &str, raw: &str) -> Value {
    match resource {
        "Pod" => match serde_json::from_str::<Pod>(raw) {
            Ok(pod) => serde_json::to_value(pod),
            // kube-apiserver would not have decoded it: what the webhook read is all there is.
            Err(_) => serde_json::to_value(decode_pod(raw).expect("the handler decoded it")),
        },
        _ => {
            let value: Value = serde_json::from_str(raw).expect("the handler decoded it");
            let vpa: VerticalPodAutoscaler =
                vpa_common::api::from_json_value(value).expect("the handler decoded it");
            serde_json::to_value(vpa)
        }
    }
    .expect("an API object encodes")
}

fn check(decoded: &DecodedReview<'_>, resource: &str, resp: &review::AdmissionResponse) {
    let req = &decoded.request;
    let body = review::encode(&decoded.api_version, &req.uid, resp);
    let out: Value = serde_json::from_slice(&body).expect("the answer is JSON");
    assert_eq!(out["apiVersion"], decoded.api_version.as_ref());
    assert_eq!(out["kind"], "AdmissionReview");
    let response = &out["response"];
    assert_eq!(response["uid"], req.uid.as_ref());
    assert_eq!(response["allowed"], resp.allowed);
    if resource != "VPA" {
        assert!(resp.allowed, "a pod (or anything else) is never refused");
    }
    assert_eq!(response["status"].is_object(), !resp.allowed);
    let Some(patch) = response.get("patch") else {
        assert!(resp.patch.is_empty());
        return;
    };
    assert_eq!(response["patchType"], "JSONPatch");
    let text = base64::engine::general_purpose::STANDARD
        .decode(patch.as_str().expect("the patch is a string"))
        .expect("the patch is base64");
    let ops: json_patch::Patch = serde_json::from_slice(&text).expect("the patch is JSON Patch");
    let raw = req.object.expect("a patch answers an object").get();
    let mut doc = object_as_served(resource, raw);
    json_patch::patch(&mut doc, &ops).unwrap_or_else(|e| panic!("patch does not apply: {e}"));
    match resource {
        "Pod" => drop(serde_json::from_value::<Pod>(doc).expect("a patched pod is a pod")),
        _ => drop(
            vpa_common::api::from_json_value::<VerticalPodAutoscaler>(doc)
                .expect("a patched VPA is a VPA"),
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = review::decode(data) else {
        return;
    };
    for state in states() {
        let (resource, resp, _) = decide(state, &decoded.request);
        check(&decoded, resource, &resp);
    }
});
