//! Tracker configuration: one validated value built from defaults, an optional TOML
//! file, and flags or `TRACKER_*` variables (see `cli.rs`), in that order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use seedline_process::config::read_secret;
pub use seedline_process::config::ConfigError;
use seedline_process::settings::Settings;
pub use seedline_process::LogFormat;

use crate::access::Mode;

/// Shortest admin token accepted: a guessable token on an API that rewrites the access
/// list is worse than none.
pub const MIN_TOKEN_LEN: usize = 16;

/// Most HTTP worker threads: each holds a socket per public address and a runtime.
pub const MAX_HTTP_WORKERS: usize = 1024;

/// Longest TCP_DEFER_ACCEPT: a larger figure is more likely milliseconds typed as
/// seconds than a wish to hold silent clients for minutes.
pub const MAX_DEFER_ACCEPT: u32 = 60;

/// Everything the tracker can be told. Field docs are the operator's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Public announce/scrape listeners. Add `[::]:6969` for IPv6.
    #[arg(
        long,
        env = "TRACKER_LISTEN",
        value_delimiter = ',',
        default_value = "0.0.0.0:6969"
    )]
    pub listen: Vec<SocketAddr>,
    /// Threads serving the public HTTP listeners, each with its own socket per address
    /// (SO_REUSEPORT) and its own single-threaded runtime, which serves its connections
    /// in turn: a saturated tracker stays fair to every connection. 0: one per CPU.
    #[arg(long, env = "TRACKER_HTTP_WORKERS", default_value_t = 0)]
    pub http_workers: usize,
    /// UDP tracker (BEP 15) addresses, e.g. `0.0.0.0:6969,[::]:6969`; none: no UDP.
    #[arg(long = "udp-listen", env = "TRACKER_UDP_LISTEN", value_delimiter = ',')]
    pub udp_listen: Vec<SocketAddr>,
    /// UDP sockets per address, sharing it with SO_REUSEPORT (one worker each); 0: one
    /// per CPU.
    #[arg(long, env = "TRACKER_UDP_SOCKETS", default_value_t = 0)]
    pub udp_sockets: usize,
    /// `/metrics` and `/health`; keep it off the public network.
    #[arg(long, env = "TRACKER_ADMIN_LISTEN", default_value = "127.0.0.1:6970")]
    pub admin_listen: SocketAddr,
    /// Networks of reverse proxies whose `X-Forwarded-For`/`X-Real-IP` are believed.
    #[arg(
        long = "trusted-proxy",
        env = "TRACKER_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Seconds between announces that the tracker asks for.
    #[arg(long, env = "TRACKER_INTERVAL", default_value_t = 1800)]
    pub interval: u32,
    /// Up to this many seconds are added at random to each `interval`, to spread load.
    #[arg(long, env = "TRACKER_INTERVAL_JITTER", default_value_t = 180)]
    pub interval_jitter: u32,
    /// `min interval` sent to clients.
    #[arg(long, env = "TRACKER_MIN_INTERVAL", default_value_t = 900)]
    pub min_interval: u32,
    /// Seconds without an announce after which a peer is dropped (default 2 x interval
    /// plus jitter when 0). With `sweep_interval`, at most 36 hours: a stored peer's
    /// timestamp is 2 bytes of 4-second ticks.
    #[arg(long, env = "TRACKER_PEER_TIMEOUT", default_value_t = 0)]
    pub peer_timeout: u32,
    /// Seconds between sweeps for expired peers.
    #[arg(long, env = "TRACKER_SWEEP_INTERVAL", default_value_t = 60)]
    pub sweep_interval: u32,
    /// Peers returned when the client does not say `numwant`.
    #[arg(long, env = "TRACKER_NUMWANT_DEFAULT", default_value_t = 50)]
    pub numwant_default: u32,
    /// Most peers returned, whatever `numwant` asks.
    #[arg(long, env = "TRACKER_NUMWANT_MAX", default_value_t = 200)]
    pub numwant_max: u32,
    /// Most torrents with an entry; registered and allow-listed torrents are always
    /// tracked, whatever a flood of other hashes does.
    #[arg(long, env = "TRACKER_MAX_TORRENTS", default_value_t = 1_000_000)]
    pub max_torrents: usize,
    /// Most peers stored per torrent; further new peers are answered but not stored.
    #[arg(long, env = "TRACKER_MAX_PEERS_PER_TORRENT", default_value_t = 200_000)]
    pub max_peers_per_torrent: usize,
    /// Most peers in all swarms together (about 30 bytes each): past it new peers are
    /// answered but not stored, except in registered torrents (a fifth more).
    #[arg(long, env = "TRACKER_MAX_PEERS", default_value_t = 10_000_000)]
    pub max_peers: usize,
    /// Most peers one IPv4 address or IPv6 /64 may have in one swarm: one host cannot
    /// fill a swarm with its ports and push real peers out of the replies.
    #[arg(long, env = "TRACKER_MAX_PEERS_PER_ADDRESS", default_value_t = 16)]
    pub max_peers_per_address: usize,
    /// Most peers one IPv4 address or IPv6 /64 may have in all swarms together: one
    /// host cannot spread its ports over many torrents and take `max_peers` for itself.
    /// Costs about 24 bytes per address with stored peers.
    #[arg(
        long,
        env = "TRACKER_MAX_PEERS_PER_ADDRESS_TOTAL",
        default_value_t = 4096
    )]
    pub max_peers_per_address_total: usize,
    /// Keep each peer's id so that non-compact replies can include `peer id`. Costs 20
    /// bytes a peer (about twice the memory); off because current clients ask for
    /// compact replies, and non-compact replies without ids are still valid.
    #[arg(long, env = "TRACKER_KEEP_PEER_IDS", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub keep_peer_ids: bool,
    /// Most `info_hash` keys read from one scrape.
    #[arg(long, env = "TRACKER_SCRAPE_MAX_HASHES", default_value_t = 100)]
    pub scrape_max_hashes: usize,
    /// Whether a scrape without `info_hash` lists torrents.
    #[arg(long, env = "TRACKER_FULL_SCRAPE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub full_scrape: bool,
    /// Most torrents in a full scrape.
    #[arg(long, env = "TRACKER_FULL_SCRAPE_MAX", default_value_t = 10_000)]
    pub full_scrape_max: usize,
    /// Seconds a full-scrape reply is reused before it is built again.
    #[arg(long, env = "TRACKER_FULL_SCRAPE_CACHE", default_value_t = 5)]
    pub full_scrape_cache: u32,
    /// `open` tracks every torrent, `allow` only listed/registered ones, `deny` all but
    /// listed/denied ones.
    #[arg(long, env = "TRACKER_MODE", default_value = "open")]
    pub mode: Mode,
    /// File of info hashes (40 hex digits a line, `#` comments) for `allow`/`deny` mode,
    /// reloaded on SIGHUP and when it changes.
    #[arg(long, env = "TRACKER_ACCESS_LIST")]
    pub access_list: Option<PathBuf>,
    /// Seconds between checks of the access-list file for changes (0: SIGHUP only).
    #[arg(long, env = "TRACKER_ACCESS_LIST_POLL", default_value_t = 5)]
    pub access_list_poll: u32,
    /// Bearer token for the admin API (`/api/...` on the admin listener); no token, no API.
    #[arg(long, env = "TRACKER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the admin token (e.g. a systemd credential); used if `admin_token`
    /// is not set.
    #[arg(long, env = "TRACKER_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Where `downloaded` counts and API registrations are saved (periodically and at
    /// shutdown) and loaded from at start.
    #[arg(long, env = "TRACKER_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// Seconds between state-file saves.
    #[arg(long, env = "TRACKER_STATE_SAVE_INTERVAL", default_value_t = 300)]
    pub state_save_interval: u32,
    /// Also save live swarms, so a restart does not empty them until the next announces.
    #[arg(long, env = "TRACKER_PERSIST_PEERS", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub persist_peers: bool,
    /// Where swarms live: unset, this process's memory; `redis://[:PASSWORD@]HOST:PORT/DB`
    /// (or `rediss://` for TLS), a Redis or Valkey shared by several tracker instances;
    /// `redis+cluster://[:PASSWORD@]HOST:PORT,HOST:PORT...` (or `rediss+cluster://`), the
    /// nodes of a Redis Cluster to find it through. Treated as a secret (it may hold a
    /// password).
    #[arg(long, env = "TRACKER_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// Milliseconds a shared-store request (and a connection attempt) may take; past it
    /// the client gets `tracker store unavailable`.
    #[arg(long, env = "TRACKER_STORE_TIMEOUT_MS", default_value_t = 500)]
    pub store_timeout_ms: u32,
    /// UDP requests waiting for the shared store at once, at most; datagrams past it
    /// are dropped and counted (`udp_dropped_total{reason="store_busy"}`).
    #[arg(long, env = "TRACKER_STORE_MAX_IN_FLIGHT", default_value_t = 4096)]
    pub store_max_in_flight: usize,
    /// A PEM file of the CA that signs the shared store's TLS certificates (`rediss://`);
    /// unset: the web PKI's roots.
    #[arg(long, env = "TRACKER_STORE_CA_FILE")]
    pub store_ca_file: Option<PathBuf>,
    /// Origin seeders by announced address: every leecher gets them in its reply.
    #[arg(
        long = "origin-peer",
        env = "TRACKER_ORIGIN_PEER",
        value_delimiter = ','
    )]
    pub origin_peers: Vec<SocketAddr>,
    /// Origin seeders by peer id prefix (e.g. `-SL0100-`).
    #[arg(
        long = "origin-peer-id-prefix",
        env = "TRACKER_ORIGIN_PEER_ID_PREFIX",
        value_delimiter = ','
    )]
    pub origin_peer_id_prefixes: Vec<String>,
    /// Announces and scrapes allowed per client IP (IPv6: per /64) per minute; 0 is off.
    #[arg(long, env = "TRACKER_RATE_LIMIT_PER_MINUTE", default_value_t = 0)]
    pub rate_limit_per_minute: u32,
    /// Requests a client may make at once before the rate applies.
    #[arg(long, env = "TRACKER_RATE_LIMIT_BURST", default_value_t = 30)]
    pub rate_limit_burst: u32,
    /// Most client addresses tracked by the rate limiter; at the cap, refilled and then
    /// least recently seen clients are dropped to make room (memory stays bounded).
    #[arg(long, env = "TRACKER_RATE_LIMIT_CLIENTS", default_value_t = 1_000_000)]
    pub rate_limit_clients: usize,
    /// Believe the `ip` query parameter (only sensible on a private network).
    #[arg(long, env = "TRACKER_ALLOW_IP_PARAM", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_ip_param: bool,
    /// Believe the `ip` query parameter from connections from these networks only (an
    /// origin seeder on the tracker's host announcing its public address).
    #[arg(long, env = "TRACKER_IP_PARAM_FROM", value_delimiter = ',')]
    pub ip_param_from: Vec<IpNet>,
    /// Largest request head in bytes (at least 8192).
    #[arg(long, env = "TRACKER_MAX_REQUEST_HEAD", default_value_t = 8192)]
    pub max_request_head: usize,
    /// Seconds a client has to send a whole request head.
    #[arg(long, env = "TRACKER_HEADER_READ_TIMEOUT", default_value_t = 5)]
    pub header_read_timeout: u32,
    /// Seconds the kernel holds a new connection until its first request arrives
    /// (TCP_DEFER_ACCEPT): the tracker takes it with the request in hand, at less CPU per
    /// connection, and a client that connects and says nothing holds no task until then.
    /// At most 60, rounded up to the kernel's SYN-ACK retransmits (1, 3, 7 ... s); 0:
    /// accept on the handshake.
    #[arg(long, env = "TRACKER_DEFER_ACCEPT", default_value_t = 1)]
    pub defer_accept: u32,
    /// Seconds a keep-alive connection may sit idle.
    #[arg(long, env = "TRACKER_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u32,
    /// Seconds a reply may wait for the client to read before the connection is closed
    /// (a client that pipelines requests and never reads would hold it forever).
    #[arg(long, env = "TRACKER_WRITE_TIMEOUT", default_value_t = 10)]
    pub write_timeout: u32,
    /// Most open client connections; further clients wait in the kernel backlog.
    #[arg(long, env = "TRACKER_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Most open connections from one address (IPv6: one /64); trusted proxies are not
    /// counted. Keeps one host from holding every connection slot.
    #[arg(
        long,
        env = "TRACKER_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,
    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(long, env = "TRACKER_GRACE_PERIOD", default_value_t = 10)]
    pub grace_period: u32,
    /// `text` or `json`.
    #[arg(long, env = "TRACKER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `seedline_tracker=debug`.
    #[arg(long, env = "TRACKER_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

