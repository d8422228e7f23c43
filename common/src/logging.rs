//! Process logging shared by the binaries (edge): structured `tracing` output to stderr, as
//! klog writes, filtered by `RUST_LOG` (default `info`), with colours only on a terminal so that
//! `kubectl logs` and log collectors get plain text. `LOG_FORMAT=json` switches to one JSON
//! object per line for log pipelines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls (e.g. several tests in one process) are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
