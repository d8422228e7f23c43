use super::*;
use crate::testutil::{UPSTREAM_KLOG_ARGS, parse_group};

fn parse(args: &[&str]) -> Result<KlogFlags, clap::Error> {
    parse_group(args)
}

#[test]
fn verbosity_maps_to_tracing_levels() {
    let cases = [
        (None, "info"),
        (Some(0), "info"),
        (Some(4), "info"),
        (Some(5), "debug"),
        (Some(6), "debug"),
        (Some(7), "trace"),
        (Some(10), "trace"),
    ];
    for (v, want) in cases {
        let flags = KlogFlags {
            v,
            ..KlogFlags::default()
        };
        assert_eq!(flags.filter_directives(), want, "-v {v:?}");
    }
}

#[test]
fn v_parses_in_every_go_form() {
    for form in [["--v=6"], ["-v=6"], ["-v6"]] {
        assert_eq!(parse(&form).unwrap().v, Some(6), "{form:?}");
    }
    assert_eq!(parse(&["-v", "6"]).unwrap().v, Some(6));
    assert_eq!(parse(&["--v", "6"]).unwrap().v, Some(6));
    assert!(parse(&["--v=loud"]).is_err());
}

#[test]
fn vmodule_entries_become_target_directives_that_only_raise_the_level() {
    let flags = parse(&[
        "--v=5",
        "--vmodule=vpa_recommender::input=7,kube*=8,vpa_common::watch::*=6,hyper=2,cluster_feeder.go=9,pkg/*/x=7",
    ])
    .unwrap();
    assert_eq!(
        flags.filter_directives(),
        "debug,vpa_recommender::input=trace,kube=trace"
    );
    assert_eq!(flags.unmapped_vmodule(), ["cluster_feeder.go", "pkg/*/x"]);
}

#[test]
fn vmodule_syntax_errors_are_refused_as_klog_refuses_them() {
    for bad in ["kube", "=4", "kube=", "kube=-1", "kube=high", "a=1=2"] {
        assert!(parse(&[&format!("--vmodule={bad}")]).is_err(), "{bad:?}");
    }
    let empty_items = parse(&["--vmodule=,kube=6,"]).unwrap();
    assert_eq!(empty_items.vmodule, Some(Vmodule(vec![("kube".into(), 6)])));
}

#[test]
fn go_style_bools_parse_with_and_without_a_value() {
    let bare = parse(&["--logtostderr", "--skip-headers"]).unwrap();
    assert_eq!(bare.logtostderr, Some(true));
    assert_eq!(bare.skip_headers, Some(true));
    let valued = parse(&["--logtostderr=false", "--one-output=true"]).unwrap();
    assert_eq!(valued.logtostderr, Some(false));
    assert_eq!(valued.one_output, Some(true));
    assert!(parse(&["--add-dir-header=maybe"]).is_err());
}

#[test]
fn klogs_underscore_spellings_are_aliases() {
    let flags = parse(&[
        "--log_dir=/logs",
        "--log_file=/logs/x.log",
        "--log_file_max_size=10",
        "--add_dir_header",
        "--skip_log_headers",
        "--one_output",
        "--log_backtrace_at=x.go:1",
        "--skip_headers=false",
    ])
    .unwrap();
    assert_eq!(flags.log_dir.as_deref(), Some("/logs"));
    assert_eq!(flags.log_file_max_size, Some(10));
    assert_eq!(flags.skip_headers, Some(false));
}

#[test]
fn stderrthreshold_takes_names_in_any_case_and_numbers() {
    for (text, want) in [
        ("info", Severity::Info),
        ("WARNING", Severity::Warning),
        ("Error", Severity::Error),
        ("3", Severity::Fatal),
    ] {
        assert_eq!(
            parse(&[&format!("--stderrthreshold={text}")])
                .unwrap()
                .stderrthreshold,
            Some(want)
        );
    }
    assert!(parse(&["--stderrthreshold=loud"]).is_err());
}

#[test]
fn only_flags_asking_for_other_output_are_reported_without_effect() {
    let upstream_manifest = parse(&["--v=4", "--stderrthreshold=info", "--logtostderr"]).unwrap();
    assert!(upstream_manifest.without_effect(false).is_empty());
    let files = parse(&[
        "--logtostderr=false",
        "--log-dir=/logs",
        "--log-file=",
        "--log-file-max-size=100",
        "--skip-headers",
        "--skip-log-headers=false",
        "--stderrthreshold=ERROR",
        "--log-backtrace-at=x.go:1",
    ])
    .unwrap();
    assert_eq!(
        files.without_effect(false),
        [
            "--logtostderr",
            "--skip-headers",
            "--log-dir",
            "--log-backtrace-at",
            "--log-file-max-size",
            "--stderrthreshold",
        ]
    );
}

#[test]
fn rust_log_overrides_v_and_vmodule() {
    let flags = parse(&["--v=6", "--vmodule=kube=8"]).unwrap();
    assert!(flags.without_effect(false).is_empty());
    assert_eq!(flags.without_effect(true), ["-v", "--vmodule"]);
    assert!(KlogFlags::default().without_effect(true).is_empty());
}

#[test]
fn every_upstream_klog_flag_parses_together() {
    let flags = parse(UPSTREAM_KLOG_ARGS).unwrap();
    assert_eq!(flags.v, Some(4));
    assert_eq!(
        flags.filter_directives(),
        "info,recommender=debug,vpa_common::watch=debug"
    );
}
