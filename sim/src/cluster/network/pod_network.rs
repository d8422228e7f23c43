//! The network of process-backed pods (pure, plus a shared port table): each such pod gets its own
//! loopback address (Linux routes all of 127.0.0.0/8 to `lo`), and the kubelet-ish launcher
//! rewrites the container's bind-all listen addresses (`--address=:8942`) to that address, so two
//! replicas of one Deployment can listen on the same port.
//!
//! A flag that takes only a port and binds every interface (the admission controller's `--port`)
//! cannot be moved to the pod address; when another of our processes already holds that port, the
//! launcher gives the process a free port instead and records `podIP:containerPort → podIP:port`
//! in the [`PortMap`], which Service resolution and probes go through (like a CNI's DNAT). A listen
//! flag given an explicit other host (`--address=127.0.0.1:PORT`, as tests do to pick free ports)
//! stays, and the container port it stands for (the port the flag binds by default, which is
//! what manifests declare) is mapped to it the same way.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

/// The `n`-th pod loopback address: 127.1.0.1, 127.1.0.2, ... 127.1.0.254, 127.1.1.1, ...
pub fn loopback_ip(n: u32) -> Ipv4Addr {
    let n = n % (254 * 256);
    Ipv4Addr::new(127, 1, (n / 254) as u8, (n % 254 + 1) as u8)
}

/// A listen-address flag of one of our binaries and the port it binds on every interface when
/// absent.
struct AddressFlag {
    binary: &'static str,
    flag: &'static str,
    default_port: u16,
}

/// `HOST:PORT` flags (Go form: `:PORT` = every interface).
const ADDRESS_FLAGS: [AddressFlag; 3] = [
    AddressFlag {
        binary: "vpa-recommender",
        flag: "--address",
        default_port: 8942,
    },
    AddressFlag {
        binary: "vpa-updater",
        flag: "--address",
        default_port: 8943,
    },
    AddressFlag {
        binary: "vpa-admission-controller",
        flag: "--address",
        default_port: 8944,
    },
];

/// Port-only flags whose server binds `0.0.0.0:PORT`.
const PORT_FLAGS: [AddressFlag; 1] = [AddressFlag {
    binary: "vpa-admission-controller",
    flag: "--port",
    default_port: 8000,
}];

/// The port of a bind-all listen address (`:P`, `0.0.0.0:P`, `[::]:P`), if `value` is one.
fn bind_all_port(value: &str) -> Option<u16> {
    let port = value
        .strip_prefix(':')
        .or_else(|| value.strip_prefix("0.0.0.0:"))
        .or_else(|| value.strip_prefix("[::]:"))?;
    port.parse().ok()
}

/// The process command line of a container with its listen addresses on the pod's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodArgs {
    /// The arguments to run with.
    pub args: Vec<String>,
    /// Container ports served elsewhere: (container port, where).
    pub remapped: Vec<(u16, SocketAddr)>,
    /// Bind-all ports the process holds (to release when it ends).
    pub claimed: Vec<u16>,
}

/// Rewrites `args` of `binary` for a pod at `ip`: every bind-all listen address (in `--flag=V` or
/// `--flag V` form) moves to `ip`; a known address flag that is absent is added with its default
/// port on `ip`; a port-only bind-all flag keeps its port unless `taken` holds it, in which case
/// `free_port()` gives the one used instead.
pub fn pod_args(
    binary: &str,
    args: &[String],
    ip: IpAddr,
    taken: &BTreeSet<u16>,
    mut free_port: impl FnMut() -> u16,
) -> PodArgs {
    let host = SocketAddr::new(ip, 0).to_string();
    let host = host.trim_end_matches(":0");
    let mut out: Vec<String> = Vec::with_capacity(args.len() + 1);
    let mut seen_flags = Vec::new();
    let mut remapped = Vec::new();
    let address_flag = |flag: &str| {
        ADDRESS_FLAGS
            .iter()
            .find(|f| f.binary == binary && f.flag == flag)
    };
    // An explicit address elsewhere stands for the container port the flag binds by default.
    let mut elsewhere = |flag: &str, value: &str| {
        if let (Some(f), Ok(addr)) = (address_flag(flag), value.parse::<SocketAddr>())
            && addr.ip() != ip
            && !addr.ip().is_unspecified()
        {
            remapped.push((f.default_port, addr));
        }
    };
    let mut pending_flag: Option<String> = None;
    for a in args {
        if let Some(flag) = pending_flag.take() {
            elsewhere(&flag, a);
            seen_flags.push(flag);
            out.push(match bind_all_port(a) {
                Some(p) => format!("{host}:{p}"),
                None => a.clone(),
            });
            continue;
        }
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (a.as_str(), None),
        };
        if flag.starts_with("--") {
            if value.is_none() && address_flag(flag).is_some() {
                pending_flag = Some(flag.to_string());
                out.push(a.clone());
                continue;
            }
            seen_flags.push(flag.to_string());
        }
        if let Some(v) = value {
            elsewhere(flag, v);
        }
        match value.and_then(bind_all_port) {
            Some(p) => out.push(format!("{flag}={host}:{p}")),
            None => out.push(a.clone()),
        }
    }
    for f in ADDRESS_FLAGS.iter().filter(|f| f.binary == binary) {
        if !seen_flags.iter().any(|s| s == f.flag) {
            out.push(format!("{}={host}:{}", f.flag, f.default_port));
        }
    }
    let mut claimed = Vec::new();
    for f in PORT_FLAGS.iter().filter(|f| f.binary == binary) {
        let prefix = format!("{}=", f.flag);
        let given = out.iter().position(|a| a.starts_with(&prefix));
        let port = given
            .and_then(|i| out[i][prefix.len()..].parse().ok())
            .unwrap_or(f.default_port);
        if !taken.contains(&port) && !claimed.contains(&port) {
            claimed.push(port);
            continue;
        }
        let actual = free_port();
        remapped.push((port, SocketAddr::new(ip, actual)));
        claimed.push(actual);
        let arg = format!("{prefix}{actual}");
        match given {
            Some(i) => out[i] = arg,
            None => out.push(arg),
        }
    }
    PodArgs {
        args: out,
        remapped,
        claimed,
    }
}

