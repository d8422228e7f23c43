//! Parsing of the replay sample CSV (pure).
//!
//! A header row names the columns `timestamp,namespace,workload,pod,container,cpu_cores,
//! memory_bytes`, in any order, plus an optional `oom` column. Fields are separated by commas
//! (names in Kubernetes cannot contain one) and may be wrapped in double quotes. A row that does
//! not parse is reported with its 1-based line number and skipped; blank lines are ignored.

use chrono::DateTime;

use crate::model::Timestamp;

/// One usage observation of one container instance.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRow {
    /// 1-based line number in the file.
    pub line: usize,
    /// When the sample was taken.
    pub timestamp: Timestamp,
    /// Namespace of the pod and workload.
    pub namespace: String,
    /// Workload (controller) the pod belongs to.
    pub workload: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// CPU usage in cores.
    pub cpu_cores: f64,
    /// Memory usage in bytes (at an OOM kill, the memory at the kill).
    pub memory_bytes: f64,
    /// Whether the container was OOM-killed at this time.
    pub oom: bool,
}

/// A row that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// A header that makes the whole file unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The file has no header row.
    #[error("the file is empty; expected a header row")]
    Empty,
    /// A required column is missing from the header.
    #[error("header has no {0:?} column")]
    MissingColumn(&'static str),
    /// A column appears twice.
    #[error("header names column {0:?} twice")]
    DuplicateColumn(String),
}

/// Required columns, in the order their indices are kept.
const COLUMNS: [&str; 7] = [
    "timestamp",
    "namespace",
    "workload",
    "pod",
    "container",
    "cpu_cores",
    "memory_bytes",
];

/// Parsed rows in file order, and the rows skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// Good rows.
    pub rows: Vec<SampleRow>,
    /// Skipped rows.
    pub bad: Vec<BadRow>,
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Parsed, HeaderError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(HeaderError::Empty)?;
    let layout = Layout::new(header)?;
    let mut parsed = Parsed::default();
    for (line, text) in lines {
        match layout.row(line, text) {
            Ok(row) => parsed.rows.push(row),
            Err(reason) => parsed.bad.push(BadRow { line, reason }),
        }
    }
    Ok(parsed)
}

/// Column positions found in the header.
struct Layout {
    width: usize,
    required: [usize; 7],
    oom: Option<usize>,
}

impl Layout {
    fn new(header: &str) -> Result<Self, HeaderError> {
        let names: Vec<String> = fields(header).map(|f| f.to_ascii_lowercase()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(HeaderError::DuplicateColumn(name.clone()));
            }
        }
        let position = |column: &str| names.iter().position(|n| n == column);
        let mut required = [0; 7];
        for (slot, column) in required.iter_mut().zip(COLUMNS) {
            *slot = position(column).ok_or(HeaderError::MissingColumn(column))?;
        }
        Ok(Self {
            width: names.len(),
            required,
            oom: position("oom"),
        })
    }

    fn row(&self, line: usize, text: &str) -> Result<SampleRow, String> {
        let values: Vec<&str> = fields(text).collect();
        if values.len() != self.width {
            return Err(format!(
                "expected {} fields, found {}",
                self.width,
                values.len()
            ));
        }
        let [ts, namespace, workload, pod, container, cpu, memory] =
            self.required.map(|i| values[i]);
        Ok(SampleRow {
            line,
            timestamp: parse_timestamp(ts).map_err(|e| format!("timestamp: {e}"))?,
            namespace: name("namespace", namespace)?,
            workload: name("workload", workload)?,
            pod: name("pod", pod)?,
            container: name("container", container)?,
            cpu_cores: amount("cpu_cores", cpu)?,
            memory_bytes: amount("memory_bytes", memory)?,
            oom: match self.oom.map(|i| values[i].to_ascii_lowercase()).as_deref() {
                None | Some("" | "false" | "0") => false,
                Some("true" | "1") => true,
                Some(other) => {
                    return Err(format!(
                        "oom: expected true, false, 1 or 0, found {other:?}"
                    ));
                }
            },
        })
    }
}

fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| {
        let f = f.trim();
        f.strip_prefix('"')
            .and_then(|f| f.strip_suffix('"'))
            .unwrap_or(f)
    })
}

fn name(column: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("{column} is empty"))
    } else {
        Ok(value.to_owned())
    }
}

fn amount(column: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{column}: expected a non-negative number, found {value:?}"
        )),
    }
}

/// An RFC 3339 time or Unix seconds (fractions allowed), rounded down to whole seconds.
pub fn parse_timestamp(value: &str) -> Result<Timestamp, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds.abs() < 1e15
    {
        return Ok(seconds.floor() as Timestamp);
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp())
        .map_err(|_| format!("expected RFC 3339 or Unix seconds, found {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes";

    #[test]
    fn parses_rows_in_any_column_order_with_optional_oom() {
        let text = "pod,timestamp,namespace,workload,container,memory_bytes,cpu_cores,oom\n\
                    p1,2026-11-20T00:00:00Z,default,web,app,1e8,0.5,\n\
                    \n\
                    \"p1\",1795132860.9,default,web,app,100000000,0.25,true\n";
        let parsed = parse(text).unwrap();
        assert!(parsed.bad.is_empty(), "{:?}", parsed.bad);
        assert_eq!(parsed.rows.len(), 2);
        let (a, b) = (&parsed.rows[0], &parsed.rows[1]);
        assert_eq!(
            (a.line, a.timestamp, a.cpu_cores, a.memory_bytes, a.oom),
            (2, 1_795_132_800, 0.5, 1e8, false)
        );
        assert_eq!(
            (b.line, b.timestamp, b.pod.as_str(), b.oom),
            (4, 1_795_132_860, "p1", true)
        );
    }

    #[test]
    fn bad_rows_are_reported_with_line_numbers() {
        let text = format!(
            "{HEADER}\n\
             2026-11-20T00:00:00Z,default,web,p1,app,0.5,1e8\n\
             yesterday,default,web,p1,app,0.5,1e8\n\
             2026-11-20T00:01:00Z,default,web,p1,app,-1,1e8\n\
             2026-11-20T00:02:00Z,default,web,p1,app,0.5\n\
             2026-11-20T00:03:00Z,default,,p1,app,0.5,1e8\n\
             2026-11-20T00:04:00Z,default,web,p1,app,0.5,lots\n"
        );
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        let lines: Vec<usize> = parsed.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7]);
        assert!(parsed.bad[0].reason.contains("timestamp"));
        assert!(parsed.bad[1].reason.contains("cpu_cores"));
        assert!(parsed.bad[2].reason.contains("expected 7 fields"));
        assert!(parsed.bad[3].reason.contains("workload is empty"));
        assert!(parsed.bad[4].reason.contains("memory_bytes"));
    }

    #[test]
    fn header_problems_are_fatal() {
        assert_eq!(parse(""), Err(HeaderError::Empty));
        assert_eq!(
            parse("timestamp,namespace,workload,pod,container,cpu_cores\n"),
            Err(HeaderError::MissingColumn("memory_bytes"))
        );
        assert_eq!(
            parse(&format!("{HEADER},pod\n")),
            Err(HeaderError::DuplicateColumn("pod".into()))
        );
    }

    #[test]
    fn timestamps_are_rfc3339_or_unix_seconds() {
        assert_eq!(
            parse_timestamp("2026-11-20T01:00:00+01:00"),
            Ok(1_795_132_800)
        );
        assert_eq!(
            parse_timestamp("2026-11-20T00:00:00.75Z"),
            Ok(1_795_132_800)
        );
        assert_eq!(parse_timestamp("1795132800"), Ok(1_795_132_800));
        assert_eq!(parse_timestamp("-1.5"), Ok(-2));
        assert!(parse_timestamp("soon").is_err());
    }
}
