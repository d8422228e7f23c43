//! Memory and CPU of another process, read from `/proc/<pid>/status` and `/proc/<pid>/stat`, so a
//! benchmark measures the child it runs and not itself. The CPU figures are the kernel's per-process
//! accounting (`utime` + `stime`, all threads), the same counters `getrusage` reports for a reaped
//! child; `VmHWM` is the peak resident set, as `ru_maxrss`. Parsing is pure; [`read`] is the edge.

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcStats {
    /// Resident set now (`VmRSS`), MiB.
    pub rss_mib: f64,
    /// Peak resident set since start (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
    /// CPU time used so far, user plus system, seconds.
    pub cpu_seconds: f64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`sysconf(_SC_CLK_TCK)`, 100 on every Linux
/// architecture this project runs on).
pub const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// `VmRSS` and `VmHWM` of a `/proc/<pid>/status` text, MiB; 0 for a missing field.
pub fn parse_status(status: &str) -> (f64, f64) {
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User plus system CPU seconds of a `/proc/<pid>/stat` line; 0 when it does not parse. The
/// command name (field 2) may hold spaces and parentheses, so fields are counted after the last
/// `)`.
pub fn parse_stat_cpu(stat: &str) -> f64 {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    // After the name: state is field 3, utime field 14, stime field 15 (1-based).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / CLOCK_TICKS_PER_SECOND
}

/// Reads `pid` now; zeros once the process is gone.
pub fn read(pid: u32) -> ProcStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let (rss_mib, peak_rss_mib) = parse_status(&status);
    ProcStats {
        rss_mib,
        peak_rss_mib,
        cpu_seconds: parse_stat_cpu(&stat),
    }
}

/// CPU seconds this process has used (for the share of the machine a benchmark's own side takes).
pub fn own_cpu_seconds() -> f64 {
    read(std::process::id()).cpu_seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_mebibytes() {
        let status = "Name:\tvpa-recommender\nVmPeak:\t  900000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  122880 kB\n";
        assert_eq!(parse_status(status), (120.0, 150.0));
        assert_eq!(parse_status("Name:\tx\n"), (0.0, 0.0));
    }

    #[test]
    fn cpu_is_utime_plus_stime_after_a_name_with_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        let stat = "4242 (upstream vpa (x)) S 1 4242 4242 0 -1 4194560 10 0 0 0 250 75 0 0 20 0 12";
        assert_eq!(parse_stat_cpu(stat), 3.25);
        assert_eq!(parse_stat_cpu("garbage"), 0.0);
    }

    #[test]
    fn this_process_is_readable() {
        let me = read(std::process::id());
        assert!(me.rss_mib > 0.0 && me.peak_rss_mib >= me.rss_mib);
    }
}