seedline_process::declared_defaults!(Config);

impl Settings for Config {
    fn secrets(&mut self) -> Vec<&mut Option<String>> {
        vec![&mut self.admin_token, &mut self.store]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.listen.is_empty() {
            return err("at least one listen address is needed".into());
        }
        if self.admin_listen.port() != 0 && self.listen.contains(&self.admin_listen) {
            return err(format!(
                "admin_listen {} is also a public listen address",
                self.admin_listen
            ));
        }
        if self.interval == 0 {
            return err("interval must be at least 1 second".into());
        }
        if self.min_interval > self.interval {
            return err(format!(
                "min_interval ({}) exceeds interval ({})",
                self.min_interval, self.interval
            ));
        }
        if self.peer_timeout != 0
            && self.peer_timeout <= self.interval.saturating_add(self.interval_jitter)
        {
            return err(format!(
                "peer_timeout ({}) must exceed interval + interval_jitter ({}), or peers expire between announces",
                self.peer_timeout,
                self.interval.saturating_add(self.interval_jitter)
            ));
        }
        if self.sweep_interval == 0 {
            return err("sweep_interval must be at least 1 second".into());
        }
        if self.http_workers > MAX_HTTP_WORKERS {
            return err(format!(
                "http_workers ({}) must be at most {MAX_HTTP_WORKERS} (0: one per CPU)",
                self.http_workers
            ));
        }
        // A stored peer's timestamp is 2 bytes that wrap (`swarm::SEEN_TICK`); a shared
        // store keeps its own.
        let oldest = u64::from(self.peer_timeout_secs()) + u64::from(self.sweep_interval);
        if self.store.is_none() && oldest > u64::from(crate::swarm::MAX_PEER_AGE) {
            return err(format!(
                "peer_timeout ({} s in effect) plus sweep_interval ({}) must be at most {} s (36 hours): peers are swept well within a day in practice",
                self.peer_timeout_secs(),
                self.sweep_interval,
                crate::swarm::MAX_PEER_AGE
            ));
        }
        if self.numwant_max == 0 || self.numwant_default > self.numwant_max {
            return err(format!(
                "numwant_default ({}) must be at most numwant_max ({}), which must be at least 1",
                self.numwant_default, self.numwant_max
            ));
        }
        for (name, v) in [
            ("max_torrents", self.max_torrents),
            ("max_peers_per_torrent", self.max_peers_per_torrent),
            ("max_peers", self.max_peers),
            ("max_peers_per_address", self.max_peers_per_address),
            (
                "max_peers_per_address_total",
                self.max_peers_per_address_total,
            ),
            ("scrape_max_hashes", self.scrape_max_hashes),
            ("max_connections", self.max_connections),
            (
                "max_connections_per_address",
                self.max_connections_per_address,
            ),
        ] {
            if v == 0 {
                return err(format!("{name} must be at least 1"));
            }
        }
        if self.max_request_head < 8192 {
            return err(format!(
                "max_request_head ({}) must be at least 8192",
                self.max_request_head
            ));
        }
        if self.header_read_timeout == 0 || self.idle_timeout == 0 || self.write_timeout == 0 {
            return err(
                "header_read_timeout, idle_timeout and write_timeout must be at least 1 second"
                    .into(),
            );
        }
        if self.defer_accept > MAX_DEFER_ACCEPT {
            return err(format!(
                "defer_accept ({}) is in seconds and at most {MAX_DEFER_ACCEPT}",
                self.defer_accept
            ));
        }
        self.validate_operator_features()?;
        if !seedline_process::logging::valid_level(&self.log_level) {
            return err(format!(
                "log_level {:?} is not a valid filter",
                self.log_level
            ));
        }
        Ok(())
    }
}

