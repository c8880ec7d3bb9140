//! CPU time and resident memory of the tracker's process, and how busy the machine was,
//! from Linux `/proc`.

use std::io;
use std::time::Duration;

/// `/proc/PID/stat` counts in USER_HZ ticks, which the kernel fixes at 100 per second
/// for user space on every architecture Seedline runs on (it is not the kernel's HZ).
const TICKS_PER_SEC: u64 = 100;

/// User plus system CPU time of every thread of `pid`, dead threads included.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_stat_cpu(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/stat has no utime and stime fields"),
        )
    })?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SEC))
}

/// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/status has no VmRSS line"),
        )
    })
}

/// Whole-machine CPU ticks from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTicks {
    /// Every state, steal included.
    pub total: u64,
    /// idle + iowait.
    pub idle: u64,
    /// Time the hypervisor ran something else while this VM wanted to run.
    pub steal: u64,
}

impl HostTicks {
    pub fn read() -> io::Result<Self> {
        let text = std::fs::read_to_string("/proc/stat")?;
        parse_host(&text)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/stat has no cpu line"))
    }

    /// (busy %, steal %) of all CPUs between `self` and the later `end`.
    pub fn percent_until(&self, end: &Self) -> (f64, f64) {
        let total = end.total.saturating_sub(self.total).max(1) as f64;
        let idle = end.idle.saturating_sub(self.idle) as f64;
        let steal = end.steal.saturating_sub(self.steal) as f64;
        (
            100.0 * (total - idle - steal) / total,
            100.0 * steal / total,
        )
    }
}

/// `cpu  user nice system idle iowait irq softirq steal guest guest_nice`; guest time
/// is already inside user, so it is not added again.
fn parse_host(stat: &str) -> Option<HostTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v.try_into().ok()?;
    Some(HostTicks {
        total: user + nice + system + idle + iowait + irq + softirq + steal,
        idle: idle + iowait,
        steal,
    })
}

/// utime + stime (fields 14 and 15). The command name (field 2) is in parentheses and
/// may itself contain spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3, so utime is the 12th item.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let stat = "4242 (tra cker) (x)) S 1 4242 4242 0 -1 4194560 1150 0 0 0 731 269 0 0 20 0 3 0 1000 1000 100 0";
        assert_eq!(parse_stat_cpu(stat), Some(1000));
        assert_eq!(parse_stat_cpu("1 (x) S 1"), None);
    }

    #[test]
    fn parses_status() {
        let s = "Name:\ttracker\nVmPeak:\t  100 kB\nVmRSS:\t   27648 kB\nThreads:\t2\n";
        assert_eq!(parse_vm_rss(s), Some(27648));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn parses_host_ticks() {
        let s = "cpu  100 0 50 800 10 0 20 20 0 0\ncpu0 1 2 3\n";
        let t = parse_host(s).unwrap();
        assert_eq!((t.total, t.idle, t.steal), (1000, 810, 20));
        let later = HostTicks {
            total: 2000,
            idle: 1310,
            steal: 120,
        };
        assert_eq!(t.percent_until(&later), (40.0, 10.0));
        assert_eq!(parse_host("intr 1\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        // Burn CPU until at least two ticks show; the deadline only bounds a broken reader.
        let start = cpu_time(me).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut x = 0u64;
        while cpu_time(me).unwrap() < start + Duration::from_millis(20) {
            assert!(
                std::time::Instant::now() < deadline,
                "CPU time never advanced"
            );
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
    }
}
