//! Replay sample CSV through `vpa-recommender replay`'s parser. Checks: good and bad rows
//! together are the file's non-blank rows after the header, in file order, with their line
//! numbers; good rows have non-empty names and finite, non-negative amounts; writing the good
//! rows out again (names quoted, Unix seconds) parses back to the same rows.

#![no_main]

use std::fmt::Write;

use libfuzzer_sys::fuzz_target;
use vpa_recommender::replay::csv::{SampleRow, parse};

/// `rows` as a CSV file in a fixed column order, one row a line from line 2.
fn write(rows: &[SampleRow]) -> String {
    let mut out =
        String::from("timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes,oom\n");
    for r in rows {
        writeln!(
            out,
            "{},\"{}\",\"{}\",\"{}\",\"{}\",{},{},{}",
            r.timestamp,
            r.namespace,
            r.workload,
            r.pod,
            r.container,
            r.cpu_cores,
            r.memory_bytes,
            r.oom
        )
        .expect("writing to a String cannot fail");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse(text) else {
        return;
    };
    let rows: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .skip(1)
        .collect();
    let mut seen: Vec<usize> = parsed
        .rows
        .iter()
        .map(|r| r.line)
        .chain(parsed.bad.iter().map(|b| b.line))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, rows, "good and bad rows are not the file's rows");
    assert!(parsed.rows.windows(2).all(|w| w[0].line < w[1].line));
    for r in &parsed.rows {
        for name in [&r.namespace, &r.workload, &r.pod, &r.container] {
            assert!(!name.is_empty());
        }
        for amount in [r.cpu_cores, r.memory_bytes] {
            assert!(amount.is_finite() && amount >= 0.0, "amount {amount}");
        }
    }

    let again = parse(&write(&parsed.rows)).expect("the written header parses");
    assert!(
        again.bad.is_empty(),
        "written rows refused: {:?}",
        again.bad
    );
    assert_eq!(again.rows.len(), parsed.rows.len());
    for (i, (a, b)) in again.rows.iter().zip(&parsed.rows).enumerate() {
        assert_eq!(a.line, i + 2);
        assert_eq!(
            SampleRow {
                line: b.line,
                ..a.clone()
            },
            *b,
            "a row changed on the way round"
        );
    }
});
