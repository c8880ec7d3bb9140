//! `loadtest tracker`: a simulated population announcing to (and scraping) an HTTP or
//! UDP (BEP 15, `--target udp://...`) tracker, with every reply decoded and checked by
//! `seedline_common`. Over UDP a worker is one client (IP, port) with its connection id,
//! and a request without a reply within `--timeout` counts as lost (a timeout).
//!
//! A run builds the population, optionally preloads it (every peer announces `started`
//! once, so the tracker holds all of it), then measures a mix of announces and scrapes,
//! closed-loop or at a fixed open-loop rate. With the tracker's pid it also reports the
//! tracker's CPU time per request and its memory.

pub mod args;
pub mod config;
mod conn;
pub mod http;
pub mod kernel_udp;
mod pacer;
pub mod peer;
mod phase;
pub mod population;
pub mod procfs;
pub mod report;
pub mod stats;
pub mod target;
mod udp;
pub mod validate;
mod worker;
pub mod zipf;

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use args::TrackerArgs;
pub use config::{Arrivals, Config, ConfigError, Mode};
pub use report::Report;

use http::RequestWriter;
use kernel_udp::UdpDrops;
use phase::Phase;
use population::{Population, PopulationError, Shape, Sources};
use report::{ModelReport, PhaseReport, ProcessReport};
use worker::{Plan, Worker};

/// Time given to the generator threads to start before a phase's clock runs.
const STARTUP: Duration = Duration::from_millis(20);

/// Why a run could not be carried out (failed requests are not this: they are counted
/// in the report).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Population(#[from] PopulationError),
    #[error("cannot start the generator threads: {0}")]
    Threads(io::Error),
    #[error("cannot read the tracker process {pid} in /proc: {source}")]
    Process { pid: u32, source: io::Error },
}

