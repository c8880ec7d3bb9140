//! The result of a run, as a human-readable table or JSON (`--json`).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::Serialize;

use super::config::{Arrivals, Mode};
use super::kernel_udp::UdpDrops;
use super::peer::Peer;
use super::stats::Stats;
use super::validate::ErrorKind;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub mode: Mode,
    /// Connections (workers) actually used; may exceed `--connections` when the largest
    /// swarm needs more source addresses.
    pub connections: usize,
    pub threads: usize,
    pub torrents: usize,
    pub peers: usize,
    pub largest_swarm: usize,
    pub zipf_exponent: f64,
    pub scrape_ratio: f64,
    pub numwant: u32,
    pub target_rate: Option<f64>,
    /// How the open-loop rate spaced its requests.
    pub arrivals: Option<Arrivals>,
    pub preload: Option<PhaseReport>,
    pub measured: PhaseReport,
    pub tracker_process: Option<ProcessReport>,
    /// What the tracker should hold now if it applied every request sent.
    pub model: ModelReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub requests: u64,
    pub announces: u64,
    pub scrapes: u64,
    pub errors_total: u64,
    pub elapsed_secs: f64,
    pub requests_per_sec: f64,
    pub latency_us: Latency,
    /// Every kind, zeros included.
    pub errors: BTreeMap<&'static str, u64>,
    /// "kind: detail" for the first distinct details.
    pub error_details: BTreeMap<String, u64>,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub connects: u64,
    pub reconnects: u64,
    /// Valid announce replies that listed the announcer itself (not an error).
    pub announcer_in_peers: u64,
    /// This process's CPU time (all threads) per request; measured phase only, and not
    /// for an open-loop rate, whose pacing spins.
    pub generator_cpu_us_per_request: Option<f64>,
    /// The whole machine during the measured phase: share of CPU time busy (anything,
    /// this run included) and stolen by the hypervisor. High steal, or busy time the two
    /// processes of the run do not explain, means the figures may be disturbed.
    pub host_busy_percent: Option<f64>,
    pub host_steal_percent: Option<f64>,
    /// UDP runs: what the kernel dropped during the phase (timeouts are in `errors`).
    pub kernel_udp_drops: Option<UdpDrops>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessReport {
    pub pid: u32,
    /// Tracker CPU (user + system) during the measured phase.
    pub cpu_secs: f64,
    /// Per request sent (failed ones included).
    pub cpu_us_per_request: f64,
    pub rss_kib_before: u64,
    pub rss_kib_after_preload: Option<u64>,
    pub rss_kib_after: u64,
    /// (RSS after preload - RSS before) / peers.
    pub bytes_per_peer: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ModelReport {
    pub active_torrents: usize,
    pub active_peers: usize,
    pub seeders: usize,
    pub leechers: usize,
}

impl ModelReport {
    pub fn of<'a>(torrents: usize, peers: impl Iterator<Item = &'a Peer>) -> Self {
        let mut has = vec![false; torrents];
        let mut m = Self::default();
        for p in peers.filter(|p| p.is_active()) {
            has[p.torrent as usize] = true;
            m.active_peers += 1;
            if p.is_seeder() {
                m.seeders += 1;
            } else {
                m.leechers += 1;
            }
        }
        m.active_torrents = has.iter().filter(|&&h| h).count();
        m
    }
}

impl Report {
    /// Requests that failed, and all requests sent, over both phases.
    pub fn errors_of_requests(&self) -> (u64, u64) {
        let phases = std::iter::once(&self.measured).chain(self.preload.as_ref());
        phases.fold((0, 0), |(e, n), p| {
            (e + p.errors_total, n + p.requests + p.errors_total)
        })
    }

    /// The share of requests that failed (0 when none were sent).
    pub fn error_rate(&self) -> f64 {
        match self.errors_of_requests() {
            (_, 0) => 0.0,
            (e, n) => e as f64 / n as f64,
        }
    }
}

impl PhaseReport {
    pub fn new(s: &Stats, elapsed: Duration) -> Self {
        let us = |ns: u64| ns as f64 / 1000.0;
        let q = |p: f64| us(s.latency.value_at_quantile(p));
        let secs = elapsed.as_secs_f64();
        Self {
            requests: s.requests(),
            announces: s.announces,
            scrapes: s.scrapes,
            errors_total: s.error_count(),
            elapsed_secs: secs,
            requests_per_sec: if secs > 0.0 {
                s.requests() as f64 / secs
            } else {
                0.0
            },
            latency_us: Latency {
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
                max: us(s.latency.max()),
                mean: s.latency.mean() / 1000.0,
            },
            errors: s.errors.iter().map(|(k, n)| (k.name(), *n)).collect(),
            error_details: s.details.clone(),
            bytes_out: s.bytes_out,
            bytes_in: s.bytes_in,
            connects: s.connects,
            reconnects: s.reconnects,
            announcer_in_peers: s.announcer_in_peers,
            generator_cpu_us_per_request: None,
            host_busy_percent: None,
            host_steal_percent: None,
            kernel_udp_drops: None,
        }
    }

