//! What anyone who reaches the components' ports sees (issue 23 item 4), on either backend: the
//! plain admin ports serve health and metrics, and the metrics name VPAs (the recommender's
//! per-VPA gauges, as documented) but never a pod, its uid, its annotations or image, a private
//! key or a ServiceAccount token; the webhook port answers only AdmissionReviews and says nothing
//! else about the cluster. Both are probed while the hamster runs with a recommendation, so there
//! is pod data to leak.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Env, Options};
use vpa_e2e::prometheus::http_get;

/// Strings no port may show: each hamster pod's name and uid, and what every pod and Secret
/// holds that is not ours to publish.
fn forbidden(pods: &[serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = pods
        .iter()
        .flat_map(|p| {
            [
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ]
        })
        .filter(|s| !s.is_empty())
        .collect();
    out.extend(
        [
            // The hamster's usage annotation and image.
            "constant:0.5",
            "registry.k8s.io",
            // PEM private keys (the webhook's) and JWTs (ServiceAccount tokens).
            "PRIVATE KEY",
            "eyJhbGciOi",
        ]
        .map(String::from),
    );
    out
}

/// The webhook port over TLS with the real curl: status and body of `method path` (a body for
/// POST), without verifying the certificate (what is shown, not to whom, is tested here).
fn webhook(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
        ])
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ])
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ports_show_no_pod_data_beyond_what_the_webhook_returns() {
    if vpa_e2e::require_tool("curl", &["curl"]).is_none() {
        return;
    }
    let Some(env) = Env::start(Options::fast()).await else {
        return;
    };
    env.wait_components().await;
    env.apply_hamster().await;
    env.wait_for_recommendation("a recommendation").await;
    let pods = env.two_hamsters().await;
    // The updater has had a loop with the hamster in it.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let forbidden = forbidden(&pods);

    let mut shown = 0;
    for (component, port) in [
        ("vpa-recommender", env.ports.recommender),
        ("vpa-updater", env.ports.updater),
        ("vpa-admission-controller", env.ports.admission),
    ] {
        for path in [
            "/metrics",
            "/healthz",
            "/health-check",
            "/readyz",
            "/",
            "/debug/pprof/",
        ] {
            let (status, body) =
                http_get(port, path).unwrap_or_else(|e| panic!("{component} {path}: {e}"));
            let leaks: Vec<&String> = forbidden
                .iter()
                .filter(|s| body.contains(s.as_str()))
                .collect();
            assert!(
                leaks.is_empty(),
                "{component} {path} (HTTP {status}) shows {leaks:?}:\n{body}"
            );
            if path == "/metrics" {
                assert_eq!(status, 200, "{component} serves /metrics");
                shown += body.lines().filter(|l| !l.starts_with('#')).count();
            }
            if path == "/" || path == "/debug/pprof/" {
                assert_eq!(
                    status, 404,
                    "{component} {path} is not served (profiling is off)"
                );
            }
        }
    }
    // The documented per-VPA series are there: the check above looked at real content.
    let (_, recommender) = http_get(env.ports.recommender, "/metrics").unwrap();
    assert!(
        recommender.contains("vpa=\"hamster-vpa\""),
        "the recommender's per-VPA gauges:\n{recommender}"
    );

    // The webhook: anything but a POSTed AdmissionReview gets an error that names no object.
    let port = env.ports.webhook;
    let probes = [
        ("GET", "/", ""),
        ("GET", "/metrics", ""),
        ("POST", "/", "{not json"),
        (
            "POST",
            "/",
            r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#,
        ),
    ];
    for (method, path, body) in probes {
        let (status, answer) = webhook(port, method, path, body);
        let leaks: Vec<&String> = forbidden
            .iter()
            .filter(|s| answer.contains(s.as_str()))
            .collect();
        env.mark(&format!(
            "webhook {method} {path} {body:?}: HTTP {status}, {} bytes",
            answer.len()
        ));
        assert!(
            (400..500).contains(&status),
            "{method} {path} {body:?} is refused: HTTP {status} {answer}"
        );
        assert!(
            leaks.is_empty(),
            "{method} {path} shows {leaks:?}: {answer}"
        );
        assert!(
            !answer.contains("hamster"),
            "{method} {path} names no object: {answer}"
        );
    }
    env.mark(&format!(
        "{shown} metric samples scraped, none with pod data"
    ));
    env.shutdown().await;
}
