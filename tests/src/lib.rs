//! Helpers shared by the workspace end-to-end tests: locating the repository and external tools.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod component;
pub mod grafana;
pub mod prometheus;
pub mod promql;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Whether we run under CI (`CI=true`), where a missing tool is a failure instead of a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds an external tool by trying `candidates` (absolute paths or names on `PATH`).
///
/// When none is found the test should skip: this prints why and returns `None`. Under CI it panics
/// instead, so a missing install step can never turn into a silently green run.
pub fn require_tool(what: &str, candidates: &[&str]) -> Option<PathBuf> {
    for candidate in candidates {
        let path = Path::new(candidate);
        if path.is_absolute() && path.exists() {
            return Some(path.to_path_buf());
        }
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {candidate}")])
            .output()
        {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !found.is_empty() {
                return Some(PathBuf::from(found));
            }
        }
    }
    let msg = format!("{what} not found (tried {candidates:?})");
    assert!(!in_ci(), "{msg}: required under CI=true");
    eprintln!("SKIP: {msg}");
    None
}

/// Runs a command and returns its stdout, panicking with stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Splits a multi-document YAML string into JSON values, skipping empty documents.
pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---")
        .filter(|d| {
            d.lines().any(|l| {
                !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---"
            })
        })
        .map(|d| {
            serde_saphyr::from_str(d).unwrap_or_else(|e| panic!("bad YAML document: {e}\n{d}"))
        })
        .collect()
}
