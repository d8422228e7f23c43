//! The API server's audit log (JSON lines, `audit.k8s.io/v1` Events at Metadata level) read into
//! the same records the sim's audit hook gives, so one test can check either backend.

use serde_json::Value;
use vpa_sim::AuditRecord;

/// One audit event as a record; `None` for a line that is not an answered request's event.
///
/// A request counts once it is answered: at `ResponseComplete`, except a watch, which completes
/// only when it ends (often never during a test) and so counts at `ResponseStarted`.
pub fn record(line: &str) -> Option<AuditRecord> {
    let e: Value = serde_json::from_str(line).ok()?;
    let answered = if e["verb"] == "watch" {
        "ResponseStarted"
    } else {
        "ResponseComplete"
    };
    if e["kind"] != "Event" || e["stage"] != answered {
        return None;
    }
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let object = &e["objectRef"];
    let decision = e["annotations"]["authorization.k8s.io/decision"].as_str();
    let code = e["responseStatus"]["code"].as_i64().unwrap_or(0);
    Some(AuditRecord {
        user: s(&e["user"]["username"]),
        verb: s(&e["verb"]),
        group: s(&object["apiGroup"]),
        resource: s(&object["resource"]),
        subresource: s(&object["subresource"]),
        namespace: s(&object["namespace"]),
        name: s(&object["name"]),
        allowed: match decision {
            Some(d) => d == "allow",
            None => code != 401 && code != 403,
        },
    })
}

/// Every completed request in an audit log's text, in order.
pub fn records(text: &str) -> Vec<AuditRecord> {
    text.lines().filter_map(record).collect()
}

/// Reads an audit log file as it grows: each call parses only the whole lines written since the
/// last one.
pub struct AuditReader {
    path: std::path::PathBuf,
    /// Bytes of whole lines already parsed.
    offset: u64,
    records: Vec<AuditRecord>,
}

impl AuditReader {
    /// A reader of `path` (which may not exist yet).
    pub fn new(path: std::path::PathBuf) -> AuditReader {
        AuditReader {
            path,
            offset: 0,
            records: Vec::new(),
        }
    }

    /// Parses what was appended since the last call (a line still being written waits).
    pub fn read_new(&mut self) {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        // A shorter file than what was read is a new one (rotated away): start it from the top.
        if file.metadata().is_ok_and(|m| m.len() < self.offset) {
            self.offset = 0;
        }
        let mut fresh = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut fresh).is_err()
        {
            return;
        }
        let Some(end) = fresh.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        self.records
            .extend(records(&String::from_utf8_lossy(&fresh[..=end])));
        self.offset += end as u64 + 1;
    }

    /// Every record read so far, in order.
    pub fn records(&self) -> &[AuditRecord] {
        &self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_log_is_read_from_its_start() {
        let line = |user: &str| {
            format!(
                r#"{{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{{"username":"{user}"}},"objectRef":{{"resource":"pods","namespace":"ns","name":"p"}},"responseStatus":{{"code":200}}}}"#
            ) + "\n"
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, line("a") + &line("b")).unwrap();
        let mut reader = AuditReader::new(path.clone());
        reader.read_new();
        assert_eq!(reader.records().len(), 2);
        std::fs::write(&path, line("c")).unwrap();
        reader.read_new();
        let users: Vec<&str> = reader.records().iter().map(|r| r.user.as_str()).collect();
        assert_eq!(users, ["a", "b", "c"]);
    }

    #[test]
    fn an_eviction_event_becomes_a_record() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","verb":"create","user":{"username":"system:serviceaccount:kube-system:vpa-updater","groups":["system:serviceaccounts"]},"objectRef":{"resource":"pods","namespace":"default","name":"hamster-1","apiVersion":"v1","subresource":"eviction"},"responseStatus":{"metadata":{},"code":201},"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC"}}"#;
        let r = record(line).unwrap();
        assert_eq!(r.user, "system:serviceaccount:kube-system:vpa-updater");
        assert_eq!(
            (r.verb.as_str(), r.resource.as_str(), r.subresource.as_str()),
            ("create", "pods", "eviction")
        );
        assert_eq!(
            (r.namespace.as_str(), r.name.as_str(), r.group.as_str()),
            ("default", "hamster-1", "")
        );
        assert!(r.allowed);
    }

    #[test]
    fn a_forbidden_request_is_not_allowed_and_other_stages_are_skipped() {
        let forbidden = r#"{"kind":"Event","stage":"ResponseComplete","verb":"list","user":{"username":"u"},"objectRef":{"resource":"secrets","apiGroup":""},"responseStatus":{"code":403},"annotations":{"authorization.k8s.io/decision":"forbid"}}"#;
        let list_started =
            r#"{"kind":"Event","stage":"ResponseStarted","verb":"list","user":{"username":"u"}}"#;
        let all = records(&format!("{forbidden}\n{list_started}\nnot json\n"));
        assert_eq!(all.len(), 1);
        assert!(!all[0].allowed);
        assert_eq!(all[0].resource, "secrets");
    }

    #[test]
    fn the_reader_parses_each_whole_line_once_as_the_file_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let line = r#"{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{"username":"u"},"objectRef":{"resource":"pods","name":"a"},"responseStatus":{"code":200}}"#;
        let mut reader = AuditReader::new(path.clone());
        reader.read_new();
        assert!(reader.records().is_empty());
        std::fs::write(&path, format!("{line}\n{}", &line[..20])).unwrap();
        reader.read_new();
        assert_eq!(reader.records().len(), 1);
        std::fs::write(&path, format!("{line}\n{line}\n")).unwrap();
        reader.read_new();
        reader.read_new();
        assert_eq!(reader.records().len(), 2);
    }

    #[test]
    fn a_watch_counts_when_it_starts_and_only_then() {
        let started = r#"{"kind":"Event","stage":"ResponseStarted","verb":"watch","user":{"username":"u"},"objectRef":{"resource":"pods","apiGroup":""},"responseStatus":{"code":200},"annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        let ended = started.replace("ResponseStarted", "ResponseComplete");
        let all = records(&format!("{started}\n{ended}\n"));
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].verb.as_str(), all[0].resource.as_str()),
            ("watch", "pods")
        );
        assert!(all[0].allowed);
    }
}
