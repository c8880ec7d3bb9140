//! A validated description of one tracker load run; built from flags (see `args.rs`) or
//! directly by tests.

use std::time::Duration;

use super::target::{Target, TargetError};

/// Longest a run may last when only `--requests` bounds it.
pub const MAX_RUN: Duration = Duration::from_secs(3600);
/// Run length when neither `--duration` nor `--requests` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Most connections; each needs a socket and a source address.
pub const MAX_CONNECTIONS: usize = 65_536;
/// Most peers; ids and indices are 32-bit and each peer costs the generator ~60 bytes.
pub const MAX_PEERS: usize = 50_000_000;

/// How requests use TCP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Each connection carries request after request (HTTP/1.1 keep-alive).
    KeepAlive,
    /// A new TCP connection per request with `Connection: close`, as NAT'd and one-shot
    /// clients do.
    NewConnection,
}

/// When an open-loop run's requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// Evenly spaced: the connections take turns at 1/rate apart.
    Even,
    /// A Poisson process at the rate (exponential gaps on each connection), as many
    /// independent clients produce: bursts happen, as on the internet.
    Poisson,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub torrents: usize,
    pub peers: usize,
    pub zipf_exponent: f64,
    pub seeder_fraction: f64,
    /// Share of requests that are scrapes.
    pub scrape_ratio: f64,
    /// Info hashes per scrape request.
    pub scrape_hashes: usize,
    pub numwant: u32,
    pub mode: Mode,
    pub connections: usize,
    pub threads: usize,
    /// The measured phase stops sending at this age.
    pub duration: Duration,
    /// ... or after this many requests.
    pub requests: Option<u64>,
    /// Open-loop target rate in requests per second; closed loop when `None`.
    pub rate: Option<f64>,
    /// How the open-loop rate spaces requests.
    pub arrivals: Arrivals,
    pub preload: bool,
    pub preload_timeout: Duration,
    /// Per request: connect, send and the whole reply.
    pub timeout: Duration,
    /// The tracker's process, for CPU time and memory.
    pub target_pid: Option<u32>,
    pub seed: u64,
}

/// A run that cannot work, found before any connection is made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// A small closed-loop keep-alive run against `target`, for tests and as the base of
    /// the flag defaults.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            torrents: 1_000,
            peers: 10_000,
            zipf_exponent: 1.0,
            seeder_fraction: 0.3,
            scrape_ratio: 0.0,
            scrape_hashes: 1,
            numwant: 50,
            mode: Mode::KeepAlive,
            connections: 16,
            threads: 1,
            duration: DEFAULT_DURATION,
            requests: None,
            rate: None,
            arrivals: Arrivals::Even,
            preload: false,
            preload_timeout: Duration::from_secs(600),
            timeout: Duration::from_secs(5),
            target_pid: None,
            seed: 1,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::Invalid(m));
        if self.torrents == 0 {
            return err("--torrents must be at least 1".into());
        }
        if self.peers < self.torrents || self.peers > MAX_PEERS {
            return err(format!(
                "--peers ({}) must be between --torrents ({}) and {MAX_PEERS}: every torrent starts with one peer",
                self.peers, self.torrents
            ));
        }
        for (name, v) in [
            ("--seeder-fraction", self.seeder_fraction),
            ("--scrape-ratio", self.scrape_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        if !self.zipf_exponent.is_finite() || self.zipf_exponent < 0.0 {
            return err(format!(
                "--zipf-exponent must be a number >= 0, got {}",
                self.zipf_exponent
            ));
        }
        if !(1..=1000).contains(&self.scrape_hashes) {
            return err("--scrape-hashes must be between 1 and 1000".into());
        }
        if self.numwant == 0 {
            return err("--numwant must be at least 1".into());
        }
        if self.target.udp {
            if self.scrape_hashes > seedline_common::udp::MAX_SCRAPE_HASHES {
                return err(format!(
                    "--scrape-hashes must be at most {} over UDP (BEP 15: one datagram)",
                    seedline_common::udp::MAX_SCRAPE_HASHES
                ));
            }
            if self.mode == Mode::NewConnection {
                return err("--new-connection has no meaning over UDP".into());
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return err(format!(
                "--connections must be between 1 and {MAX_CONNECTIONS}"
            ));
        }
        if self.threads == 0 || self.threads > self.connections {
            return err(format!(
                "--threads ({}) must be between 1 and --connections ({})",
                self.threads, self.connections
            ));
        }
        if self.duration.is_zero() || self.duration > MAX_RUN {
            return err(format!(
                "--duration must be between 1 and {} seconds",
                MAX_RUN.as_secs()
            ));
        }
        if self.requests == Some(0) {
            return err("--requests must be at least 1".into());
        }
        if let Some(r) = self.rate {
            if !r.is_finite() || r <= 0.0 {
                return err(format!("--rate must be a positive number, got {r}"));
            }
        }
        if self.timeout.is_zero() || self.preload_timeout.is_zero() {
            return err("--timeout and --preload-timeout must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        let t = Target::parse("http://127.0.0.1:1", false).unwrap();
        let c = Config::new(t);
        assert_eq!(c.validate(), Ok(()));
        let bad = [
            Config {
                peers: 10,
                ..c.clone()
            },
            Config {
                scrape_ratio: 1.5,
                ..c.clone()
            },
            Config {
                threads: 17,
                ..c.clone()
            },
            Config {
                rate: Some(0.0),
                ..c.clone()
            },
            Config {
                zipf_exponent: -1.0,
                ..c.clone()
            },
        ];
        for b in bad {
            assert!(b.validate().is_err(), "{b:?}");
        }
    }
}
