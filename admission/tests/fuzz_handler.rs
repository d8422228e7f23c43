//! Arbitrary bytes (and mutated real reviews) never panic the handler and always get a
//! well-formed HTTP answer with a JSON body.

mod support;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;
use vpa_admission_controller::handler::router;

use support::POD_CREATE;

fn answer(body: Vec<u8>) -> (u16, Value) {
    let state = support::hamster_state();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async move {
        let req = Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = router(state).oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).expect("body is JSON"),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_an_answer(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (status, json) = answer(body);
        prop_assert!(status == 200 || status == 400);
        if status == 400 {
            prop_assert!(json["error"].is_string());
        }
    }

    #[test]
    fn corrupted_reviews_get_an_answer(pos in 0usize..POD_CREATE.len(), byte in any::<u8>(), cut in 0usize..POD_CREATE.len()) {
        let mut body = POD_CREATE.as_bytes().to_vec();
        body[pos] = byte;
        body.truncate(cut.max(pos + 1));
        let (status, json) = answer(body);
        prop_assert!(status == 200 || status == 400);
        if status == 200 {
            prop_assert_eq!(json["kind"].as_str(), Some("AdmissionReview"));
            prop_assert_eq!(json["response"]["allowed"].as_bool(), Some(true));
        }
    }
}
