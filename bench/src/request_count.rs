//! Counting the API requests one identity sends to the sim, through its audit hook, without
//! keeping the records: a benchmark reads the count at each loop's end to get requests per loop.
//! Edge (installs the hook).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vpa_sim::{AuditRecord, Sim};

/// Requests by user, and evictions (`create` of `pods/eviction`) by user.
#[derive(Clone, Default)]
pub struct RequestCounter {
    by_user: Arc<Mutex<HashMap<String, Arc<Counts>>>>,
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    evictions: AtomicU64,
    /// By `verb resource[/subresource]`.
    by_kind: Mutex<HashMap<String, u64>>,
}

impl RequestCounter {
    /// Installs a counter as `sim`'s audit hook (replacing any other).
    pub fn install(sim: &Sim) -> RequestCounter {
        let counter = RequestCounter::default();
        let sink = counter.clone();
        sim.shared()
            .set_audit_hook(Some(Arc::new(move |r: &AuditRecord| sink.record(r))));
        counter
    }

    /// Counts one request.
    pub fn record(&self, r: &AuditRecord) {
        let counts = self.counts(&r.user);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let kind = match r.subresource.as_str() {
            "" => format!("{} {}", r.verb, r.resource),
            sub => format!("{} {}/{sub}", r.verb, r.resource),
        };
        *counts
            .by_kind
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
        if r.verb == "create" && r.resource == "pods" && r.subresource == "eviction" {
            counts.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counts(&self, user: &str) -> Arc<Counts> {
        let mut map = self.by_user.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(user.to_string()).or_default().clone()
    }

    /// Requests `user` sent so far.
    pub fn requests(&self, user: &str) -> u64 {
        self.counts(user).requests.load(Ordering::Relaxed)
    }

    /// Requests `user` sent so far by `verb resource[/subresource]`, most first.
    pub fn by_kind(&self, user: &str) -> Vec<(String, u64)> {
        let counts = self.counts(user);
        let map = counts.by_kind.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(String, u64)> = map.iter().map(|(k, n)| (k.clone(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Evictions `user` asked for so far.
    pub fn evictions(&self, user: &str) -> u64 {
        self.counts(user).evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(user: &str, verb: &str, resource: &str, subresource: &str) -> AuditRecord {
        AuditRecord {
            user: user.into(),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: "ns".into(),
            name: "p".into(),
            allowed: true,
        }
    }

    #[test]
    fn counts_requests_and_evictions_per_user() {
        let c = RequestCounter::default();
        c.record(&rec("peer", "create", "pods", "eviction"));
        c.record(&rec("peer", "patch", "verticalpodautoscalers", "status"));
        c.record(&rec("other", "list", "pods", ""));
        assert_eq!(c.requests("peer"), 2);
        assert_eq!(c.evictions("peer"), 1);
        assert_eq!(c.requests("other"), 1);
        assert_eq!(c.evictions("other"), 0);
        assert_eq!(c.requests("nobody"), 0);
        assert_eq!(
            c.by_kind("peer"),
            [
                ("create pods/eviction".to_string(), 1),
                ("patch verticalpodautoscalers/status".to_string(), 1)
            ]
        );
    }
}
