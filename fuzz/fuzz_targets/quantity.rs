//! Quantity strings through `vpa_common::quantity`. Checks: a parsed quantity prints in a
//! canonical form that parses back to the same amount; printing that again gives a fixed point
//! (not necessarily the first print: as apimachinery, `62.5Ki` prints as the binary-format
//! `64000`, which parses as decimal and prints as `64k`); the rounding helpers agree with the
//! exact amount; a plain decimal number agrees with `f64` parsing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vpa_common::quantity::Quantity;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = text.parse::<Quantity>() else {
        return;
    };
    let printed = q.to_string();
    let again: Quantity = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again.nanos(), q.nanos(), "{text:?} printed as {printed:?}");
    let second = again.to_string();
    let third: Quantity = second.parse().expect("a canonical form parses");
    assert_eq!(third.nanos(), q.nanos());
    assert_eq!(
        third.to_string(),
        second,
        "canonical form of {text:?} is not a fixed point"
    );

    let nanos = q.nanos();
    let millis = i128::from(q.millis_ceil());
    let units = i128::from(q.units_ceil());
    if millis.abs() < i128::from(i64::MAX) {
        assert!(millis * 1_000_000 >= nanos && (millis - 1) * 1_000_000 < nanos);
    }
    if units.abs() < i128::from(i64::MAX) {
        assert!(units * 1_000_000_000 >= nanos && (units - 1) * 1_000_000_000 < nanos);
    }
    assert_eq!(q.is_zero(), nanos == 0);

    let plain = text
        .trim_start_matches(['+', '-'])
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.');
    if plain && let Ok(f) = text.parse::<f64>() {
        let tolerance = 1e-9 + f.abs() * 1e-12;
        assert!(
            (q.as_f64() - f).abs() <= tolerance,
            "{text:?}: {} against f64 {f}",
            q.as_f64()
        );
    }
});
