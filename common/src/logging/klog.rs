//! klog's command-line flags, which upstream's manifests and docs pass to every component, and
//! what they mean for our `tracing` output (pure: flags in, filter directives and a list of
//! ignored flags out).
//!
//! Upstream logs through klog; we log through `tracing`, every event with its header, to stderr
//! only. So that an upstream Deployment runs unchanged, every klog flag parses, in Go's forms
//! (`--flag`, `--flag=value`, `-v=4`) and, for the multi-word ones, in klog's own underscore
//! spelling (`--log_dir`) as well, and:
//!
//! * `-v N` sets the level of every target. Up to 4 gives `info` (upstream runs at 4, and what it
//!   prints there is what our `info!` events carry), 5 and 6 give `debug`, 7 and above `trace`
//!   (client-go logs each request from 6 and bodies from 8; kube, hyper and rustls log those
//!   details at debug and trace).
//! * `--vmodule=pattern=N,...` raises the level per `tracing` target, with the same mapping.
//!   klog matches Go file names; we match targets, which are Rust module paths compared as
//!   prefixes: `vpa_recommender::input=6` covers everything under `input`, `kube=7` the kube
//!   client. A trailing `*` is dropped (a prefix already matches everything below it). A pattern
//!   that cannot be a module path (other globs, paths, `file.go`) names no target: it is left
//!   out and named in the start-up warning. As in klog, an entry only ever raises the level: one
//!   at or below the `-v` level adds nothing.
//! * `RUST_LOG`, when set, is the whole filter; `-v` and `--vmodule` are then ignored (and named
//!   in the warning).
//! * The other flags (log files, headers, thresholds, backtraces) change nothing. They are named
//!   in one start-up warning when their value asks for output other than ours; values that
//!   describe our output anyway (`--logtostderr`, `--stderrthreshold=INFO`, `--skip-headers=false`,
//!   `--log-file-max-size=0`) stay silent, so upstream's manifests (`--v=4
//!   --stderrthreshold=info`) start without one.

use std::str::FromStr;

use clap::{ArgAction, Args};

/// Upstream's default verbosity (its components set `-v` to 4).
pub const DEFAULT_VERBOSITY: u32 = 4;

/// The klog flags every upstream component accepts.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[command(next_help_heading = "Logging (klog flags)")]
pub struct KlogFlags {
    /// Log verbosity (default 4): up to 4 logs at info, 5 and 6 at debug, 7 and more at trace.
    /// Ignored when RUST_LOG is set.
    #[arg(short = 'v', long = "v", value_name = "LEVEL")]
    pub v: Option<u32>,
    /// Per-target verbosity, `target=N,...`: a target is a Rust module path such as
    /// `vpa_recommender::input` or `kube`, matched as a prefix. Only raises the -v level.
    /// Ignored when RUST_LOG is set.
    #[arg(long, value_name = "PATTERN=N,...", value_parser = Vmodule::from_str)]
    pub vmodule: Option<Vmodule>,
    /// Accepted, no effect: logs always go to stderr.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub logtostderr: Option<bool>,
    /// Accepted, no effect: logs always go to stderr.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub alsologtostderr: Option<bool>,
    /// Accepted, no effect: no log files are written.
    #[arg(long, alias = "log_dir", value_name = "DIR")]
    pub log_dir: Option<String>,
    /// Accepted, no effect: no log files are written.
    #[arg(long, alias = "log_file", value_name = "FILE")]
    pub log_file: Option<String>,
    /// Accepted, no effect: no log files are written (klog's unit: megabytes).
    #[arg(long, alias = "log_file_max_size", value_name = "MB")]
    pub log_file_max_size: Option<u64>,
    /// Accepted, no effect: events carry their target, not a file directory.
    #[arg(long, alias = "add_dir_header", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub add_dir_header: Option<bool>,
    /// Accepted, no effect: every event has its header.
    #[arg(long, alias = "skip_headers", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub skip_headers: Option<bool>,
    /// Accepted, no effect: no log files are written.
    #[arg(long, alias = "skip_log_headers", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub skip_log_headers: Option<bool>,
    /// Accepted, no effect: each event is written once, to stderr.
    #[arg(long, alias = "one_output", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub one_output: Option<bool>,
    /// Accepted, no effect: no stack traces are written (klog's `file.go:N`).
    #[arg(long, alias = "log_backtrace_at", value_name = "FILE:N")]
    pub log_backtrace_at: Option<String>,
    /// Accepted, no effect: every severity goes to stderr (INFO, WARNING, ERROR, FATAL or 0-3).
    #[arg(long, value_name = "SEVERITY", value_parser = Severity::from_str)]
    pub stderrthreshold: Option<Severity>,
}

/// How much a target logs, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `info` and above.
    Info,
    /// `debug` and above.
    Debug,
    /// Everything.
    Trace,
}

impl Verbosity {
    /// The level klog's `N` maps to (see the module docs).
    pub fn from_klog(level: u32) -> Self {
        match level {
            0..=4 => Self::Info,
            5 | 6 => Self::Debug,
            _ => Self::Trace,
        }
    }

