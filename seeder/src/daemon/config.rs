//! Seeder configuration: one validated value built from defaults, an optional TOML file,
//! and flags or `SEEDER_*` variables (see `cli.rs`), in that order of precedence.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use seedline_process::config::ConfigError;
use seedline_process::settings::Settings;
pub use seedline_process::LogFormat;

/// A torrent served without a library: the content is `data/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneOff {
    pub torrent: PathBuf,
    pub data: PathBuf,
}

/// Everything the seeder can be told. Field docs are the operator's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Peer wire listener; its port is the one announced.
    #[arg(long, env = "SEEDER_LISTEN", default_value = "0.0.0.0:6881")]
    pub listen: SocketAddr,
    /// `/metrics` and `/health`; keep it off the public network.
    #[arg(long, env = "SEEDER_ADMIN_LISTEN", default_value = "127.0.0.1:6971")]
    pub admin_listen: SocketAddr,
    /// Public HTTP listener: every torrent being seeded is also served as a BEP 19
    /// webseed and plain download, `/<name>` (one file) and `/<name>/<path>` (several).
    /// Off unless given.
    #[arg(long, env = "SEEDER_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// The URL at which clients reach `http_listen` (through a proxy or CDN, perhaps),
    /// ending in `/`, e.g. `https://releases.example.org/`. `make-torrent --publish`
    /// reads the same `SEEDER_PUBLIC_HTTP_URL` and writes it into `url-list`.
    #[arg(long, env = "SEEDER_PUBLIC_HTTP_URL")]
    pub public_http_url: Option<String>,
    /// Most HTTP connections at once; more wait in the kernel's backlog.
    #[arg(long, env = "SEEDER_HTTP_MAX_CONNECTIONS", default_value_t = 1024)]
    pub http_max_connections: usize,
    /// Most HTTP connections from one address (IPv6: one /64); more are closed at once.
    #[arg(
        long,
        env = "SEEDER_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 16
    )]
    pub http_max_connections_per_address: usize,
    /// Seconds a client has to send a request head, from its first byte (slowloris).
    #[arg(long, env = "SEEDER_HTTP_HEADER_TIMEOUT", default_value_t = 10)]
    pub http_header_timeout: u32,
    /// Seconds an HTTP connection may carry nothing at all before it is closed. A reply
    /// the client does not read is cut off after `write_timeout`.
    #[arg(long, env = "SEEDER_HTTP_IDLE_TIMEOUT", default_value_t = 60)]
    pub http_idle_timeout: u32,
    /// Directory of `.torrent` files, watched for new and removed ones.
    #[arg(long, env = "SEEDER_LIBRARY")]
    pub library: Option<PathBuf>,
    /// Where a library torrent's content lives (`data_root/<name>`); default: beside the
    /// `.torrent` file.
    #[arg(long, env = "SEEDER_DATA_ROOT")]
    pub data_root: Option<PathBuf>,
    /// Seconds between looks at the content of every library torrent (missing files,
    /// changes on disk). The library directory itself is read every second, so a
    /// published `.torrent` starts at once.
    #[arg(long, env = "SEEDER_RESCAN_INTERVAL", default_value_t = 10)]
    pub rescan_interval: u32,
    /// Torrents served on their own (`--torrent FILE --data DIR`).
    #[arg(skip)]
    pub torrents: Vec<OneOff>,
    /// Announce URL (`http://` or `udp://`) used instead of every torrent's own. Empty:
    /// run the tracker in this process on `embedded_tracker_listen` and announce there.
    #[arg(long, env = "SEEDER_TRACKER")]
    pub tracker: Option<String>,
    /// The address announced for this seeder (the `ip` parameter), for an origin whose
    /// tracker would otherwise see a loopback or private address.
    #[arg(long, env = "SEEDER_ANNOUNCE_IP")]
    pub announce_ip: Option<IpAddr>,
    /// Base URL of a Seedline tracker's admin listener (`http://host:6970`): every torrent
    /// is registered there (`PUT /api/torrents/{hash}`) before it is announced, so an
    /// `allow`-mode tracker tracks what this origin publishes.
    #[arg(long, env = "SEEDER_TRACKER_API")]
    pub tracker_api: Option<String>,
    /// Bearer token for `tracker_api`.
    #[arg(long, env = "SEEDER_TRACKER_API_TOKEN", hide_env_values = true)]
    pub tracker_api_token: Option<String>,
    /// File holding the bearer token for `tracker_api`; used if the token is not set.
    #[arg(long, env = "SEEDER_TRACKER_API_TOKEN_FILE")]
    pub tracker_api_token_file: Option<PathBuf>,
    /// Public listener of the embedded tracker: HTTP, and UDP (BEP 15) on the same
    /// address and port.
    #[arg(
        long,
        env = "SEEDER_EMBEDDED_TRACKER_LISTEN",
        default_value = "0.0.0.0:6969"
    )]
    pub embedded_tracker_listen: SocketAddr,
    /// Admin listener of the embedded tracker (its own `/metrics`).
    #[arg(
        long,
        env = "SEEDER_EMBEDDED_TRACKER_ADMIN_LISTEN",
        default_value = "127.0.0.1:6970"
    )]
    pub embedded_tracker_admin_listen: SocketAddr,
    /// Let the embedded tracker track any torrent. Off: it tracks this seeder's own
    /// torrents only (`allow` mode, fed by the library as torrents come and go), so an
    /// origin's tracker cannot be used by strangers for their own swarms.
    #[arg(long, env = "SEEDER_EMBEDDED_TRACKER_OPEN", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub embedded_tracker_open: bool,
    /// Most peers connected at once, over all torrents.
    #[arg(long, env = "SEEDER_MAX_PEERS", default_value_t = 2000)]
    pub max_peers: usize,
    /// Most connections from one address (IPv6: one /64), handshaking or connected: one
    /// host cannot take every peer slot.
    #[arg(long, env = "SEEDER_MAX_PEERS_PER_ADDRESS", default_value_t = 8)]
    pub max_peers_per_address: usize,
    /// Most connections still in their handshake; more are closed at accept, so a flood
    /// of connections that never finish their handshake cannot use up file descriptors.
    #[arg(long, env = "SEEDER_MAX_HANDSHAKES", default_value_t = 256)]
    pub max_handshakes: usize,
    /// Most peers connected to one torrent.
    #[arg(long, env = "SEEDER_MAX_PEERS_PER_TORRENT", default_value_t = 500)]
    pub max_peers_per_torrent: usize,
    /// Peers unchoked at once; more interested peers take turns (round robin by bytes).
    #[arg(long, env = "SEEDER_UPLOAD_SLOTS", default_value_t = 64)]
    pub upload_slots: usize,
    /// Seconds between choking rounds.
    #[arg(long, env = "SEEDER_CHOKE_INTERVAL", default_value_t = 10)]
    pub choke_interval: u32,
    /// Upload limit in bytes per second over all torrents (0: none).
    #[arg(long, env = "SEEDER_UPLOAD_RATE", default_value_t = 0)]
    pub upload_rate: u64,
    /// Upload limit in bytes per second per torrent (0: none).
    #[arg(long, env = "SEEDER_TORRENT_UPLOAD_RATE", default_value_t = 0)]
    pub torrent_upload_rate: u64,
    /// Requests a peer may have queued; more is a protocol violation. Sent as `reqq`;
    /// 2000 is libtorrent's own, and a downloader on a fast link keeps that many in
    /// flight (24 KiB of queue per peer at most).
    #[arg(long, env = "SEEDER_MAX_REQUESTS_PER_PEER", default_value_t = 2000)]
    pub max_requests_per_peer: usize,
    /// Bytes one connection may hold beyond its torrent's bitfields: read buffer,
    /// replies it has not read, queued requests, blocks on their way out. A peer that
    /// asks for replies (metadata, rejects) without reading them is dropped at this
    /// budget instead of growing the seeder's memory. A batch of blocks (256 KiB) and a
    /// frame must fit, so at least 384 KiB; `max_peers` times this bounds all peers.
    #[arg(long, env = "SEEDER_MAX_PEER_MEMORY", default_value_t = 512 * 1024)]
    pub max_peer_memory: usize,
    /// Interest changes a peer may make without a block sent to it in between; each
    /// takes the choker's lock and may hand a slot on. A super-seed's leecher changes its
    /// mind at every offered piece, but gets the piece in between.
    #[arg(long, env = "SEEDER_MAX_INTEREST_CHANGES", default_value_t = 32)]
    pub max_interest_changes: u32,
    /// `have_none`/`have_all` messages a peer may send (each a pass over every piece;
    /// clients send one, after the handshake).
    #[arg(long, env = "SEEDER_MAX_BITFIELD_RESETS", default_value_t = 4)]
    pub max_bitfield_resets: u32,
    /// BEP 16 super-seeding for every torrent: offer each peer a few of the rarest
    /// pieces instead of everything, so each piece tends to leave the origin once. For a
    /// release's first distribution; a swarm that can serve itself needs it no more.
    #[arg(long, env = "SEEDER_SUPER_SEED", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub super_seed: bool,
    /// Most content files open at once over all torrents; the least recently read is
    /// closed first.
    #[arg(long, env = "SEEDER_MAX_OPEN_FILES", default_value_t = 1024)]
    pub max_open_files: usize,
    /// Serve content that resolves (through symlinks) outside its data root. Off: a
    /// symlink in the library cannot publish files from elsewhere on the host.
    #[arg(long, env = "SEEDER_FOLLOW_SYMLINKS_OUTSIDE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub follow_symlinks_outside: bool,
    /// Encrypted connections (MSE/PE): `prefer` takes encrypted and plain ones and picks
    /// RC4 when a peer offers it; `require` takes RC4-encrypted ones only; `allow` takes
    /// both and picks plain text when a peer offers both; `off` closes encrypted
    /// handshakes (the peer retries in plain text).
    #[arg(long, env = "SEEDER_ENCRYPTION", value_enum, default_value = "prefer")]
    pub encryption: Encryption,
    /// Encrypted handshakes one address (IPv6: one /64) may start per minute, each a
    /// Diffie-Hellman exchange (about 170 us of CPU), up to this many at once; past it
    /// the connection is closed (`mse_rate_limited`). 0: no limit.
    #[arg(
        long,
        env = "SEEDER_ENCRYPTED_HANDSHAKES_PER_MINUTE",
        default_value_t = 120
    )]
    pub encrypted_handshakes_per_minute: u32,
    /// uTP (BEP 29) on the peer port's UDP side, beside TCP: libtorrent clients
    /// (qBittorrent, Deluge) and Transmission try it first on their defaults, and without
    /// it wait seconds before falling back to TCP.
    #[arg(long, env = "SEEDER_UTP", num_args = 0..=1, default_missing_value = "true", default_value_t = true, action = clap::ArgAction::Set)]
    pub utp: bool,
    /// Most uTP connections at once, handshaking or connected (each also counts against
    /// `max_peers_per_address`, `max_handshakes` and `max_peers`). Past it new uTP
    /// connections are refused; the client falls back to TCP.
    #[arg(long, env = "SEEDER_MAX_UTP_CONNECTIONS", default_value_t = 1024)]
    pub max_utp_connections: usize,
    /// uTP connection requests (SYNs) kept while the seeder is busy taking others, as a
    /// TCP listen backlog: each is a few dozen bytes, and nothing more is allocated for
    /// it until it is taken. Past it a request is refused with a reset (counted in
    /// `utp_syns_dropped_total`) and the client retries or falls back to TCP; one that
    /// waits 5 s is forgotten and counted the same way.
    #[arg(long, env = "SEEDER_UTP_BACKLOG", default_value_t = 256)]
    pub utp_backlog: usize,
    /// Bytes a uTP connection may have sent and not yet acknowledged (its send window,
    /// grown from 32 KiB as acks come). With a 64 KiB receive buffer this bounds a uTP
    /// connection's memory beyond `max_peer_memory`; it should cover the bandwidth-delay
    /// product of one leecher (1 MiB: 80 Mbit/s at 100 ms).
    #[arg(long, env = "SEEDER_UTP_SEND_BUFFER", default_value_t = 1024 * 1024)]
    pub utp_send_buffer: usize,
    /// uTP congestion control: `ledbat` (BEP 29) keeps the queue our uploads build in
    /// front of a leecher's link near 100 ms, so its household's other traffic keeps
    /// working; `cubic` (TCP's) fills that queue for the last bit of throughput.
    #[arg(
        long,
        env = "SEEDER_UTP_CONGESTION",
        value_enum,
        default_value = "ledbat"
    )]
    pub utp_congestion: UtpCongestion,
    /// Seconds a new connection has to complete its handshake.
    #[arg(long, env = "SEEDER_HANDSHAKE_TIMEOUT", default_value_t = 10)]
    pub handshake_timeout: u32,
    /// Seconds without any message after which a peer is dropped.
    #[arg(long, env = "SEEDER_IDLE_TIMEOUT", default_value_t = 180)]
    pub idle_timeout: u32,
    /// Seconds a write may make no progress (the peer does not read) before the peer is
    /// dropped.
    #[arg(long, env = "SEEDER_WRITE_TIMEOUT", default_value_t = 60)]
    pub write_timeout: u32,
    /// Seconds an unchoked peer may go without requesting before its slot is given away.
    #[arg(long, env = "SEEDER_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout: u32,
    /// Seconds between announces when the tracker gives no interval.
    #[arg(long, env = "SEEDER_ANNOUNCE_INTERVAL", default_value_t = 1800)]
    pub announce_interval: u32,
    /// Seconds shutdown waits for `stopped` announces and open connections.
    #[arg(long, env = "SEEDER_GRACE_PERIOD", default_value_t = 10)]
    pub grace_period: u32,
    /// Log lines as `text` or `json`.
    #[arg(long, env = "SEEDER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `seedline_seeder=debug`.
    #[arg(long, env = "SEEDER_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