impl Config {
    fn validate_operator_features(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        let token = self.admin_token()?;
        if self.mode == Mode::Allow && self.access_list.is_none() && token.is_none() {
            return err(
                "mode allow needs access_list or an admin token, or no torrent can ever be tracked"
                    .into(),
            );
        }
        if self.access_list.is_some() && self.mode == Mode::Open {
            return err("access_list is set but mode is open; use mode allow or deny".into());
        }
        self.validate_store()?;
        if self.persist_peers && self.state_file.is_none() {
            return err("persist_peers needs state_file".into());
        }
        if self.state_save_interval == 0 {
            return err("state_save_interval must be at least 1 second".into());
        }
        for p in &self.origin_peer_id_prefixes {
            if p.is_empty() || p.len() > 20 {
                return err(format!("origin peer id prefix {p:?} must be 1 to 20 bytes"));
            }
        }
        if self.rate_limit_per_minute > 0
            && (self.rate_limit_burst == 0 || self.rate_limit_clients == 0)
        {
            return err("rate_limit_burst and rate_limit_clients must be at least 1".into());
        }
        // A connection from a proxy carries every internet client's requests: if `ip=`
        // were believed from it, any client could announce any address.
        for p in &self.trusted_proxies {
            if let Some(n) = self.ip_param_from.iter().find(|n| overlaps(p, n)) {
                return err(format!(
                    "ip_param_from {n} overlaps trusted proxy network {p}: `ip` would be \
                     believed from every client behind the proxy; an origin behind the proxy \
                     announces through it, and the proxy reports its address"
                ));
            }
        }
        Ok(())
    }

