//! Comparison tables (pure): per workload size, ours and each upstream configuration side by side
//! with the ratio, rendered as Markdown and serialized as JSON. A ratio says how many times better
//! ours is: upstream ÷ ours for a cost (time, memory, CPU, requests), ours ÷ upstream for a
//! throughput, so above 1 always means ours wins and below 1 means ours loses.

use serde::Serialize;

use crate::stats;

/// One measured quantity (a column).
#[derive(Clone, Debug, Serialize)]
pub struct Metric {
    /// Column header, with its unit.
    pub name: String,
    /// Whether more is better (throughput), so the ratio is ours ÷ upstream.
    pub higher_is_better: bool,
    /// Decimals to print.
    pub decimals: usize,
    /// Whether a ratio means something: not for a count of work done (requests, evictions), where
    /// more can be the better binary doing all of its job.
    pub ratio: bool,
}

impl Metric {
    /// A cost column: less is better.
    pub fn cost(name: &str, decimals: usize) -> Metric {
        Metric {
            name: name.to_string(),
            higher_is_better: false,
            decimals,
            ratio: true,
        }
    }

    /// A throughput column: more is better.
    pub fn throughput(name: &str, decimals: usize) -> Metric {
        Metric {
            ratio: true,
            higher_is_better: true,
            ..Metric::cost(name, decimals)
        }
    }

    /// A column shown for both without a ratio (work done, such as requests sent).
    pub fn info(name: &str, decimals: usize) -> Metric {
        Metric {
            ratio: false,
            ..Metric::cost(name, decimals)
        }
    }
}

/// The values of one peer at one size, in the table's metric order (`None`: not measured).
#[derive(Clone, Debug, Serialize)]
pub struct PeerRow {
    /// `ours`, `upstream (same flags)`, `upstream (defaults)`.
    pub peer: String,
    /// Medians over rounds.
    pub values: Vec<Option<f64>>,
    /// Rounds measured.
    pub rounds: usize,
}

/// One workload size: ours first, then the upstream configurations.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// The size or profile (`10k VPAs / 50k pods`, `xxlarge`).
    pub label: String,
    /// Ours.
    pub ours: PeerRow,
    /// Upstream's configurations.
    pub peers: Vec<PeerRow>,
}

/// A component's table.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// Heading.
    pub title: String,
    /// Columns.
    pub metrics: Vec<Metric>,
    /// Rows, grouped by size.
    pub groups: Vec<Group>,
}

/// How many times better ours is on `metric` (see the module doc); none when either value is zero
/// at the metric's printed precision (a ratio of two roundings says nothing).
pub fn advantage(metric: &Metric, ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    let resolution = 0.5 * 10f64.powi(-(metric.decimals as i32));
    let visible = |v: Option<f64>| v.filter(|v| v.abs() >= resolution);
    let (ours, theirs) = (visible(ours), visible(theirs));
    if !metric.ratio {
        None
    } else if metric.higher_is_better {
        stats::ratio(ours, theirs)
    } else {
        stats::ratio(theirs, ours)
    }
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.decimals$}"))
}

fn ratio_cell(v: Option<f64>) -> String {
    match v {
        Some(r) if r >= 10.0 => format!("**{r:.0}×**"),
        Some(r) if r >= 1.0 => format!("**{r:.1}×**"),
        Some(r) => format!("{r:.2}× (ours loses)"),
        None => "–".to_string(),
    }
}

impl Table {
    /// The ratio rows' values for `peer` of `group`.
    pub fn advantages(&self, group: &Group, peer: &PeerRow) -> Vec<Option<f64>> {
        self.metrics
            .iter()
            .enumerate()
            .map(|(i, m)| {
                advantage(
                    m,
                    group.ours.values.get(i).copied().flatten(),
                    peer.values.get(i).copied().flatten(),
                )
            })
            .collect()
    }

