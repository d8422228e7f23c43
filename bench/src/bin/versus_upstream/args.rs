//! The command line of versus-upstream.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Ours against upstream's VPA 1.7.1, in one run: each component's release binary and upstream's
/// run one after the other against the same API server (vpa-sim in this process, or the real
/// control plane) and the same workload, in rounds that alternate which goes first; medians are
/// printed as one table per component (ours, upstream with the same flags, upstream with its
/// defaults, and how many times better ours is) and written as JSON.
///
/// Ours are the release binaries in --ours-bin-dir (`cargo build --release -p vpa-recommender -p
/// vpa-updater -p vpa-admission-controller`); upstream's are `upstream-vpa-<component>` in
/// --upstream-bin-dir (`cluster/kube/build vpa`). `bench/versus-upstream` builds both and runs this.
#[derive(Parser, Debug)]
#[command(name = "versus-upstream")]
pub struct Args {
    /// Components to compare (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Component::Recommender, Component::Admission, Component::Updater])]
    pub component: Vec<Component>,

    /// Rounds per comparison; each round runs ours and upstream back to back, alternating which
    /// goes first, and the tables give the median over rounds.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,

    /// Recommender workloads against vpa-sim, as thousands of VPAs (each with 5 pods of 1 to 3
    /// containers): `1k` is 1,000 VPAs / 5,000 pods, `10k` 10,000 / 50,000, `30k` 30,000 /
    /// 150,000 (about 300,000 containers). Empty for none.
    #[arg(long, value_delimiter = ',', default_value = "1k,10k")]
    pub recommender_sizes: Vec<String>,

    /// Recommender workloads against the real control plane (kube-apiserver, etcd,
    /// controller-manager, scheduler, kwok nodes, metrics-server from --kube-bin-dir). Empty for none.
    #[arg(long, value_delimiter = ',', default_value = "1k")]
    pub recommender_kube_sizes: Vec<String>,

    /// Sizes (of those above, sim or real) at which upstream also runs with its default client
    /// throttle (`--kube-api-qps=50 --kube-api-burst=100`); its loop then takes minutes at 10k.
    #[arg(long, value_delimiter = ',', default_value = "1k")]
    pub upstream_defaults_sizes: Vec<String>,

    /// Recommender loops per run: the first, then steady ones (whose medians the table gives).
    #[arg(long, default_value_t = 4)]
    pub loops: usize,

    /// `--recommender-interval` of both recommenders; by default 10s at 1k VPAs and 2s more per
    /// 1,000 VPAs above (28s at 10k), so that both loops fit in it.
    #[arg(long, value_parser = parse_duration)]
    pub recommender_interval: Option<Duration>,

    /// Updater profiles: upstream's KWOK profiles small, medium, large, xlarge, xxlarge (25 to 1,000
    /// VPAs with 2 pods each) and 10k, 50k (pods).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "small,medium,large,xlarge,xxlarge,10k,50k"
    )]
    pub updater_profiles: Vec<String>,

    /// Updater profiles at which upstream also runs with its default client throttle.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "small,medium,large,xlarge,xxlarge"
    )]
    pub upstream_defaults_profiles: Vec<String>,

    /// Rounds of the upstream-defaults rows (slow, and the throttle, not the machine, sets them).
    #[arg(long, default_value_t = 1)]
    pub upstream_defaults_rounds: usize,

    /// The raised client throttle of the "same flags" rows: `--kube-api-qps` for both binaries, so
    /// that upstream's is not the bottleneck (ours has none by default).
    #[arg(long, default_value_t = 100_000)]
    pub kube_api_qps: u64,

    /// `--kube-api-burst` of the "same flags" rows.
    #[arg(long, default_value_t = 100_000)]
    pub kube_api_burst: u64,

    /// Seconds of each saturated admission round (32 workers on 4 keep-alive HTTP/2 clients).
    #[arg(long, default_value_t = 2.0)]
    pub admission_saturate_seconds: f64,

    /// Seconds of each paced admission round.
    #[arg(long, default_value_t = 3.0)]
    pub admission_paced_seconds: f64,

    /// Request rate of the paced admission rounds.
    #[arg(long, default_value_t = 1000)]
    pub admission_rate: u32,

    /// Where our release binaries are; default the folder of this program (`target/release`).
    #[arg(long)]
    pub ours_bin_dir: Option<PathBuf>,

    /// Where `upstream-vpa-{recommender,updater,admission-controller}` and the control plane's
    /// programs are; default `$VPA_KUBE_BIN` or /var/tmp/vpa-kube/bin.
    #[arg(long)]
    pub upstream_bin_dir: Option<PathBuf>,

    /// Write the tables as JSON here.
    #[arg(long, default_value = "versus-upstream.json")]
    pub json: PathBuf,

    /// Keep the binaries' logs here (default: a temporary folder, removed at the end).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
}

/// A component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Component {
    /// vpa-recommender.
    Recommender,
    /// vpa-updater.
    Updater,
    /// vpa-admission-controller.
    Admission,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    vpa_common::duration::parse_duration(s).map_err(|e| e.to_string())
}

/// VPAs of a recommender size (`1k` → 1,000; a plain number is taken as is).
pub fn vpas_of_size(size: &str) -> Result<usize, String> {
    let parsed = match size.strip_suffix('k') {
        Some(k) => k.parse::<f64>().map(|k| (k * 1000.0) as usize),
        None => size.parse::<f64>().map(|n| n as usize),
    };
    parsed
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("size `{size}`: expected e.g. 1k, 10k or 2500"))
}

/// The default `--recommender-interval` at `vpas` VPAs.
pub fn default_interval(vpas: usize) -> Duration {
    Duration::from_secs(10 + 2 * (vpas.saturating_sub(1000) / 1000) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_thousands_of_vpas() {
        assert_eq!(vpas_of_size("1k"), Ok(1000));
        assert_eq!(vpas_of_size("30k"), Ok(30_000));
        assert_eq!(vpas_of_size("0.5k"), Ok(500));
        assert_eq!(vpas_of_size("250"), Ok(250));
        assert!(vpas_of_size("big").is_err());
        assert!(vpas_of_size("0").is_err());
    }

    #[test]
    fn the_interval_grows_with_the_workload() {
        assert_eq!(default_interval(1000), Duration::from_secs(10));
        assert_eq!(default_interval(10_000), Duration::from_secs(28));
        assert_eq!(default_interval(100), Duration::from_secs(10));
    }

    #[test]
    fn every_option_has_help() {
        use clap::CommandFactory;
        let cmd = Args::command();
        for arg in cmd.get_arguments() {
            assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
        }
    }
}
