//! Reading histograms and counters out of a Prometheus text exposition (pure): the components'
//! `execution_latency_seconds{step=...}` sums and counts, and counter totals, so a benchmark can
//! time a loop of any VPA binary, ours or upstream's, from what it exports.

use std::collections::BTreeMap;

/// Sum and count of one histogram series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SumCount {
    /// `_sum`, in the metric's unit (seconds here).
    pub sum: f64,
    /// `_count`: observations.
    pub count: f64,
}

/// The value of `label` in a series' label set text (`a="x",b="y"`), if present.
fn label_value<'a>(labels: &'a str, label: &str) -> Option<&'a str> {
    let mut rest = labels;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let end = after.find('"')?;
        if name.trim_start_matches(',').trim() == label {
            return Some(&after[..end]);
        }
        rest = &after[end + 1..];
    }
    None
}

/// Splits a sample line into metric name, label text and value.
fn sample(line: &str) -> Option<(&str, &str, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    match series.split_once('{') {
        Some((name, labels)) => Some((name, labels.strip_suffix('}')?, value)),
        None => Some((series, "", value)),
    }
}

/// Sum and count of histogram `metric` per value of `label`, summed over any other labels.
pub fn histogram_by_label(text: &str, metric: &str, label: &str) -> BTreeMap<String, SumCount> {
    let (sum_name, count_name) = (format!("{metric}_sum"), format!("{metric}_count"));
    let mut out: BTreeMap<String, SumCount> = BTreeMap::new();
    for (name, labels, value) in text.lines().filter_map(sample) {
        let is_sum = name == sum_name;
        if !is_sum && name != count_name {
            continue;
        }
        let Some(key) = label_value(labels, label) else {
            continue;
        };
        let entry = out.entry(key.to_string()).or_default();
        if is_sum {
            entry.sum += value;
        } else {
            entry.count += value;
        }
    }
    out
}

/// Total of every series of `metric` (a counter or gauge, all label sets).
pub fn total(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter_map(sample)
        .filter(|(name, _, _)| *name == metric)
        .map(|(_, _, v)| v)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP vpa_updater_execution_latency_seconds Time spent.
# TYPE vpa_updater_execution_latency_seconds histogram
vpa_updater_execution_latency_seconds_bucket{step=\"FilterPods\",le=\"0.01\"} 1
vpa_updater_execution_latency_seconds_sum{step=\"FilterPods\"} 0.0052
vpa_updater_execution_latency_seconds_count{step=\"FilterPods\"} 1
vpa_updater_execution_latency_seconds_sum{step=\"total\"} 0.45
vpa_updater_execution_latency_seconds_count{step=\"total\"} 1
vpa_updater_evicted_pods_total{vpa_name=\"a\",vpa_namespace=\"ns\",update_mode=\"Recreate\",vpa_size_log2=\"1\"} 3
vpa_updater_evicted_pods_total{vpa_name=\"b\",vpa_namespace=\"ns\",update_mode=\"Recreate\",vpa_size_log2=\"1\"} 2
up 1
";

    #[test]
    fn histogram_sums_and_counts_per_step() {
        let steps = histogram_by_label(TEXT, "vpa_updater_execution_latency_seconds", "step");
        assert_eq!(
            steps["FilterPods"],
            SumCount {
                sum: 0.0052,
                count: 1.0
            }
        );
        assert_eq!(steps["total"].sum, 0.45);
        assert_eq!(steps.len(), 2, "buckets are not series of their own");
    }

    #[test]
    fn a_label_is_found_wherever_it_stands() {
        let text = "m_sum{a=\"x\",step=\"total\"} 2\nm_sum{step=\"total\",a=\"y\"} 3\nm_count{b=\"z\"} 9\n";
        let steps = histogram_by_label(text, "m", "step");
        assert_eq!(steps["total"].sum, 5.0);
        assert_eq!(steps.len(), 1, "series without the label are left out");
    }

    #[test]
    fn counter_totals_sum_every_label_set() {
        assert_eq!(total(TEXT, "vpa_updater_evicted_pods_total"), 5.0);
        assert_eq!(total(TEXT, "up"), 1.0);
        assert_eq!(total(TEXT, "missing"), 0.0);
    }
}