/// Runs `cfg` until done or `cancel`; `progress` gets one line per step.
pub fn run(
    cfg: &Config,
    cancel: &CancellationToken,
    progress: &dyn Fn(&str),
) -> Result<Report, RunError> {
    let sources = sources_for(cfg);
    let pop = Population::build(&Shape {
        torrents: cfg.torrents,
        peers: cfg.peers,
        zipf_exponent: cfg.zipf_exponent,
        seeder_fraction: cfg.seeder_fraction,
        workers: cfg.connections,
        sources,
        seed: cfg.seed,
    })?;
    let n_workers = pop.workers.len();
    if n_workers > cfg.connections {
        progress(&format!(
            "using {n_workers} connections instead of {}: the largest swarm ({} peers) needs that many source addresses",
            cfg.connections, pop.largest_swarm
        ));
    }
    let mut workers: Vec<Worker> = pop
        .workers
        .into_iter()
        .enumerate()
        .map(|(id, peers)| Worker::new(id, peers, cfg.seed))
        .collect();
    let info_hashes: Arc<[_]> = pop.info_hashes.into();
    let zipf = Arc::new(pop.zipf);
    let proc_read = |pid: u32| -> Result<(Duration, u64), RunError> {
        let err = |source| RunError::Process { pid, source };
        Ok((
            procfs::cpu_time(pid).map_err(err)?,
            procfs::rss_kib(pid).map_err(err)?,
        ))
    };
    let rss_before = cfg.target_pid.map(proc_read).transpose()?.map(|s| s.1);

    let plan = |phase: Phase, mode: Mode, deadline: Duration| {
        let start = Instant::now() + STARTUP;
        let measured = phase == Phase::Measure;
        Arc::new(Plan {
            target: cfg.target.addr,
            udp: cfg.target.udp,
            writer: RequestWriter::new(&cfg.target, mode == Mode::NewConnection),
            one_shot: mode == Mode::NewConnection,
            sources,
            info_hashes: info_hashes.clone(),
            zipf: zipf.clone(),
            numwant: cfg.numwant,
            seeder_fraction: cfg.seeder_fraction,
            scrape_ratio: cfg.scrape_ratio,
            scrape_hashes: cfg.scrape_hashes,
            timeout: cfg.timeout,
            start,
            deadline: start + deadline,
            budget: cfg
                .requests
                .filter(|_| measured)
                .map(|n| Arc::new(AtomicI64::new(i64::try_from(n).unwrap_or(i64::MAX)))),
            interval: cfg
                .rate
                .filter(|_| measured)
                .map(|r| Duration::from_secs_f64(n_workers as f64 / r)),
            arrivals: cfg.arrivals,
            workers: n_workers,
            cancel: cancel.clone(),
        })
    };

    let mut preload = None;
    let mut rss_after_preload = None;
    if cfg.preload {
        progress(&format!(
            "preloading {} peers of {} torrents over {n_workers} keep-alive connections",
            cfg.peers, cfg.torrents
        ));
        // Setup, not measurement: keep-alive whatever the measured mode, to be quick.
        let p = plan(Phase::Preload, Mode::KeepAlive, cfg.preload_timeout);
        let out = phase::run(workers, cfg.threads, p, Phase::Preload).map_err(RunError::Threads)?;
        workers = out.workers;
        let r = PhaseReport::new(&out.stats, out.elapsed);
        progress(&format!(
            "preload done: {} announces in {:.1} s, {} errors",
            r.requests, r.elapsed_secs, r.errors_total
        ));
        preload = Some(r);
        rss_after_preload = cfg.target_pid.map(proc_read).transpose()?.map(|s| s.1);
    }

    if !cancel.is_cancelled() {
        progress("measuring");
    }
    let cpu_before = cfg.target_pid.map(proc_read).transpose()?.map(|s| s.0);
    // The generator's own CPU shows how far it is from being the bottleneck.
    let own_before = procfs::cpu_time(std::process::id()).ok();
    let host_before = procfs::HostTicks::read().ok();
    let udp_read = || {
        cfg.target
            .udp
            .then(|| UdpDrops::read(cfg.target.addr).ok())?
    };
    let udp_before = udp_read();
    let p = plan(Phase::Measure, cfg.mode, cfg.duration);
    let out = phase::run(workers, cfg.threads, p, Phase::Measure).map_err(RunError::Threads)?;
    let mut measured = PhaseReport::new(&out.stats, out.elapsed);
    // A paced run spins while it waits (see `pacer.rs`): its CPU says nothing then.
    let own_before = own_before.filter(|_| cfg.rate.is_none());
    if let (Some(a), Ok(b)) = (own_before, procfs::cpu_time(std::process::id())) {
        measured.generator_cpu_us_per_request =
            Some(b.saturating_sub(a).as_secs_f64() * 1e6 / measured.requests.max(1) as f64);
    }
    if let (Some(a), Ok(b)) = (host_before, procfs::HostTicks::read()) {
        let (busy, steal) = a.percent_until(&b);
        measured.host_busy_percent = Some(busy);
        measured.host_steal_percent = Some(steal);
    }
    if let (Some(a), Some(b)) = (udp_before, udp_read()) {
        measured.kernel_udp_drops = Some(b.since(&a));
    }
    // Requests that failed were still work for the tracker (most got a reply).
    let sent = (measured.requests + measured.errors_total).max(1);

    let tracker_process = match (cfg.target_pid, cpu_before, rss_before) {
        (Some(pid), Some(cpu0), Some(rss0)) => {
            let (cpu1, rss1) = proc_read(pid)?;
            let cpu = cpu1.saturating_sub(cpu0).as_secs_f64();
            Some(ProcessReport {
                pid,
                cpu_secs: cpu,
                cpu_us_per_request: cpu * 1e6 / sent as f64,
                rss_kib_before: rss0,
                rss_kib_after_preload: rss_after_preload,
                rss_kib_after: rss1,
                bytes_per_peer: rss_after_preload
                    .map(|r| (r as f64 - rss0 as f64) * 1024.0 / cfg.peers as f64),
            })
        }
        _ => None,
    };
    Ok(Report {
        target: if cfg.target.udp {
            format!("udp://{}", cfg.target.host)
        } else {
            format!("http://{}{}", cfg.target.host, cfg.target.announce_path)
        },
        mode: cfg.mode,
        connections: n_workers,
        threads: cfg.threads.min(n_workers),
        torrents: cfg.torrents,
        peers: cfg.peers,
        largest_swarm: pop.largest_swarm,
        zipf_exponent: cfg.zipf_exponent,
        scrape_ratio: cfg.scrape_ratio,
        numwant: cfg.numwant,
        target_rate: cfg.rate,
        arrivals: cfg.rate.map(|_| cfg.arrivals),
        preload,
        measured,
        tracker_process,
        model: ModelReport::of(cfg.torrents, out.workers.iter().flat_map(|w| &w.peers)),
    })
}

/// Loopback IPv4 spreads peers over 127.0.0.0/8; IPv6 loopback has only `::1`.
fn sources_for(cfg: &Config) -> Sources {
    match cfg.target.addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => Sources::Spread,
        IpAddr::V6(ip) if ip.is_loopback() => Sources::Single(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => Sources::Unbound,
    }
}
