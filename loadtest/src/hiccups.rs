//! `loadtest hiccups`: how much time the machine itself takes from a thread that never
//! sleeps, so a server's tail latency can be read against what the host allows.
//!
//! A thread reads the clock in a loop; a gap between two reads longer than the
//! threshold is time the thread did not run: the hypervisor ran another guest, the
//! kernel ran an interrupt or another task. Run on an idle core (pinned with `taskset`),
//! it is the share of time during which any request on that core would have waited
//! whatever the server did. On a 2-vCPU KVM guest it found 0.03-0.4% of the time lost
//! in gaps of over 100 us with the other vCPU idle, and 0.3-1.8% (up to 45 gaps over
//! 1 ms in 10 s) with both busy (BENCHMARKS.md, "the p99 at a fixed rate"): at 20 000
//! requests/s, enough to set a p99.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct HiccupsArgs {
    /// Seconds to measure.
    #[arg(long, env = "LOADTEST_HICCUPS_DURATION", default_value_t = 10.0)]
    pub duration: f64,
    /// A gap between two clock reads longer than this, in microseconds, is a hiccup.
    #[arg(long, env = "LOADTEST_HICCUPS_THRESHOLD_US", default_value_t = 100)]
    pub threshold_us: u64,
    /// Print the report as JSON.
    #[arg(long, env = "LOADTEST_HICCUPS_JSON")]
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub duration_secs: f64,
    pub threshold_us: u64,
    /// Gaps longer than the threshold.
    pub hiccups: u64,
    /// ... of which longer than 1 ms.
    pub over_1ms: u64,
    /// Their total, as a share of the duration.
    pub lost_percent: f64,
    pub max_us: f64,
    /// The five longest, longest first.
    pub longest_us: Vec<f64>,
}

impl HiccupsArgs {
    pub fn validate(&self) -> Result<(Duration, Duration), String> {
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 3600.0) {
            return Err(format!(
                "--duration must be between 0 and 3600 seconds, got {}",
                self.duration
            ));
        }
        if self.threshold_us == 0 {
            return Err("--threshold-us must be at least 1".into());
        }
        Ok((
            Duration::from_secs_f64(self.duration),
            Duration::from_micros(self.threshold_us),
        ))
    }
}

/// Spins on the calling thread for `duration`, noting every gap over `threshold`.
pub fn measure(duration: Duration, threshold: Duration) -> Report {
    let start = Instant::now();
    let mut last = start;
    let mut gaps = Gaps::default();
    loop {
        let now = Instant::now();
        let gap = now - last;
        if gap > threshold {
            gaps.add(gap);
        }
        last = now;
        if now - start >= duration {
            return gaps.report(now - start, threshold);
        }
    }
}

/// What the loop keeps: counts, a total, and the five longest gaps (no allocation per
/// gap, so the loop's own cost stays flat).
#[derive(Default)]
struct Gaps {
    count: u64,
    over_1ms: u64,
    total: Duration,
    longest: [Duration; 5],
}

impl Gaps {
    fn add(&mut self, gap: Duration) {
        self.count += 1;
        self.over_1ms += u64::from(gap > Duration::from_millis(1));
        self.total += gap;
        // `longest` is sorted longest first; the shortest falls off the end.
        if let Some(i) = self.longest.iter().position(|l| gap > *l) {
            self.longest[i..].rotate_right(1);
            self.longest[i] = gap;
        }
    }

    fn report(&self, elapsed: Duration, threshold: Duration) -> Report {
        let us = |d: &Duration| d.as_secs_f64() * 1e6;
        Report {
            duration_secs: elapsed.as_secs_f64(),
            threshold_us: threshold.as_micros() as u64,
            hiccups: self.count,
            over_1ms: self.over_1ms,
            lost_percent: 100.0 * self.total.as_secs_f64() / elapsed.as_secs_f64(),
            max_us: us(&self.longest[0]),
            longest_us: self
                .longest
                .iter()
                .take_while(|d| !d.is_zero())
                .map(us)
                .collect(),
        }
    }
}

impl Report {
    pub fn human(&self) -> String {
        format!(
            "{:.1} s: {} gaps over {} us ({} over 1 ms), {:.2}% of the time lost, longest {:.0} us ({})\n",
            self.duration_secs,
            self.hiccups,
            self.threshold_us,
            self.over_1ms,
            self.lost_percent,
            self.max_us,
            self.longest_us
                .iter()
                .map(|u| format!("{u:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_keep_the_five_longest_in_order() {
        let mut g = Gaps::default();
        for ms in [3, 1, 7, 2, 9, 5, 4, 8] {
            g.add(Duration::from_millis(ms));
        }
        let r = g.report(Duration::from_secs(1), Duration::from_micros(100));
        assert_eq!(r.hiccups, 8);
        assert_eq!(r.over_1ms, 7);
        assert_eq!(r.longest_us, [9_000.0, 8_000.0, 7_000.0, 5_000.0, 4_000.0]);
        assert_eq!(r.max_us, 9_000.0);
        assert!((r.lost_percent - 3.9).abs() < 1e-9, "{}", r.lost_percent);
    }

    #[test]
    fn a_short_run_reports_its_length_and_bad_flags_are_refused() {
        let r = measure(Duration::from_millis(20), Duration::from_micros(100));
        assert!(r.duration_secs >= 0.02);
        assert!(r.longest_us.len() as u64 == r.hiccups.min(5));
        let args = |d: f64, t: u64| HiccupsArgs {
            duration: d,
            threshold_us: t,
            json: false,
        };
        assert!(args(0.0, 100).validate().is_err());
        assert!(args(f64::NAN, 100).validate().is_err());
        assert!(args(1.0, 0).validate().is_err());
        assert!(args(1.0, 100).validate().is_ok());
    }
}