/// The `encryption` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    Prefer,
    Require,
    Allow,
    Off,
}

impl Encryption {
    /// The MSE methods taken, or `None` for `off`.
    pub fn methods(self) -> Option<seedline_common::mse::Methods> {
        use seedline_common::mse::Methods;
        match self {
            Self::Prefer => Some(Methods {
                rc4: true,
                plaintext: true,
                prefer_rc4: true,
            }),
            Self::Require => Some(Methods {
                rc4: true,
                plaintext: false,
                prefer_rc4: true,
            }),
            Self::Allow => Some(Methods {
                rc4: true,
                plaintext: true,
                prefer_rc4: false,
            }),
            Self::Off => None,
        }
    }
}

/// The `utp_congestion` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum UtpCongestion {
    Ledbat,
    Cubic,
}

/// The least `max_peer_memory`: a batch of blocks (256 KiB and a block), a frame and
/// its read-ahead, with room for the replies in between.
pub const MIN_PEER_MEMORY: usize = 384 * 1024;

/// The least `utp_send_buffer`: the send window a uTP connection starts with.
pub const MIN_UTP_SEND_BUFFER: usize = 32 * 1024;

seedline_process::declared_defaults!(Config);

impl Settings for Config {
    fn secrets(&mut self) -> Vec<&mut Option<String>> {
        vec![&mut self.tracker_api_token]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.library.is_none() && self.torrents.is_empty() {
            return err("nothing to seed: give --library DIR or --torrent FILE --data DIR".into());
        }
        if let Some(url) = &self.tracker {
            if !url.starts_with("http://") {
                return err(format!(
                    "tracker {url:?} is not an http:// URL (https and udp trackers are not supported yet)"
                ));
            }
        }
        if let Some(url) = &self.public_http_url {
            crate::daemon::webseed::check_public_url(url).map_err(ConfigError)?;
        }
        if let Some(api) = &self.tracker_api {
            if !api.starts_with("http://") {
                return err(format!("tracker_api {api:?} is not an http:// URL"));
            }
            self.tracker_api_token()?;
        }
        let (count, secs) = ("", " second");
        for (name, v, unit) in [
            ("max_peers", self.max_peers, count),
            ("max_peers_per_address", self.max_peers_per_address, count),
            ("max_handshakes", self.max_handshakes, count),
            ("max_utp_connections", self.max_utp_connections, count),
            ("utp_backlog", self.utp_backlog, count),
            ("max_open_files", self.max_open_files, count),
            ("max_peers_per_torrent", self.max_peers_per_torrent, count),
            ("http_max_connections", self.http_max_connections, count),
            (
                "http_max_connections_per_address",
                self.http_max_connections_per_address,
                count,
            ),
            (
                "http_header_timeout",
                self.http_header_timeout as usize,
                secs,
            ),
            ("http_idle_timeout", self.http_idle_timeout as usize, secs),
            ("upload_slots", self.upload_slots, count),
            ("max_requests_per_peer", self.max_requests_per_peer, count),
            (
                "max_interest_changes",
                self.max_interest_changes as usize,
                count,
            ),
            (
                "max_bitfield_resets",
                self.max_bitfield_resets as usize,
                count,
            ),
            ("rescan_interval", self.rescan_interval as usize, secs),
            ("choke_interval", self.choke_interval as usize, secs),
            ("handshake_timeout", self.handshake_timeout as usize, secs),
            ("idle_timeout", self.idle_timeout as usize, secs),
            ("write_timeout", self.write_timeout as usize, secs),
            ("request_timeout", self.request_timeout as usize, secs),
            ("announce_interval", self.announce_interval as usize, secs),
        ] {
            if v == 0 {
                return err(format!("{name} must be at least 1{unit}"));
            }
        }
        if self.max_peer_memory < MIN_PEER_MEMORY {
            return err(format!(
                "max_peer_memory ({}) must be at least {MIN_PEER_MEMORY}: a batch of blocks and a frame must fit",
                self.max_peer_memory
            ));
        }
        if self.utp_send_buffer < MIN_UTP_SEND_BUFFER {
            return err(format!(
                "utp_send_buffer ({}) must be at least {MIN_UTP_SEND_BUFFER}: the window a uTP connection starts with",
                self.utp_send_buffer
            ));
        }
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
    /// The token for `tracker_api`, from the setting or its file (trimmed).
    pub fn tracker_api_token(&self) -> Result<String, ConfigError> {
        seedline_process::config::read_secret(
            &self.tracker_api_token,
            &self.tracker_api_token_file,
            "tracker_api_token",
        )?
        .ok_or_else(|| {
            ConfigError("tracker_api needs tracker_api_token or tracker_api_token_file".into())
        })
    }

    pub fn secs(n: u32) -> Duration {
        Duration::from_secs(u64::from(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_torrent(extra: &str) -> String {
        format!("{extra}\n[[torrents]]\ntorrent = \"a.torrent\"\ndata = \"/srv\"\n")
    }

    #[test]
    fn default_with_a_torrent_is_valid_and_round_trips() {
        let c = Config::from_toml(&with_torrent("")).unwrap();
        c.validate().unwrap();
        assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(Config::default().validate().is_err(), "nothing to seed");
        for b in [
            "tracker = \"udp://t.example:80\"",
            "upload_slots = 0",
            "idle_timeout = 0",
            "log_level = \"[[\"",
        ] {
            let c = Config::from_toml(&with_torrent(b)).unwrap();
            assert!(c.validate().is_err(), "{b} should be rejected");
        }
        assert!(Config::from_toml("listen_port = 5").is_err());
    }
}
