//! A worker: one connection slot and the peers that speak through it.
//!
//! Each worker owns its peers outright (no locks between workers), and its source address
//! is fixed, so a peer always reaches the tracker from the same (IP, port). A worker runs
//! one request at a time: keep-alive clients do not pipeline, and a one-shot client has
//! one request per connection anyway.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use seedline_common::{Event, InfoHash, ScrapeRequest};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::Arrivals;
use super::conn::Conn;
use super::http::RequestWriter;
use super::pacer;
use super::peer::{splitmix64, Peer};
use super::population::{source_for, torrent_size, Sources};
use super::stats::Stats;
use super::udp::UdpConn;
use super::validate::{check_announce, check_scrape, AnnounceSent, ErrorKind, Notes, Problem};
use super::zipf::Zipf;

/// Everything a phase's workers share, read-only.
pub struct Plan {
    pub target: SocketAddr,
    /// BEP 15 instead of HTTP.
    pub udp: bool,
    pub writer: RequestWriter,
    /// A new TCP connection for every request.
    pub one_shot: bool,
    pub sources: Sources,
    pub info_hashes: Arc<[InfoHash]>,
    pub zipf: Arc<Zipf>,
    pub numwant: u32,
    pub seeder_fraction: f64,
    pub scrape_ratio: f64,
    pub scrape_hashes: usize,
    pub timeout: Duration,
    /// When the phase starts; paced workers schedule from here.
    pub start: Instant,
    /// No request is sent at or after this.
    pub deadline: Instant,
    /// Requests left to send, shared by all workers; `None` for no limit.
    pub budget: Option<Arc<AtomicI64>>,
    /// Open loop: each worker sends one request per this interval (on average, for
    /// Poisson arrivals).
    pub interval: Option<Duration>,
    pub arrivals: Arrivals,
    pub workers: usize,
    pub cancel: CancellationToken,
}

impl Plan {
    fn take_budget(&self) -> bool {
        self.budget
            .as_ref()
            .is_none_or(|b| b.fetch_sub(1, Ordering::Relaxed) > 0)
    }

    fn may_send(&self, at: Instant) -> bool {
        at < self.deadline && !self.cancel.is_cancelled() && self.take_budget()
    }
}

/// What one request is.
enum Job {
    Announce { peer: usize, event: Event },
    Scrape(Vec<InfoHash>),
}

pub struct Worker {
    pub id: usize,
    pub peers: Vec<Peer>,
    rng: SmallRng,
    req: Vec<u8>,
    /// The phase's connection; kept here so its counters survive a phase cut short.
    conn: Option<Conn>,
    /// ... or its UDP socket, for a UDP tracker.
    udp: Option<UdpConn>,
}

impl Worker {
    pub fn new(id: usize, peers: Vec<Peer>, seed: u64) -> Self {
        Self {
            id,
            peers,
            rng: SmallRng::seed_from_u64(splitmix64(seed ^ (id as u64) << 20)),
            req: Vec::with_capacity(512),
            conn: None,
            udp: None,
        }
    }

    /// Announces every peer once (`started`), as fast as the tracker answers.
    pub async fn preload(&mut self, plan: &Plan, stats: &RefCell<Stats>) {
        self.open(plan);
        for i in 0..self.peers.len() {
            let now = Instant::now();
            if !plan.may_send(now) {
                break;
            }
            let event = self.peers[i].start();
            self.send(plan, Job::Announce { peer: i, event }, now, stats)
                .await;
        }
    }

    /// The measured mix: random peers announce (advancing their life cycle) and scrapes
    /// of popular torrents, closed-loop or paced at `plan.interval`.
    pub async fn measure(&mut self, plan: &Plan, stats: &RefCell<Stats>) {
        self.open(plan);
        // Paced workers start spread over one interval so their sends interleave.
        let mut next = plan
            .interval
            .map(|i| plan.start + i.mul_f64(self.id as f64 / plan.workers as f64));
        loop {
            // Open loop: latency counts from the scheduled time, always. A send held up
            // by the previous reply, or by a stall of this machine, is late by the
            // server's or the host's doing, and omitting that wait would hide the tail
            // the run exists to measure. The pacer itself is late by microseconds.
            let scheduled = match (&mut next, plan.interval) {
                (Some(at), Some(interval)) => {
                    let s = *at;
                    *at = next_send(s, interval, plan.arrivals, &mut self.rng);
                    if s >= plan.deadline {
                        break;
                    }
                    pacer::sleep_until(s).await;
                    s
                }
                _ => Instant::now(),
            };
            if self.peers.is_empty() || !plan.may_send(scheduled) {
                break;
            }
            let job = if plan.scrape_ratio > 0.0 && self.rng.random_bool(plan.scrape_ratio) {
                Job::Scrape(
                    (0..plan.scrape_hashes)
                        .map(|_| plan.info_hashes[plan.zipf.sample(&mut self.rng)])
                        .collect(),
                )
            } else {
                let i = self.rng.random_range(0..self.peers.len());
                let size = torrent_size(self.peers[i].torrent as usize);
                let event = self.peers[i].advance(&mut self.rng, plan.seeder_fraction, size);
                Job::Announce { peer: i, event }
            };
            self.send(plan, job, scheduled, stats).await;
        }
    }

    fn open(&mut self, plan: &Plan) {
        let source = source_for(plan.sources, self.id);
        if plan.udp {
            self.udp = Some(UdpConn::new(plan.target, source, self.id as u32));
        } else {
            self.conn = Some(Conn::new(plan.target, source, plan.one_shot));
        }
    }