/// `podIP:containerPort → where it is actually served`, for ports the launcher moved; shared by
/// the kubelets (writers) and Service resolution and probes (readers).
#[derive(Clone, Debug, Default)]
pub struct PortMap(Arc<RwLock<HashMap<SocketAddr, SocketAddr>>>);

impl PortMap {
    /// Records that `from` is served at `to`.
    pub fn insert(&self, from: SocketAddr, to: SocketAddr) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(from, to);
    }

    /// Forgets `from` (its process ended).
    pub fn remove(&self, from: &SocketAddr) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(from);
    }

    /// Where `addr` is served (itself unless moved).
    pub fn translate(&self, addr: SocketAddr) -> SocketAddr {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&addr)
            .copied()
            .unwrap_or(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loopback_addresses_skip_network_and_broadcast_octets() {
        assert_eq!(loopback_ip(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(loopback_ip(253), Ipv4Addr::new(127, 1, 0, 254));
        assert_eq!(loopback_ip(254), Ipv4Addr::new(127, 1, 1, 1));
    }

    #[test]
    fn bind_all_addresses_move_to_the_pod_address_and_explicit_ones_stay() {
        let ip: IpAddr = "127.1.0.7".parse().unwrap();
        let none = BTreeSet::new();
        let a = pod_args(
            "vpa-recommender",
            &strings(&[
                "--address=:8942",
                "--prometheus-address=http://p:9090",
                "--v=2",
            ]),
            ip,
            &none,
            || unreachable!(),
        );
        assert_eq!(
            a.args,
            strings(&[
                "--address=127.1.0.7:8942",
                "--prometheus-address=http://p:9090",
                "--v=2"
            ])
        );
        let a = pod_args(
            "vpa-updater",
            &strings(&["--address", "0.0.0.0:1"]),
            ip,
            &none,
            || 0,
        );
        assert_eq!(a.args, strings(&["--address", "127.1.0.7:1"]));
        let a = pod_args(
            "vpa-updater",
            &strings(&["--address=127.0.0.1:5"]),
            ip,
            &none,
            || 0,
        );
        assert_eq!(a.args, strings(&["--address=127.0.0.1:5"]));
        assert_eq!(
            a.remapped,
            vec![(8943, "127.0.0.1:5".parse().unwrap())],
            "the manifest's container port reaches the explicit address"
        );
        let a = pod_args("vpa-updater", &[], ip, &none, || 0);
        assert_eq!(a.args, strings(&["--address=127.1.0.7:8943"]));
    }

    #[test]
    fn a_port_only_flag_keeps_its_port_until_another_process_holds_it() {
        let ip: IpAddr = "127.1.0.8".parse().unwrap();
        let args = strings(&["--port=8000", "--address=:8944"]);
        let first = pod_args(
            "vpa-admission-controller",
            &args,
            ip,
            &BTreeSet::new(),
            || 0,
        );
        assert_eq!(
            first.args,
            strings(&["--port=8000", "--address=127.1.0.8:8944"])
        );
        assert_eq!((first.remapped, first.claimed), (vec![], vec![8000]));
        let second = pod_args(
            "vpa-admission-controller",
            &args,
            ip,
            &[8000].into(),
            || 40123,
        );
        assert_eq!(
            second.args,
            strings(&["--port=40123", "--address=127.1.0.8:8944"])
        );
        assert_eq!(
            (second.remapped, second.claimed),
            (
                vec![(8000, "127.1.0.8:40123".parse().unwrap())],
                vec![40123]
            )
        );
        let absent = pod_args("vpa-admission-controller", &[], ip, &[8000].into(), || {
            40124
        });
        assert!(
            absent.args.contains(&"--port=40124".to_string()),
            "{absent:?}"
        );
    }

    #[test]
    fn the_port_map_translates_moved_ports_only() {
        let map = PortMap::default();
        let from: SocketAddr = "127.1.0.8:8000".parse().unwrap();
        let to: SocketAddr = "127.1.0.8:40123".parse().unwrap();
        map.insert(from, to);
        assert_eq!(map.translate(from), to);
        let other: SocketAddr = "127.1.0.9:8000".parse().unwrap();
        assert_eq!(map.translate(other), other);
        map.remove(&from);
        assert_eq!(map.translate(from), from);
    }
}
