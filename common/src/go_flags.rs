//! Command lines as upstream's Go binaries read them (pure: arguments in, arguments out).
//!
//! Upstream parses flags with pflag under component-base's `WordSepNormalizeFunc`, so every flag
//! may be spelled with underscores (`--recommender_interval=1m` is `--recommender-interval=1m`),
//! and booleans go through Go's `strconv.ParseBool`, which takes `1`, `t`, `T`, `TRUE`, `true` and
//! `True` (and `0`, `f`, `F`, `FALSE`, `false`, `False`). Manifests written for upstream use these
//! spellings; clap takes neither, so each binary rewrites its arguments into clap's spelling
//! before parsing. Everything after a bare `--` is left alone.

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::builder::ValueParser;

/// Long names (and aliases) of every boolean flag of `cmd` and its subcommands.
fn bool_flags(cmd: &clap::Command, out: &mut BTreeSet<String>) {
    let bool_type = ValueParser::bool().type_id();
    for arg in cmd.get_arguments() {
        if arg.get_value_parser().type_id() == bool_type {
            out.extend(
                arg.get_long_and_visible_aliases()
                    .into_iter()
                    .flatten()
                    .map(String::from),
            );
            out.extend(
                arg.get_all_aliases()
                    .into_iter()
                    .flatten()
                    .map(String::from),
            );
        }
    }
    for sub in cmd.get_subcommands() {
        bool_flags(sub, out);
    }
}

/// Go's `strconv.ParseBool`: `None` for anything but its twelve spellings.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `args` (program name first) with flag names' underscores turned into dashes and Go's boolean
/// spellings of `--flag=value` turned into `true`/`false`, for `cmd`'s boolean flags.
pub fn go_style_args<I, T>(cmd: &clap::Command, args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut bools = BTreeSet::new();
    bool_flags(cmd, &mut bools);
    let mut out = Vec::new();
    let mut verbatim = false;
    for (i, arg) in args.into_iter().map(Into::into).enumerate() {
        let text = match arg.to_str() {
            Some(t) if i > 0 && !verbatim && t.starts_with("--") && t.len() > 2 => t,
            _ => {
                verbatim |= i > 0 && arg == "--";
                out.push(arg);
                continue;
            }
        };
        let (name, value) = match text[2..].split_once('=') {
            Some((n, v)) => (n.replace('_', "-"), Some(v)),
            None => (text[2..].replace('_', "-"), None),
        };
        let value = match value {
            Some(v) if bools.contains(&name) => Some(match parse_go_bool(v) {
                Some(true) => "true",
                Some(false) => "false",
                None => v,
            }),
            other => other,
        };
        out.push(match value {
            Some(v) => format!("--{name}={v}").into(),
            None => format!("--{name}").into(),
        });
    }
    out
}

/// Parses this process's arguments as upstream would accept them ([`go_style_args`]); exits with
/// clap's message on an error, as `Parser::parse` does.
pub fn parse<P: clap::Parser>() -> P {
    P::parse_from(go_style_args(&P::command(), std::env::args_os()))
}

/// [`parse`] for given arguments (program name first).
pub fn try_parse_from<P, I, T>(args: I) -> Result<P, clap::Error>
where
    P: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    P::try_parse_from(go_style_args(&P::command(), args))
}

#[cfg(test)]
mod tests;
