//! `loadtest seeder`: many synthetic leechers, each its own connection, download one
//! torrent from a seeder (ours, libtorrent, Transmission: anything that speaks BEP 3) with
//! pipelined requests, every piece checked against the torrent's hash. Reports total and
//! per-peer throughput (with Jain's fairness index), handshake latency, errors by kind,
//! and, given the seeder's pid, its CPU seconds per GiB uploaded.

mod leecher;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use seedline_common::{InfoHash, Metainfo};
use tokio_util::sync::CancellationToken;

pub use report::Report;

use crate::tracker::procfs;

#[derive(Debug, Args)]
pub struct SeederArgs {
    /// The seeder's peer address, e.g. 127.0.0.1:6881.
    #[arg(long, env = "LOADTEST_SEEDER_TARGET")]
    pub target: SocketAddr,
    /// Allow a target outside 127.0.0.0/8 and ::1 (load only machines you run).
    #[arg(long, env = "LOADTEST_SEEDER_ALLOW_REMOTE")]
    pub allow_remote: bool,
    /// The .torrent the seeder serves.
    #[arg(long, env = "LOADTEST_SEEDER_TORRENT")]
    pub torrent: PathBuf,
    /// Leechers, each its own connection, all downloading the whole torrent.
    #[arg(long, env = "LOADTEST_SEEDER_PEERS", default_value_t = 8)]
    pub peers: usize,
    /// Most block requests each leecher keeps outstanding; the seed's advertised `reqq`
    /// (250 when it names none) lowers it, as in real clients.
    #[arg(long, env = "LOADTEST_SEEDER_PIPELINE", default_value_t = 2000)]
    pub pipeline: usize,
    /// Seconds without progress after which a leecher gives up.
    #[arg(long, env = "LOADTEST_SEEDER_STALL_TIMEOUT", default_value_t = 30)]
    pub stall_timeout: u64,
    /// Seconds the whole run may take.
    #[arg(long, env = "LOADTEST_SEEDER_TIMEOUT", default_value_t = 600)]
    pub timeout: u64,
    /// The seeder's pid, for its CPU time and memory (when it runs on this machine).
    #[arg(long, env = "LOADTEST_SEEDER_TARGET_PID")]
    pub target_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long, env = "LOADTEST_SEEDER_JSON")]
    pub json: bool,
    /// How leechers connect: `none`, a plain handshake; `rc4`, an encrypted (MSE/PE)
    /// handshake and an RC4 stream; `plain`, an encrypted handshake that asks for a
    /// plain-text stream.
    #[arg(
        long,
        env = "LOADTEST_SEEDER_ENCRYPTION",
        value_enum,
        default_value = "none"
    )]
    pub encryption: Encryption,
    /// What carries each leecher's connection: `tcp`, or `utp` (BEP 29, over UDP to the
    /// same address and port).
    #[arg(
        long,
        env = "LOADTEST_SEEDER_TRANSPORT",
        value_enum,
        default_value = "tcp"
    )]
    pub transport: Transport,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    Tcp,
    Utp,
}

/// `--encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encryption {
    None,
    Rc4,
    Plain,
}

/// What the leechers need to know about the torrent.
pub struct Torrent {
    pub info_hash: InfoHash,
    pub piece_length: u64,
    pub total: u64,
    pub hashes: Vec<[u8; 20]>,
}

impl Torrent {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let p = Metainfo::from_bytes(&bytes)
            .with_context(|| format!("{} is not a valid torrent", path.display()))?;
        let info = &p.metainfo.info;
        Ok(Self {
            info_hash: p.info_hash,
            piece_length: info.piece_length,
            total: info.total_length(),
            hashes: info.pieces.clone(),
        })
    }

    pub fn piece_count(&self) -> usize {
        self.hashes.len()
    }

    pub fn piece_len(&self, p: usize) -> u64 {
        let start = p as u64 * self.piece_length;
        (self.total - start).min(self.piece_length)
    }
}

/// Runs the leechers to completion (or `stop`) and reports.
pub async fn run(args: &SeederArgs, stop: &CancellationToken) -> anyhow::Result<Report> {
    let ip = args.target.ip();
    if !args.allow_remote && !ip.is_loopback() {
        bail!(
            "target {} is not a loopback address; pass --allow-remote to load it",
            args.target
        );
    }
    if args.peers == 0 || args.pipeline == 0 {
        bail!("--peers and --pipeline must be at least 1");
    }
    let t = std::sync::Arc::new(Torrent::load(&args.torrent)?);
    let cpu_before = args.target_pid.map(procfs::cpu_time).transpose()?;
    let host_before = procfs::HostTicks::read().ok();
    let started = Instant::now();
    let deadline = stop.child_token();
    let timer = {
        let d = deadline.clone();
        let limit = Duration::from_secs(args.timeout);
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            d.cancel();
        })
    };
    let mut tasks = Vec::new();
    for i in 0..args.peers {
        let (t, d) = (t.clone(), deadline.clone());
        let link = leecher::Link {
            target: args.target,
            index: i,
            encryption: args.encryption,
            transport: args.transport,
            stall: Duration::from_secs(args.stall_timeout),
        };
        let pipeline = args.pipeline;
        tasks.push(tokio::spawn(async move {
            leecher::run(link, &t, pipeline, &d).await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.context("a leecher task failed")?);
    }
    timer.abort();
    let elapsed = started.elapsed();
    let cpu = match (args.target_pid, cpu_before) {
        (Some(pid), Some(before)) => Some(procfs::cpu_time(pid)?.saturating_sub(before)),
        _ => None,
    };
    let host =
        host_before.and_then(|b| procfs::HostTicks::read().ok().map(|e| b.percent_until(&e)));
    let rss = args.target_pid.and_then(|pid| procfs::rss_kib(pid).ok());
    Ok(Report::new(args, &t, &outcomes, elapsed, cpu, rss, host))
}