    /// The shared store this configuration names, if any: its URL parsed and its CA
    /// read.
    pub fn store_target(&self) -> Result<Option<crate::redis_store::Target>, ConfigError> {
        let Some(url) = &self.store else {
            return Ok(None);
        };
        let ca = match &self.store_ca_file {
            Some(p) => {
                let pem = std::fs::read(p)
                    .map_err(|e| ConfigError(format!("store_ca_file {}: {e}", p.display())))?;
                // Else every TLS connection would fail later, for want of a root.
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(ConfigError(format!(
                        "store_ca_file {}: no PEM certificate in it",
                        p.display()
                    )));
                }
                Some(pem)
            }
            None => None,
        };
        crate::redis_store::Target::parse(url, ca.as_deref())
            .map(Some)
            .map_err(|e| {
                // Not the URL itself: it may hold a password.
                ConfigError(format!(
                    "store URL is not valid: {}{}",
                    e.category(),
                    e.detail().map(|d| format!(" ({d})")).unwrap_or_default()
                ))
            })
    }

    /// A shared store keeps what the state file, peer ids and a full scrape would need
    /// from this process alone; its URL must parse.
    fn validate_store(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.store else {
            if self.store_ca_file.is_some() {
                return Err(ConfigError(
                    "store_ca_file is for a shared store: set store (rediss://...) too".into(),
                ));
            }
            return Ok(());
        };
        let err = |m: &str| Err(ConfigError(m.into()));
        let schemes = [
            "redis://",
            "rediss://",
            "redis+cluster://",
            "rediss+cluster://",
        ];
        if !schemes.iter().any(|s| url.starts_with(s)) {
            return err(
                "store must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL (unset: in memory)",
            );
        }
        self.store_target()?;
        if self.state_file.is_some() {
            return err("state_file is not used with a shared store: Redis keeps the counts");
        }
        if self.keep_peer_ids {
            return err("keep_peer_ids needs the in-memory store");
        }
        if self.full_scrape {
            return err(
                "full_scrape needs the in-memory store (a shared store keeps no list of torrents)",
            );
        }
        if self.store_timeout_ms == 0 || self.store_max_in_flight == 0 {
            return err("store_timeout_ms and store_max_in_flight must be at least 1");
        }
        Ok(())
    }

    /// The admin API token, from `admin_token` or `admin_token_file` (trimmed).
    pub fn admin_token(&self) -> Result<Option<String>, ConfigError> {
        let token = read_secret(&self.admin_token, &self.admin_token_file, "admin_token")?;
        match token {
            Some(t) if t.len() < MIN_TOKEN_LEN => Err(ConfigError(format!(
                "the admin token must be at least {MIN_TOKEN_LEN} characters"
            ))),
            t => Ok(t),
        }
    }

    /// The effective peer timeout in seconds.
    pub fn peer_timeout_secs(&self) -> u32 {
        if self.peer_timeout == 0 {
            // Saturating: an absurd interval must not wrap to a timeout near zero.
            self.interval
                .saturating_mul(2)
                .saturating_add(self.interval_jitter)
        } else {
            self.peer_timeout
        }
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(u64::from(self.grace_period))
    }
}

