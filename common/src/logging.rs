//! Process logging shared by the binaries (edge): structured `tracing` output to stderr, as
//! klog writes, filtered by `RUST_LOG` when it is set and otherwise by upstream's klog flags
//! (`-v`, `--vmodule`; see [`klog`]), with colours only on a terminal so that `kubectl logs` and
//! log collectors get plain text. `LOG_FORMAT=json` switches to one JSON object per line for log
//! pipelines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub mod klog;

pub use klog::KlogFlags;

/// Installs the global subscriber at upstream's default verbosity (see [`init_with`]).
pub fn init() {
    init_with(&KlogFlags::default());
}

/// Installs the global subscriber with the filter `klog` asks for, unless `RUST_LOG` is set,
/// and then warns once about the klog flags that change nothing here. Later calls (e.g. several
/// tests in one process) are no-ops.
pub fn init_with(klog: &KlogFlags) {
    let from_env = EnvFilter::try_from_default_env().ok();
    let rust_log_set = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(klog.filter_directives()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    if installed.is_err() {
        return;
    }
    let ignored = klog.without_effect(rust_log_set);
    let unmapped = klog.unmapped_vmodule();
    if !ignored.is_empty() || !unmapped.is_empty() {
        tracing::warn!(
            flags = ?ignored,
            vmodule_without_target = ?unmapped,
            "Accepted klog flags that have no effect here"
        );
    }
}