    fn write(&self, f: &mut String, title: &str) -> fmt::Result {
        writeln!(f, "{title}")?;
        writeln!(
            f,
            "  requests     {} ({} announces, {} scrapes) in {:.2} s = {:.0} req/s",
            self.requests, self.announces, self.scrapes, self.elapsed_secs, self.requests_per_sec
        )?;
        let l = &self.latency_us;
        writeln!(
            f,
            "  latency us   p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}  mean {:.0}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )?;
        let errs: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(
            f,
            "  errors       {} ({})",
            self.errors_total,
            errs.join(", ")
        )?;
        for (d, n) in &self.error_details {
            writeln!(f, "    {n:>10}  {d}")?;
        }
        writeln!(
            f,
            "  bytes        out {} in {}; {} connects, {} server closes",
            self.bytes_out, self.bytes_in, self.connects, self.reconnects
        )?;
        if self.announcer_in_peers > 0 {
            writeln!(
                f,
                "  note         {} replies listed the announcer itself",
                self.announcer_in_peers
            )?;
        }
        if let Some(us) = self.generator_cpu_us_per_request {
            writeln!(f, "  generator    {us:.2} us CPU per request")?;
        }
        if let Some(d) = &self.kernel_udp_drops {
            let lost = self
                .errors
                .get(ErrorKind::Timeout.name())
                .copied()
                .unwrap_or(0);
            writeln!(
                f,
                "  udp loss     {lost} requests unanswered; the kernel dropped {} at the tracker's sockets (queue full); host-wide {} receive-buffer drops, {} receive errors",
                d.tracker_sockets, d.host_rcvbuf_errors, d.host_in_errors
            )?;
        }
        if let (Some(busy), Some(steal)) = (self.host_busy_percent, self.host_steal_percent) {
            writeln!(
                f,
                "  host cpu     {busy:.0}% busy, {steal:.0}% stolen by the hypervisor"
            )?;
        }
        Ok(())
    }
}

impl Report {
    /// The human-readable table.
    pub fn human(&self) -> String {
        let mut f = String::new();
        self.write(&mut f).expect("writing to a String cannot fail");
        f
    }

    fn write(&self, f: &mut String) -> fmt::Result {
        writeln!(
            f,
            "target {}  mode {:?}  connections {}  threads {}  rate {}",
            self.target,
            self.mode,
            self.connections,
            self.threads,
            match (self.target_rate, self.arrivals) {
                (Some(r), Some(Arrivals::Poisson)) => format!("{r:.0}/s open loop, Poisson"),
                (Some(r), _) => format!("{r:.0}/s open loop, even"),
                (None, _) => "closed loop".to_string(),
            }
        )?;
        writeln!(
            f,
            "population {} torrents, {} peers (largest swarm {}), zipf s={}, scrape ratio {}, numwant {}",
            self.torrents,
            self.peers,
            self.largest_swarm,
            self.zipf_exponent,
            self.scrape_ratio,
            self.numwant
        )?;
        if let Some(p) = &self.preload {
            p.write(f, "preload")?;
        }
        self.measured.write(f, "measured")?;
        if let Some(t) = &self.tracker_process {
            writeln!(f, "tracker process {}", t.pid)?;
            writeln!(
                f,
                "  cpu          {:.2} s = {:.2} us per request",
                t.cpu_secs, t.cpu_us_per_request
            )?;
            let after = t
                .rss_kib_after_preload
                .map_or("-".to_string(), |k| k.to_string());
            let per_peer = t
                .bytes_per_peer
                .map_or("-".to_string(), |b| format!("{b:.1}"));
            writeln!(
                f,
                "  rss KiB      before {}  after preload {}  after {}  ({} bytes per peer)",
                t.rss_kib_before, after, t.rss_kib_after, per_peer
            )?;
        }
        let m = &self.model;
        writeln!(
            f,
            "model  {} torrents, {} peers ({} seeders, {} leechers) should be on the tracker",
            m.active_torrents, m.active_peers, m.seeders, m.leechers
        )
    }
}