/// Whether two networks share an address (one contains the other's first address).
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips_through_toml() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
        assert_eq!(c.peer_timeout_secs(), 3780);
        let secret = Config {
            admin_token: Some("a-real-secret-token-123".into()),
            ..Config::default()
        };
        let shown = secret.to_toml();
        assert!(!shown.contains("a-real-secret"), "{shown}");
        assert!(shown.contains("admin_token = \"REDACTED\""), "{shown}");
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = [
            "listen = []",
            "interval = 0",
            "min_interval = 5000",
            "peer_timeout = 10",
            "peer_timeout = 131000\nsweep_interval = 200",
            "interval = 70000",
            "interval = 3000000000",
            "http_workers = 5000",
            "defer_accept = 1000",
            "numwant_default = 500",
            "max_request_head = 100",
            "max_torrents = 0",
            "log_level = \"[[\"",
            "admin_listen = \"0.0.0.0:6969\"",
            "mode = \"allow\"",
            "access_list = \"/x\"",
            "admin_token = \"short\"",
            "persist_peers = true",
            "origin_peer_id_prefixes = [\"\"]",
            "rate_limit_per_minute = 5\nrate_limit_burst = 0",
            "trusted_proxies = [\"127.0.0.1/32\"]\nip_param_from = [\"127.0.0.0/8\"]",
            "trusted_proxies = [\"10.0.0.0/8\"]\nip_param_from = [\"10.2.3.4/32\"]",
            "trusted_proxies = [\"::/0\"]\nip_param_from = [\"2001:db8::1/128\"]",
            "store = \"http://127.0.0.1:6379\"",
            "store = \"redis://127.0.0.1:x/0\"",
            "store = \"redis+cluster://\"",
            "store = \"redis://127.0.0.1:6379/0\"\nstate_file = \"/x\"",
            "store_ca_file = \"/etc/hosts\"",
            "store = \"rediss://127.0.0.1:6379/0\"\nstore_ca_file = \"/nonexistent\"",
            "store = \"rediss://127.0.0.1:6379/0\"\nstore_ca_file = \"/etc/hosts\"",
        ];
        for b in bad {
            let c = Config::from_toml(b).unwrap();
            assert!(c.validate().is_err(), "{b} should be rejected");
        }
        assert!(Config::from_toml("intervall = 5")
            .unwrap_err()
            .0
            .contains("unknown field"));
        assert!(Config::from_toml("trusted_proxies = [\"10.0.0.0/33\"]").is_err());
        Config::from_toml("peer_timeout = 130000\nsweep_interval = 1072")
            .unwrap()
            .validate()
            .unwrap();
        let apart = "trusted_proxies = [\"127.0.0.1/32\"]\nip_param_from = [\"127.0.0.2/32\"]";
        Config::from_toml(apart).unwrap().validate().unwrap();
    }
}