    /// The level's name in a `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// A klog severity (`--stderrthreshold`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `INFO` or 0.
    Info,
    /// `WARNING` or 1.
    Warning,
    /// `ERROR` or 2.
    Error,
    /// `FATAL` or 3.
    Fatal,
}

impl FromStr for Severity {
    type Err = String;

    /// A name in any case or its number, as klog accepts them.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_uppercase().as_str() {
            "INFO" | "0" => Ok(Self::Info),
            "WARNING" | "1" => Ok(Self::Warning),
            "ERROR" | "2" => Ok(Self::Error),
            "FATAL" | "3" => Ok(Self::Fatal),
            _ => Err(format!(
                "unknown severity {text:?}: use INFO, WARNING, ERROR, FATAL or 0-3"
            )),
        }
    }
}

/// A parsed `--vmodule` value: `(pattern, N)` in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vmodule(pub Vec<(String, u32)>);

impl FromStr for Vmodule {
    type Err = String;

    /// `pattern=N,...`; empty items are skipped, and anything else that is not a non-empty
    /// pattern with a whole, non-negative level is refused, as klog refuses it.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for item in text.split(',').filter(|i| !i.is_empty()) {
            let entry = item
                .split_once('=')
                .filter(|(pattern, _)| !pattern.is_empty())
                .and_then(|(pattern, level)| Some((pattern.to_owned(), level.parse().ok()?)));
            match entry {
                Some(entry) => entries.push(entry),
                None => {
                    return Err(format!("{item:?} is not pattern=N (N a whole number >= 0)"));
                }
            }
        }
        Ok(Self(entries))
    }
}

/// The `tracing` target a vmodule pattern stands for, if it can stand for one: a Rust path
/// (`name` or `name::name...`, names of letters, digits and `_`), with a trailing `*` dropped.
fn target_of(pattern: &str) -> Option<&str> {
    let path = pattern.strip_suffix('*').unwrap_or(pattern);
    let path = path.strip_suffix("::").unwrap_or(path);
    let is_name =
        |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    path.split("::").all(is_name).then_some(path)
}

impl KlogFlags {
    /// The level every target gets from `-v`.
    pub fn verbosity(&self) -> Verbosity {
        Verbosity::from_klog(self.v.unwrap_or(DEFAULT_VERBOSITY))
    }

    /// The filter these flags ask for, as `tracing` directives: the `-v` level, then one
    /// `target=level` per vmodule entry that raises it (e.g. `info,kube=trace`).
    pub fn filter_directives(&self) -> String {
        let base = self.verbosity();
        let mut directives = vec![base.as_str().to_owned()];
        for (pattern, level) in self.vmodule.iter().flat_map(|m| &m.0) {
            let level = Verbosity::from_klog(*level);
            if let Some(target) = target_of(pattern)
                && level > base
            {
                directives.push(format!("{target}={}", level.as_str()));
            }
        }
        directives.join(",")
    }

    /// The vmodule patterns that name no `tracing` target and so were left out.
    pub fn unmapped_vmodule(&self) -> Vec<&str> {
        self.vmodule
            .iter()
            .flat_map(|m| &m.0)
            .map(|(pattern, _)| pattern.as_str())
            .filter(|p| target_of(p).is_none())
            .collect()
    }

    /// The flags given that change nothing here, as `--name`: those whose value asks for output
    /// other than ours (see the module docs), and `-v`/`--vmodule` when `RUST_LOG` is set.
    pub fn without_effect(&self, rust_log_set: bool) -> Vec<&'static str> {
        // Our output in klog's terms: stderr only, with headers, each event once.
        let bools = [
            ("--logtostderr", self.logtostderr, true),
            ("--alsologtostderr", self.alsologtostderr, true),
            ("--add-dir-header", self.add_dir_header, false),
            ("--skip-headers", self.skip_headers, false),
            ("--skip-log-headers", self.skip_log_headers, false),
            ("--one-output", self.one_output, false),
        ];
        // No files and no backtraces.
        let texts = [
            ("--log-dir", &self.log_dir),
            ("--log-file", &self.log_file),
            ("--log-backtrace-at", &self.log_backtrace_at),
        ];
        let mut ignored: Vec<&'static str> = Vec::new();
        if rust_log_set {
            ignored.extend(self.v.map(|_| "-v"));
            ignored.extend(self.vmodule.as_ref().map(|_| "--vmodule"));
        }
        for (name, given, ours) in bools {
            if given.is_some_and(|g| g != ours) {
                ignored.push(name);
            }
        }
        for (name, given) in texts {
            if given.as_deref().is_some_and(|t| !t.is_empty()) {
                ignored.push(name);
            }
        }
        if self.log_file_max_size.is_some_and(|mb| mb != 0) {
            ignored.push("--log-file-max-size");
        }
        // Every severity reaches stderr here, which is what INFO asks for.
        if self.stderrthreshold.is_some_and(|s| s != Severity::Info) {
            ignored.push("--stderrthreshold");
        }
        ignored
    }
}

#[cfg(test)]
mod tests;
