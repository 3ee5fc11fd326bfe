//! Resource figures of a running process from Linux's `/proc`: resident set size (now and peak) and CPU time.

use std::time::Duration;

use anyhow::{Context, Result};

/// One reading of a process's memory and CPU time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// `VmRSS`: resident set size now, in bytes.
    pub rss: u64,
    /// `VmHWM`: the peak resident set size so far, in bytes.
    pub peak_rss: u64,
    /// `utime + stime`: CPU time used so far.
    pub cpu: Duration,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux architecture Lambda runs).
const TICKS_PER_SECOND: u64 = 100;

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn read(pid: u32) -> Result<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(Usage {
        rss: status_kib(&status, "VmRSS:").context("no VmRSS")? * 1024,
        peak_rss: status_kib(&status, "VmHWM:").context("no VmHWM")? * 1024,
        cpu: stat_cpu(&stat).context("unreadable /proc/<pid>/stat")?,
    })
}

fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `utime` and `stime` are fields 14 and 15; counting starts after the `)` that closes the command name.
fn stat_cpu(stat: &str) -> Option<Duration> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let status = "Name:\tbootstrap\nVmHWM:\t   12345 kB\nVmRSS:\t    6789 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(12345));
        assert_eq!(status_kib(status, "VmRSS:"), Some(6789));
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 1 2 3";
        assert_eq!(stat_cpu(stat), Some(Duration::from_millis(2800)));
    }

    #[test]
    fn reads_this_process() {
        let usage = read(std::process::id()).unwrap();
        assert!(usage.rss > 0 && usage.peak_rss >= usage.rss);
    }
}