    /// Closes the phase's connection and adds its counters to `stats`.
    pub fn close(&mut self, stats: &mut Stats) {
        let counts = match (self.conn.take(), self.udp.take()) {
            (Some(c), _) => c.counts,
            (_, Some(u)) => u.counts,
            _ => return,
        };
        stats.bytes_out += counts.bytes_out;
        stats.bytes_in += counts.bytes_in;
        stats.connects += counts.connects;
        stats.reconnects += counts.reconnects;
    }

    /// Sends one request and records its outcome; latency counts from `origin`.
    async fn send(&mut self, plan: &Plan, job: Job, origin: Instant, stats: &RefCell<Stats>) {
        if plan.udp {
            return self.send_udp(plan, job, origin, stats).await;
        }
        match &job {
            Job::Announce { peer, event } => {
                let p = &self.peers[*peer];
                let r = p.request(plan.info_hashes[p.torrent as usize], *event, plan.numwant);
                plan.writer.announce(&r, &mut self.req);
            }
            Job::Scrape(hashes) => {
                let r = ScrapeRequest {
                    info_hashes: hashes.clone(),
                };
                plan.writer.scrape(&r, &mut self.req);
            }
        }
        let conn = self.conn.as_mut().expect("open() runs before any send");
        let outcome = conn
            .exchange(&self.req, plan.timeout)
            .await
            .and_then(|reply| {
                if reply.status != 200 {
                    return Err(Problem::new(ErrorKind::Status, reply.status.to_string()));
                }
                let body = &conn.buf()[reply.body];
                match &job {
                    Job::Announce { peer, event } => {
                        let p = &self.peers[*peer];
                        let sent = AnnounceSent {
                            numwant: plan.numwant,
                            event: *event,
                            me: source_for(plan.sources, self.id)
                                .map(|ip| SocketAddr::new(ip, p.port)),
                        };
                        check_announce(body, &sent)
                    }
                    Job::Scrape(hashes) => check_scrape(body, hashes).map(|()| Notes::default()),
                }
                .map(|notes| (reply.done, notes))
            });
        record(&mut stats.borrow_mut(), &job, origin, outcome);
    }

    /// [`Self::send`] over BEP 15.
    async fn send_udp(&mut self, plan: &Plan, job: Job, origin: Instant, stats: &RefCell<Stats>) {
        let conn = self.udp.as_mut().expect("open() runs before any send");
        let outcome = match &job {
            Job::Announce { peer, event } => {
                let p = &self.peers[*peer];
                let r = p.request(plan.info_hashes[p.torrent as usize], *event, plan.numwant);
                let sent = AnnounceSent {
                    numwant: plan.numwant,
                    event: *event,
                    me: source_for(plan.sources, self.id).map(|ip| SocketAddr::new(ip, p.port)),
                };
                conn.announce(&r, &sent, plan.timeout).await
            }
            Job::Scrape(hashes) => conn
                .scrape(hashes, plan.timeout)
                .await
                .map(|done| (done, Notes::default())),
        };
        record(&mut stats.borrow_mut(), &job, origin, outcome);
    }
}

/// Counts one request's outcome; latency counts from `origin`.
fn record(s: &mut Stats, job: &Job, origin: Instant, outcome: Result<(Instant, Notes), Problem>) {
    match outcome {
        Ok((done, notes)) => {
            s.record_ok(
                matches!(job, Job::Scrape(_)),
                done.saturating_duration_since(origin),
            );
            s.announcer_in_peers += u64::from(notes.announcer_in_peers);
        }
        Err(p) => s.record_error(&p),
    }
}

/// When a paced worker sends next, its last send scheduled `at`: one `interval` later,
/// or for Poisson arrivals an exponential gap of that mean.
fn next_send(at: Instant, interval: Duration, arrivals: Arrivals, rng: &mut SmallRng) -> Instant {
    match arrivals {
        Arrivals::Even => at + interval,
        Arrivals::Poisson => at + interval.mul_f64(exponential(rng)),
    }
}

/// A draw of the exponential distribution with mean 1: the gap between a Poisson
/// process's events, in units of its mean.
fn exponential(rng: &mut SmallRng) -> f64 {
    // `random` is in [0, 1), so the logarithm's argument is in (0, 1].
    -(1.0 - rng.random::<f64>()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_gaps_have_mean_one_and_are_positive() {
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|_| exponential(&mut rng)).collect();
        assert!(draws.iter().all(|d| d.is_finite() && *d >= 0.0));
        let mean = draws.iter().sum::<f64>() / n as f64;
        assert!((0.98..1.02).contains(&mean), "mean {mean}");
        // The memoryless tail: P(gap > 2) = e^-2.
        let over = draws.iter().filter(|d| **d > 2.0).count() as f64 / n as f64;
        assert!((0.128..0.143).contains(&over), "P(gap > 2) {over}");
    }

    /// The coefficient of variation of a worker's gaps: 0 for an even schedule, 1 for a
    /// Poisson process.
    fn gap_cv(arrivals: Arrivals) -> f64 {
        let mut rng = SmallRng::seed_from_u64(11);
        let interval = Duration::from_micros(3_200);
        let mut at = Instant::now();
        let gaps: Vec<f64> = (0..50_000)
            .map(|_| {
                let next = next_send(at, interval, arrivals, &mut rng);
                let gap = (next - at).as_secs_f64();
                at = next;
                gap
            })
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(
            (mean / interval.as_secs_f64() - 1.0).abs() < 0.02,
            "mean gap {mean}"
        );
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        var.sqrt() / mean
    }

    #[test]
    fn even_gaps_are_the_interval_and_poisson_gaps_vary_as_a_poisson_process() {
        assert!(gap_cv(Arrivals::Even) < 1e-6);
        let cv = gap_cv(Arrivals::Poisson);
        assert!(
            (0.97..1.03).contains(&cv),
            "Poisson gaps' coefficient of variation {cv}"
        );
    }
}
