use clap::{ArgAction, CommandFactory, Parser, Subcommand};

use super::*;

#[derive(Parser, Debug)]
struct Cli {
    #[arg(long, default_value = "1m")]
    recommender_interval: String,
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    leader_elect: bool,
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    logtostderr: Option<bool>,
    #[arg(long, default_value = "")]
    note: String,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    Replay {
        #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        dry_run: bool,
    },
}

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["prog"];
    argv.extend_from_slice(args);
    try_parse_from::<Cli, _, _>(argv).unwrap()
}

#[test]
fn underscores_spell_the_same_flags_as_dashes() {
    let cli = parse(&["--recommender_interval=30s", "--leader_elect"]);
    assert_eq!(cli.recommender_interval, "30s");
    assert!(cli.leader_elect);
    assert_eq!(
        parse(&["--recommender_interval", "2m"]).recommender_interval,
        "2m"
    );
}

#[test]
fn gos_boolean_spellings_are_accepted() {
    for (value, want) in [
        ("1", true),
        ("t", true),
        ("T", true),
        ("TRUE", true),
        ("True", true),
        ("0", false),
        ("f", false),
        ("F", false),
        ("FALSE", false),
        ("False", false),
    ] {
        let cli = parse(&[
            &format!("--leader-elect={value}"),
            &format!("--logtostderr={value}"),
        ]);
        assert_eq!(cli.leader_elect, want, "{value}");
        assert_eq!(cli.logtostderr, Some(want), "{value}");
    }
    let sub = parse(&["replay", "--dry_run=T"]);
    assert!(matches!(sub.command, Some(Sub::Replay { dry_run: true })));
}

#[test]
fn values_of_other_flags_and_what_follows_a_bare_dash_dash_are_untouched() {
    assert_eq!(parse(&["--note=T"]).note, "T");
    assert_eq!(parse(&["--note=a_b"]).note, "a_b");
    let args = go_style_args(
        &Cli::command(),
        ["prog", "--", "--leader_elect=1"].map(std::ffi::OsString::from),
    );
    assert_eq!(args[2], "--leader_elect=1");
}

#[test]
fn spellings_go_rejects_stay_errors() {
    let err = try_parse_from::<Cli, _, _>(["prog", "--leader-elect=yes"]).unwrap_err();
    assert!(err.to_string().contains("yes"), "{err}");
}
