//! Flags of `loadtest tracker`; every one can also be set as `LOADTEST_TRACKER_*`.

use std::time::Duration;

use clap::Args;

use super::config::{Arrivals, Config, ConfigError, Mode, DEFAULT_DURATION, MAX_RUN};
use super::target::Target;

/// Load an HTTP BitTorrent tracker with a simulated population's announces and scrapes.
#[derive(Debug, Clone, Args)]
pub struct TrackerArgs {
    /// Tracker URL; loopback only unless --allow-remote.
    #[arg(
        long,
        env = "LOADTEST_TRACKER_TARGET",
        default_value = "http://127.0.0.1:6969/announce"
    )]
    pub target: String,
    /// Allow a non-loopback target. Only ever point this at a host you run.
    #[arg(long, env = "LOADTEST_TRACKER_ALLOW_REMOTE")]
    pub allow_remote: bool,
    /// Torrents in the simulated population.
    #[arg(long, env = "LOADTEST_TRACKER_TORRENTS", default_value_t = 1_000)]
    pub torrents: usize,
    /// Peers (distinct peer ids and addresses); at least --torrents.
    #[arg(long, env = "LOADTEST_TRACKER_PEERS", default_value_t = 10_000)]
    pub peers: usize,
    /// Exponent s of the Zipf popularity of torrents (rank k gets weight 1/k^s).
    #[arg(long, env = "LOADTEST_TRACKER_ZIPF_EXPONENT", default_value_t = 1.0)]
    pub zipf_exponent: f64,
    /// Share of peers that start as seeders.
    #[arg(long, env = "LOADTEST_TRACKER_SEEDER_FRACTION", default_value_t = 0.3)]
    pub seeder_fraction: f64,
    /// Share of requests that are scrapes (the rest are announces).
    #[arg(long, env = "LOADTEST_TRACKER_SCRAPE_RATIO", default_value_t = 0.0)]
    pub scrape_ratio: f64,
    /// Info hashes per scrape.
    #[arg(long, env = "LOADTEST_TRACKER_SCRAPE_HASHES", default_value_t = 1)]
    pub scrape_hashes: usize,
    /// `numwant` sent with every announce.
    #[arg(long, env = "LOADTEST_TRACKER_NUMWANT", default_value_t = 50)]
    pub numwant: u32,
    /// Concurrent connections (each has its own source address on IPv4 loopback).
    #[arg(long, env = "LOADTEST_TRACKER_CONNECTIONS", default_value_t = 16)]
    pub connections: usize,
    /// A new TCP connection per request (`Connection: close`) instead of keep-alive.
    #[arg(long, env = "LOADTEST_TRACKER_NEW_CONNECTION")]
    pub new_connection: bool,
    /// Generator threads, one single-threaded runtime each.
    #[arg(long, env = "LOADTEST_TRACKER_THREADS", default_value_t = 1)]
    pub threads: usize,
    /// Seconds of measured load [default: 10, or up to 3600 with --requests].
    #[arg(long, env = "LOADTEST_TRACKER_DURATION")]
    pub duration: Option<f64>,
    /// Stop the measured phase after this many requests.
    #[arg(long, env = "LOADTEST_TRACKER_REQUESTS")]
    pub requests: Option<u64>,
    /// Open loop: send this many requests per second in total, whatever the replies do;
    /// latency counts from each request's scheduled time.
    #[arg(long, env = "LOADTEST_TRACKER_RATE")]
    pub rate: Option<f64>,
    /// With --rate: requests evenly spaced, or as a Poisson process [default: even].
    #[arg(long, env = "LOADTEST_TRACKER_ARRIVALS", value_enum)]
    pub arrivals: Option<Arrivals>,
    /// First announce every peer once (started), then measure.
    #[arg(long, env = "LOADTEST_TRACKER_PRELOAD")]
    pub preload: bool,
    /// Upper bound on the preload, in seconds.
    #[arg(
        long,
        env = "LOADTEST_TRACKER_PRELOAD_TIMEOUT",
        default_value_t = 600.0
    )]
    pub preload_timeout: f64,
    /// Per-request timeout in seconds (connect, send, whole reply).
    #[arg(long, env = "LOADTEST_TRACKER_TIMEOUT", default_value_t = 5.0)]
    pub timeout: f64,
    /// The tracker's process id: report its CPU time per request and its memory.
    #[arg(long, env = "LOADTEST_TRACKER_TARGET_PID")]
    pub target_pid: Option<u32>,
    /// Seed of the population and of every random choice.
    #[arg(long, env = "LOADTEST_TRACKER_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long, env = "LOADTEST_TRACKER_JSON")]
    pub json: bool,
    /// Exit 1 when more than this share of requests failed (0 to 1; 0: any error).
    #[arg(long, env = "LOADTEST_TRACKER_MAX_ERROR_RATE", default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// Print the population's info hashes (hex, one per line; an access list) and exit.
    #[arg(long, env = "LOADTEST_TRACKER_PRINT_INFO_HASHES")]
    pub print_info_hashes: bool,
}

impl TrackerArgs {
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        let target = Target::parse(&self.target, self.allow_remote)?;
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v).map_err(|_| {
                ConfigError::Invalid(format!("{name} must be a number of seconds >= 0, got {v}"))
            })
        };
        let duration = match (self.duration, self.requests) {
            (Some(d), _) => secs("--duration", d)?,
            (None, Some(_)) => MAX_RUN,
            (None, None) => DEFAULT_DURATION,
        };
        let c = Config {
            torrents: self.torrents,
            peers: self.peers,
            zipf_exponent: self.zipf_exponent,
            seeder_fraction: self.seeder_fraction,
            scrape_ratio: self.scrape_ratio,
            scrape_hashes: self.scrape_hashes,
            numwant: self.numwant,
            mode: if self.new_connection {
                Mode::NewConnection
            } else {
                Mode::KeepAlive
            },
            connections: self.connections,
            threads: self.threads,
            duration,
            requests: self.requests,
            rate: self.rate,
            arrivals: self.arrivals.unwrap_or(Arrivals::Even),
            preload: self.preload,
            preload_timeout: secs("--preload-timeout", self.preload_timeout)?,
            timeout: secs("--timeout", self.timeout)?,
            target_pid: self.target_pid,
            seed: self.seed,
            ..Config::new(target)
        };
        if self.arrivals.is_some() && self.rate.is_none() {
            return Err(ConfigError::Invalid(
                "--arrivals needs --rate: a closed loop sends each request when the last reply arrives".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            return Err(ConfigError::Invalid(format!(
                "--max-error-rate must be between 0 and 1, got {}",
                self.max_error_rate
            )));
        }
        c.validate()?;
        Ok(c)
    }
}