    /// Markdown: a heading, then per size ours, each upstream row and its ratio row.
    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n| size | peer | rounds |", self.title);
        for m in &self.metrics {
            out.push_str(&format!(" {} |", m.name));
        }
        out.push_str("\n| --- | --- | ---: |");
        out.push_str(&" ---: |".repeat(self.metrics.len()));
        out.push('\n');
        for g in &self.groups {
            let row = |label: &str, p: &PeerRow| {
                let cells: Vec<String> = self
                    .metrics
                    .iter()
                    .zip(&p.values)
                    .map(|(m, v)| cell(*v, m.decimals))
                    .collect();
                format!(
                    "| {} | {} | {} | {} |\n",
                    g.label,
                    label,
                    p.rounds,
                    cells.join(" | ")
                )
            };
            out.push_str(&row("ours", &g.ours));
            for p in &g.peers {
                out.push_str(&row(&p.peer, p));
                let ratios: Vec<String> =
                    self.advantages(g, p).into_iter().map(ratio_cell).collect();
                out.push_str(&format!(
                    "| {} | ours vs {} | | {} |\n",
                    g.label,
                    p.peer,
                    ratios.join(" | ")
                ));
            }
        }
        out
    }

    /// JSON: the table with each upstream row's ratios.
    pub fn json(&self) -> serde_json::Value {
        let groups: Vec<serde_json::Value> = self
            .groups
            .iter()
            .map(|g| {
                let peers: Vec<serde_json::Value> = g
                    .peers
                    .iter()
                    .map(|p| {
                        serde_json::json!({"peer": p.peer, "rounds": p.rounds, "values": p.values,
                            "ours_better_by": self.advantages(g, p)})
                    })
                    .collect();
                serde_json::json!({"label": g.label, "ours": g.ours, "upstream": peers})
            })
            .collect();
        serde_json::json!({"title": self.title, "metrics": self.metrics, "groups": groups})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "recommender".into(),
            metrics: vec![
                Metric::cost("peak RSS (MiB)", 0),
                Metric::throughput("req/s", 0),
            ],
            groups: vec![Group {
                label: "1k".into(),
                ours: PeerRow {
                    peer: "ours".into(),
                    values: vec![Some(100.0), Some(20_000.0)],
                    rounds: 3,
                },
                peers: vec![PeerRow {
                    peer: "upstream (same flags)".into(),
                    values: vec![Some(1000.0), Some(40_000.0)],
                    rounds: 3,
                }],
            }],
        }
    }

    #[test]
    fn ratios_say_how_many_times_better_ours_is() {
        let t = table();
        let adv = t.advantages(&t.groups[0], &t.groups[0].peers[0]);
        assert_eq!(adv, vec![Some(10.0), Some(0.5)]);
    }

    #[test]
    fn no_ratio_of_values_that_print_as_zero() {
        let m = Metric::cost("s", 2);
        assert_eq!(advantage(&m, Some(0.004), Some(0.3)), None);
        assert_eq!(advantage(&m, Some(0.01), Some(0.3)), Some(30.0));
        assert_eq!(
            advantage(&Metric::info("requests", 0), Some(1.0), Some(2.0)),
            None
        );
    }

    #[test]
    fn markdown_has_a_ratio_row_per_upstream_row_and_says_where_ours_loses() {
        let md = table().markdown();
        assert!(md.contains("| 1k | ours | 3 | 100 | 20000 |"), "{md}");
        assert!(
            md.contains("| 1k | upstream (same flags) | 3 | 1000 | 40000 |"),
            "{md}"
        );
        assert!(
            md.contains("| 1k | ours vs upstream (same flags) | | **10×** | 0.50× (ours loses) |"),
            "{md}"
        );
    }

    #[test]
    fn json_carries_values_and_ratios() {
        let j = table().json();
        assert_eq!(j["groups"][0]["ours"]["values"][0], 100.0);
        assert_eq!(j["groups"][0]["upstream"][0]["ours_better_by"][0], 10.0);
        assert_eq!(j["metrics"][1]["higher_is_better"], true);
    }
}
