use proptest::prelude::*;

use super::*;

fn canon(s: &str) -> String {
    s.parse::<Quantity>().unwrap().to_string()
}

#[test]
fn canonical_forms_match_apimachinery() {
    let cases = [
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("1500m", "1500m"),
        ("1000m", "1"),
        ("100m", "100m"),
        ("1000", "1k"),
        ("10000", "10k"),
        ("1.5Gi", "1536Mi"),
        ("250Mi", "250Mi"),
        ("262144000", "262144k"),
        ("1024", "1024"),
        ("1Ki", "1Ki"),
        ("1536", "1536"),
        ("0.5Ki", "512"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("12e6", "12e6"),
        ("5E-3", "5e-3"),
        ("0", "0"),
        ("0m", "0"),
        ("-100m", "-100m"),
        ("+2", "2"),
        (".5", "500m"),
        ("1.", "1"),
        ("1n", "1n"),
        ("0.1n", "1n"),
        ("0.0000000015", "2n"),
        ("1E", "1E"),
        ("1Ei", "1Ei"),
    ];
    for (input, want) in cases {
        assert_eq!(canon(input), want, "canonical form of {input}");
    }
}

#[test]
fn constructors_give_the_forms_the_vpa_writes() {
    assert_eq!(Quantity::from_millis(500).to_string(), "500m");
    assert_eq!(Quantity::from_millis(1500).to_string(), "1500m");
    assert_eq!(Quantity::from_millis(2000).to_string(), "2");
    assert_eq!(Quantity::from_bytes(262_144_000).to_string(), "250Mi");
    assert_eq!(
        Quantity::from_bytes(1_000_000_000).to_string(),
        "1000000000"
    );
    assert_eq!(Quantity::from_bytes(1000).to_string(), "1k");
    assert_eq!(Quantity::from_bytes(1536).to_string(), "1536");
}

#[test]
fn integer_views_round_up() {
    let q: Quantity = "1.0001m".parse().unwrap();
    assert_eq!(q.millis_ceil(), 2);
    let q: Quantity = "100m".parse().unwrap();
    assert_eq!(q.units_ceil(), 1);
    assert_eq!(q.millis_ceil(), 100);
    let q: Quantity = "250Mi".parse().unwrap();
    assert_eq!(q.units_ceil(), 262_144_000);
    let q: Quantity = "1e3".parse().unwrap();
    assert_eq!(q.units_ceil(), 1000);
    let q: Quantity = "-1.5".parse().unwrap();
    assert_eq!(q.millis_ceil(), -1500);
}

#[test]
fn garbage_is_rejected_with_the_input_quoted() {
    for bad in [
        "",
        "abc",
        "1.2.3",
        "1Qi",
        "m",
        "1e",
        "1e1.5",
        "--1",
        "1 Gi",
        "1ki",
        "99999999999999999999999999999999999999Ei",
    ] {
        let err = bad.parse::<Quantity>().unwrap_err();
        assert!(
            err.to_string().contains(&format!("{bad:?}")),
            "{err} should quote {bad:?}"
        );
    }
}

fn decimal_suffixes() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["n", "u", "m", "", "k", "M", "G", "T"])
}

fn binary_suffixes() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["Ki", "Mi", "Gi", "Ti"])
}

proptest! {
    #[test]
    fn canonical_decimal_strings_round_trip(m in 1_i64..1_000_000, suffix in decimal_suffixes(), neg in any::<bool>()) {
        prop_assume!(m % 1000 != 0);
        let s = format!("{}{m}{suffix}", if neg { "-" } else { "" });
        prop_assert_eq!(canon(&s), s);
    }

    #[test]
    fn canonical_binary_strings_round_trip(m in 1_i64..1_000_000, suffix in binary_suffixes()) {
        prop_assume!(m % 1024 != 0);
        let s = format!("{m}{suffix}");
        prop_assert_eq!(canon(&s), s);
    }

    #[test]
    fn millicores_survive_format_and_parse(m in -1_000_000_000_000_i64..1_000_000_000_000) {
        let q: Quantity = Quantity::from_millis(m).to_string().parse().unwrap();
        prop_assert_eq!(q.millis_ceil(), m);
    }

    #[test]
    fn bytes_survive_format_and_parse(b in 0_i64..i64::MAX / 2) {
        let q: Quantity = Quantity::from_bytes(b).to_string().parse().unwrap();
        prop_assert_eq!(q.units_ceil(), b);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,24}") {
        let _ = s.parse::<Quantity>();
    }
}
