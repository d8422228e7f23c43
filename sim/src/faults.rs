//! Fault injection for reliability tests: error rates per verb/resource (500, 503, 429 with
//! Retry-After), added latency, dropping every watch after a while, and a "restart" that drops all
//! watches at once. Set at start (`SimOptions`, CLI flags) or at run time (`Sim::faults`).

use std::str::FromStr;
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::ApiError;

/// The error a fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 500 InternalError.
    Internal,
    /// 503 ServiceUnavailable.
    Unavailable,
    /// 429 TooManyRequests with `Retry-After` seconds.
    TooManyRequests {
        /// Seconds in the Retry-After header.
        retry_after: u64,
    },
}

/// Fail `rate` of the requests matching `verb` and `resource` (None = any) with `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Kubernetes verb (`list`, `watch`, `patch`, ...), None for any.
    pub verb: Option<String>,
    /// Resource plural (`pods`), None for any.
    pub resource: Option<String>,
    /// Probability in [0, 1].
    pub rate: f64,
    /// The error returned.
    pub kind: FaultKind,
}

impl FromStr for FaultRule {
    type Err = String;

    /// `VERB:RESOURCE:RATE:CODE[:RETRY_AFTER]`, `*` for any verb or resource: `list:pods:0.5:503`,
    /// `*:*:0.1:429:2`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() < 4 {
            return Err(format!(
                "fault {s:?}: expected VERB:RESOURCE:RATE:CODE[:RETRY_AFTER]"
            ));
        }
        let any = |p: &str| {
            if p == "*" || p.is_empty() {
                None
            } else {
                Some(p.to_string())
            }
        };
        let rate: f64 = parts[2]
            .parse()
            .map_err(|_| format!("fault {s:?}: bad rate"))?;
        let kind = match parts[3] {
            "500" => FaultKind::Internal,
            "503" => FaultKind::Unavailable,
            "429" => FaultKind::TooManyRequests {
                retry_after: parts
                    .get(4)
                    .map(|r| r.parse())
                    .transpose()
                    .map_err(|_| format!("fault {s:?}: bad retry"))?
                    .unwrap_or(1),
            },
            c => return Err(format!("fault {s:?}: code {c} is not 500, 503 or 429")),
        };
        Ok(FaultRule {
            verb: any(parts[0]),
            resource: any(parts[1]),
            rate,
            kind,
        })
    }
}

/// The fault settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Error rules; the first matching rule that fires wins.
    pub rules: Vec<FaultRule>,
    /// Added to every API request.
    pub latency: Duration,
    /// Every watch ends after this long.
    pub drop_watches_after: Option<Duration>,
}

/// Live fault settings shared by the server.
pub struct Faults {
    cfg: RwLock<FaultConfig>,
    restarts: watch::Sender<u64>,
}

impl Faults {
    /// Faults starting from `cfg`.
    pub fn new(cfg: FaultConfig) -> Self {
        Faults {
            cfg: RwLock::new(cfg),
            restarts: watch::channel(0).0,
        }
    }

    /// Replaces the settings.
    pub fn set(&self, cfg: FaultConfig) {
        *self.cfg.write().unwrap_or_else(|e| e.into_inner()) = cfg;
    }

    /// The current settings.
    pub fn get(&self) -> FaultConfig {
        self.cfg.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.set(FaultConfig::default());
    }

    /// Drops every open watch now, as an API server restart would.
    pub fn restart(&self) {
        self.restarts.send_modify(|n| *n += 1);
    }

    /// Notified on each restart.
    pub fn restarts(&self) -> watch::Receiver<u64> {
        self.restarts.subscribe()
    }

    /// The injected error for this request, if one fires.
    pub fn pick(&self, verb: &str, resource: &str) -> Option<ApiError> {
        let cfg = self.cfg.read().unwrap_or_else(|e| e.into_inner());
        let rule = cfg.rules.iter().find(|r| {
            r.verb.as_deref().is_none_or(|v| v == verb)
                && r.resource.as_deref().is_none_or(|x| x == resource)
                && fastrand::f64() < r.rate
        })?;
        Some(match rule.kind {
            FaultKind::Internal => ApiError::internal("injected fault: internal error"),
            FaultKind::Unavailable => ApiError::unavailable(
                "injected fault: the server is currently unable to handle the request",
            ),
            FaultKind::TooManyRequests { retry_after } => ApiError::too_many_requests(
                "injected fault: too many requests, please try again later",
                retry_after,
            ),
        })
    }

    /// Added latency.
    pub fn latency(&self) -> Duration {
        self.cfg.read().unwrap_or_else(|e| e.into_inner()).latency
    }

    /// How long watches live.
    pub fn drop_watches_after(&self) -> Option<Duration> {
        self.cfg
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .drop_watches_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_and_fires_by_rate() {
        let r: FaultRule = "list:pods:1:429:3".parse().unwrap();
        assert_eq!(r.kind, FaultKind::TooManyRequests { retry_after: 3 });
        assert!("x:y".parse::<FaultRule>().is_err());
        let f = Faults::new(FaultConfig {
            rules: vec![r, "*:*:0:500".parse().unwrap()],
            ..Default::default()
        });
        let e = f.pick("list", "pods").unwrap();
        assert_eq!((e.code, e.retry_after), (429, Some(3)));
        assert!(f.pick("get", "pods").is_none());
        assert!(f.pick("list", "nodes").is_none());
    }
}
