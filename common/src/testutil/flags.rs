//! Helpers for the flag tests: parsing one clap group on its own, and the command lines of
//! upstream's manifests, which every binary must accept.

use clap::{Args, Command, FromArgMatches};

/// Every klog flag once, in forms upstream's manifests and docs use.
pub const UPSTREAM_KLOG_ARGS: &[&str] = &[
    "--v=4",
    "--stderrthreshold=info",
    "--logtostderr",
    "--alsologtostderr=false",
    "--log_dir=/var/log/vpa",
    "--log-file=/var/log/vpa/component.log",
    "--log-file-max-size=1800",
    "--vmodule=recommender*=5,vpa_common::watch=6",
    "--add-dir-header",
    "--skip-headers=false",
    "--skip-log-headers",
    "--one-output=true",
    "--log-backtrace-at=main.go:42",
];

/// The flag group `T` parsed from `args` (without a program name), as a binary that
/// flattens it would parse them.
pub fn parse_group<T: Args + FromArgMatches>(args: &[&str]) -> Result<T, clap::Error> {
    let argv = std::iter::once("vpa").chain(args.iter().copied());
    let matches = T::augment_args(Command::new("vpa")).try_get_matches_from(argv)?;
    T::from_arg_matches(&matches)
}

/// An upstream command line for `binary`: its own flags `own`, then every klog flag.
pub fn upstream_argv<'a>(binary: &'a str, own: &[&'a str]) -> Vec<&'a str> {
    let mut argv = vec![binary];
    argv.extend_from_slice(own);
    argv.extend_from_slice(UPSTREAM_KLOG_ARGS);
    argv
}
