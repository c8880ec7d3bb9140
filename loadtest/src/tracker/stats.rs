//! What one thread measured in one phase; merged across threads at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::validate::{ErrorKind, Problem};

/// Longest latency the histogram holds; slower replies are clamped (and a timeout is far
/// shorter anyway).
const MAX_LATENCY_NS: u64 = 120_000_000_000;
/// Distinct error descriptions kept; later new ones only count under their kind.
const MAX_DETAILS: usize = 32;

#[derive(Debug, Clone)]
pub struct Stats {
    /// Nanoseconds from the (scheduled) send time to the complete reply.
    pub latency: Histogram<u64>,
    pub announces: u64,
    pub scrapes: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// "kind: detail" -> count, for the first `MAX_DETAILS` (32) distinct details.
    pub details: BTreeMap<String, u64>,
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// TCP connections opened.
    pub connects: u64,
    /// Keep-alive connections the server closed; the request was retried on a new one.
    pub reconnects: u64,
    /// Valid announce replies that listed the announcer itself.
    pub announcer_in_peers: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
                .expect("static histogram bounds are valid"),
            announces: 0,
            scrapes: 0,
            errors: ErrorKind::ALL.iter().map(|&k| (k, 0)).collect(),
            details: BTreeMap::new(),
            bytes_out: 0,
            bytes_in: 0,
            connects: 0,
            reconnects: 0,
            announcer_in_peers: 0,
        }
    }
}

impl Stats {
    pub fn record_ok(&mut self, scrape: bool, latency: Duration) {
        if scrape {
            self.scrapes += 1;
        } else {
            self.announces += 1;
        }
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency.saturating_record(ns.clamp(1, MAX_LATENCY_NS));
    }

    pub fn record_error(&mut self, p: &Problem) {
        *self.errors.entry(p.kind).or_default() += 1;
        let key = format!("{}: {}", p.kind.name(), p.detail);
        if let Some(n) = self.details.get_mut(&key) {
            *n += 1;
        } else if self.details.len() < MAX_DETAILS {
            self.details.insert(key, 1);
        }
    }

    pub fn requests(&self) -> u64 {
        self.announces + self.scrapes
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, o: &Stats) {
        self.latency
            .add(&o.latency)
            .expect("histograms share their bounds");
        self.announces += o.announces;
        self.scrapes += o.scrapes;
        for (k, n) in &o.errors {
            *self.errors.entry(*k).or_default() += n;
        }
        for (k, n) in &o.details {
            if let Some(m) = self.details.get_mut(k) {
                *m += n;
            } else if self.details.len() < MAX_DETAILS {
                self.details.insert(k.clone(), *n);
            }
        }
        self.bytes_out += o.bytes_out;
        self.bytes_in += o.bytes_in;
        self.connects += o.connects;
        self.reconnects += o.reconnects;
        self.announcer_in_peers += o.announcer_in_peers;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let mut a = Stats::default();
        a.record_ok(false, Duration::from_micros(100));
        a.record_error(&Problem::new(ErrorKind::Timeout, "x"));
        let mut b = Stats::default();
        b.record_ok(true, Duration::from_micros(300));
        b.record_error(&Problem::new(ErrorKind::Timeout, "x"));
        b.bytes_in = 7;
        a.merge(&b);
        assert_eq!((a.announces, a.scrapes, a.requests()), (1, 1, 2));
        assert_eq!(a.errors[&ErrorKind::Timeout], 2);
        assert_eq!(a.details["timeout: x"], 2);
        assert_eq!(a.error_count(), 2);
        assert_eq!(a.bytes_in, 7);
        assert_eq!(a.latency.len(), 2);
        assert!(a.latency.max() >= 299_000);
    }

    #[test]
    fn details_are_bounded() {
        let mut s = Stats::default();
        for i in 0..100 {
            s.record_error(&Problem::new(ErrorKind::Failure, format!("reason {i}")));
        }
        assert_eq!(s.details.len(), MAX_DETAILS);
        assert_eq!(s.errors[&ErrorKind::Failure], 100);
    }
}
