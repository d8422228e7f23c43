//! Container probes as kubelet runs them for process-backed containers: `httpGet` readiness and
//! liveness probes with their timing fields (pure tally), the HTTP call itself (edge, one
//! function), and the CrashLoopBackOff delay. Times are probe seconds since the container started;
//! the caller decides how long a probe second is in real time.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

/// An `httpGet` probe of a container.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpProbe {
    /// Request path.
    pub path: String,
    /// Container port (named ports resolved).
    pub port: u16,
    /// `initialDelaySeconds` (default 0).
    pub initial_delay: f64,
    /// `periodSeconds` (default 10).
    pub period: f64,
    /// `timeoutSeconds` (default 1).
    pub timeout: f64,
    /// `successThreshold` (default 1).
    pub success_threshold: u32,
    /// `failureThreshold` (default 3).
    pub failure_threshold: u32,
}

impl HttpProbe {
    /// The `kind` probe (`readinessProbe`, `livenessProbe`) of `container`, when it is an httpGet.
    pub fn of(container: &Value, kind: &str) -> Option<HttpProbe> {
        let probe = container.get(kind)?;
        let get = probe.get("httpGet")?;
        let port = match &get["port"] {
            Value::Number(n) => n.as_u64(),
            Value::String(name) => container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name.as_str())
                .and_then(|p| p["containerPort"].as_u64())
                .or_else(|| name.parse().ok()),
            _ => None,
        }
        .and_then(|p| u16::try_from(p).ok())?;
        let num = |k: &str, d: f64| probe[k].as_f64().unwrap_or(d);
        let count = |k: &str, d: u32| {
            probe[k]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(d)
                .max(1)
        };
        Some(HttpProbe {
            path: get["path"].as_str().unwrap_or("/").to_string(),
            port,
            initial_delay: num("initialDelaySeconds", 0.0),
            period: num("periodSeconds", 10.0).max(1.0),
            timeout: num("timeoutSeconds", 1.0).max(1.0),
            success_threshold: count("successThreshold", 1),
            failure_threshold: count("failureThreshold", 3),
        })
    }
}

/// Consecutive results of one probe of one running container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    successes: u32,
    failures: u32,
    last: Option<f64>,
}

impl Tally {
    /// Whether `probe` is due at `t` probe seconds after the container started.
    pub fn due(&self, probe: &HttpProbe, t: f64) -> bool {
        t >= probe.initial_delay && self.last.is_none_or(|l| t - l >= probe.period)
    }

    /// Records a result at `t`; returns the verdict when a threshold is reached (true: passing,
    /// false: failed).
    pub fn record(&mut self, probe: &HttpProbe, ok: bool, t: f64) -> Option<bool> {
        self.last = Some(t);
        if ok {
            self.failures = 0;
            self.successes += 1;
            (self.successes >= probe.success_threshold).then_some(true)
        } else {
            self.successes = 0;
            self.failures += 1;
            (self.failures >= probe.failure_threshold).then_some(false)
        }
    }
}

/// Probe seconds a container waits before its next start after `restarts` restarts so far, as
/// kubelet: the first restart at once, then 10 s doubling up to 300 s.
pub fn crash_backoff(restarts: i64) -> f64 {
    if restarts <= 0 {
        return 0.0;
    }
    let doublings = (restarts - 1).min(10) as i32;
    (10.0 * 2f64.powi(doublings)).min(300.0)
}

/// One HTTP probe: a GET of `path` at `addr` answering 2xx or 3xx within `timeout`.
pub async fn http_get(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> bool {
    let url = format!("http://{addr}{path}");
    client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success() || r.status().is_redirection())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container() -> Value {
        json!({"name": "c", "ports": [{"name": "metrics", "containerPort": 8944}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8944}},
            "startupProbe": {"exec": {"command": ["true"]}}})
    }

    #[test]
    fn http_probes_resolve_named_ports_and_default_like_kubernetes() {
        let c = container();
        let live = HttpProbe::of(&c, "livenessProbe").unwrap();
        assert_eq!(
            (
                live.path.as_str(),
                live.port,
                live.initial_delay,
                live.period,
                live.failure_threshold
            ),
            ("/healthz", 8944, 5.0, 10.0, 3)
        );
        let ready = HttpProbe::of(&c, "readinessProbe").unwrap();
        assert_eq!(
            (
                ready.period,
                ready.timeout,
                ready.success_threshold,
                ready.failure_threshold
            ),
            (10.0, 1.0, 1, 3)
        );
        assert_eq!(HttpProbe::of(&c, "startupProbe"), None, "only httpGet");
        assert_eq!(HttpProbe::of(&json!({}), "livenessProbe"), None);
    }

    #[test]
    fn tallies_wait_for_the_delay_and_period_and_count_consecutive_results() {
        let p = HttpProbe::of(&container(), "livenessProbe").unwrap();
        let mut t = Tally::default();
        assert!(!t.due(&p, 4.9));
        assert!(t.due(&p, 5.0));
        assert_eq!(t.record(&p, false, 5.0), None);
        assert!(!t.due(&p, 14.0));
        assert!(t.due(&p, 15.0));
        assert_eq!(t.record(&p, false, 15.0), None);
        assert_eq!(
            t.record(&p, true, 25.0),
            Some(true),
            "a success resets the failures"
        );
        assert_eq!(t.record(&p, false, 35.0), None);
        assert_eq!(t.record(&p, false, 45.0), None);
        assert_eq!(t.record(&p, false, 55.0), Some(false));
    }

    #[test]
    fn crash_backoff_doubles_from_ten_seconds_to_five_minutes() {
        let delays: Vec<f64> = (0..8).map(crash_backoff).collect();
        assert_eq!(delays, [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
        assert_eq!(crash_backoff(1000), 300.0);
    }
}
