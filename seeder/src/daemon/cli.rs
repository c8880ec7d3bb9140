//! Command line and environment: every setting of [`Config`] as a flag and a `SEEDER_*`
//! variable. Values given here override the TOML file, which overrides the defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

use super::config::{Config, ConfigError, LogFormat, OneOff};

#[derive(Debug, Parser)]
#[command(
    name = "seeder",
    version,
    about = "Seedline origin seeder: serves the first copies of releases over BitTorrent",
    long_about = "Seedline origin seeder: serves every torrent of a library directory (and \
        any given with --torrent/--data) over the BitTorrent peer wire protocol. Without \
        --tracker it also runs the tracker in this process and announces there."
)]
pub struct Cli {
    /// TOML configuration file; flags and environment override it.
    #[arg(long, env = "SEEDER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Peer wire listen address; its port is announced [default: 0.0.0.0:6881].
    #[arg(long, env = "SEEDER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Admin listener for /metrics and /health [default: 127.0.0.1:6971].
    #[arg(long, env = "SEEDER_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Library directory of .torrent files, watched while running.
    #[arg(long, env = "SEEDER_LIBRARY")]
    pub library: Option<PathBuf>,
    /// Content of library torrents is DATA_ROOT/NAME [default: beside the .torrent].
    #[arg(long, env = "SEEDER_DATA_ROOT")]
    pub data_root: Option<PathBuf>,
    /// Seconds between checks of every torrent's content; new and removed .torrent files
    /// are seen within a second [default: 10].
    #[arg(long, env = "SEEDER_RESCAN_INTERVAL")]
    pub rescan_interval: Option<u32>,
    /// A .torrent to seed without a library, repeatable; pairs with --data in order.
    #[arg(long, env = "SEEDER_TORRENT", value_delimiter = ',')]
    pub torrent: Vec<PathBuf>,
    /// Directory holding the content of the matching --torrent (DIR/NAME, NAME from the torrent).
    #[arg(long, env = "SEEDER_DATA", value_delimiter = ',')]
    pub data: Vec<PathBuf>,
    /// Announce here instead of each torrent's own trackers; without it the tracker runs
    /// in this process.
    #[arg(long, env = "SEEDER_TRACKER")]
    pub tracker: Option<String>,
    /// Address announced for this seeder (`ip`); the embedded tracker believes it.
    #[arg(long, env = "SEEDER_ANNOUNCE_IP")]
    pub announce_ip: Option<IpAddr>,
    /// A Seedline tracker's admin URL (http://host:6970) to register every torrent with.
    #[arg(long, env = "SEEDER_TRACKER_API")]
    pub tracker_api: Option<String>,
    /// Bearer token for --tracker-api.
    #[arg(long, env = "SEEDER_TRACKER_API_TOKEN", hide_env_values = true)]
    pub tracker_api_token: Option<String>,
    /// File holding the bearer token for --tracker-api.
    #[arg(long, env = "SEEDER_TRACKER_API_TOKEN_FILE")]
    pub tracker_api_token_file: Option<PathBuf>,
    /// Public listener of the embedded tracker [default: 0.0.0.0:6969].
    #[arg(long, env = "SEEDER_EMBEDDED_TRACKER_LISTEN")]
    pub embedded_tracker_listen: Option<SocketAddr>,
    /// Metrics listener of the embedded tracker [default: 127.0.0.1:6970].
    #[arg(long, env = "SEEDER_EMBEDDED_TRACKER_ADMIN_LISTEN")]
    pub embedded_tracker_admin_listen: Option<SocketAddr>,
    /// Let the embedded tracker track any torrent, not only this seeder's [default: false].
    #[arg(long, env = "SEEDER_EMBEDDED_TRACKER_OPEN", num_args = 0..=1, default_missing_value = "true")]
    pub embedded_tracker_open: Option<bool>,
    /// Most connected peers over all torrents [default: 2000].
    #[arg(long, env = "SEEDER_MAX_PEERS")]
    pub max_peers: Option<usize>,
    /// Most connected peers per torrent [default: 500].
    #[arg(long, env = "SEEDER_MAX_PEERS_PER_TORRENT")]
    pub max_peers_per_torrent: Option<usize>,
    /// Most connections from one address or IPv6 /64 [default: 8].
    #[arg(long, env = "SEEDER_MAX_PEERS_PER_ADDRESS")]
    pub max_peers_per_address: Option<usize>,
    /// Most connections still in their handshake [default: 256].
    #[arg(long, env = "SEEDER_MAX_HANDSHAKES")]
    pub max_handshakes: Option<usize>,
    /// Peers unchoked at once; the rest take turns [default: 64].
    #[arg(long, env = "SEEDER_UPLOAD_SLOTS")]
    pub upload_slots: Option<usize>,
    /// Seconds between choking rounds [default: 10].
    #[arg(long, env = "SEEDER_CHOKE_INTERVAL")]
    pub choke_interval: Option<u32>,
    /// Upload limit over all torrents in bytes/s, 0 for none [default: 0].
    #[arg(long, env = "SEEDER_UPLOAD_RATE")]
    pub upload_rate: Option<u64>,
    /// Upload limit per torrent in bytes/s, 0 for none [default: 0].
    #[arg(long, env = "SEEDER_TORRENT_UPLOAD_RATE")]
    pub torrent_upload_rate: Option<u64>,
    /// Requests one peer may have queued [default: 2000].
    #[arg(long, env = "SEEDER_MAX_REQUESTS_PER_PEER")]
    pub max_requests_per_peer: Option<usize>,
    /// Bytes one peer's connection may hold beyond its torrent's bitfields (buffers,
    /// unread replies, blocks being sent) [default: 524288].
    #[arg(long, env = "SEEDER_MAX_PEER_MEMORY")]
    pub max_peer_memory: Option<usize>,
    /// Interest changes one peer may make per 10 seconds [default: 32].
    #[arg(long, env = "SEEDER_MAX_INTEREST_CHANGES")]
    pub max_interest_changes: Option<u32>,
    /// have_none/have_all messages one peer may send [default: 4].
    #[arg(long, env = "SEEDER_MAX_BITFIELD_RESETS")]
    pub max_bitfield_resets: Option<u32>,
    /// BEP 16 super-seeding: offer each peer the rarest pieces one or two at a time, so
    /// each piece tends to leave the origin once [default: false].
    #[arg(long, env = "SEEDER_SUPER_SEED", num_args = 0..=1, default_missing_value = "true")]
    pub super_seed: Option<bool>,
    /// Most content files open at once [default: 1024].
    #[arg(long, env = "SEEDER_MAX_OPEN_FILES")]
    pub max_open_files: Option<usize>,
    /// Serve content that resolves outside its data root through symlinks [default: false].
    #[arg(long, env = "SEEDER_FOLLOW_SYMLINKS_OUTSIDE", num_args = 0..=1, default_missing_value = "true")]
    pub follow_symlinks_outside: Option<bool>,
    /// Seconds to complete a handshake [default: 10].
    #[arg(long, env = "SEEDER_HANDSHAKE_TIMEOUT")]
    pub handshake_timeout: Option<u32>,
    /// Seconds of silence before a peer is dropped [default: 180].
    #[arg(long, env = "SEEDER_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u32>,
    /// Seconds a write may make no progress before the peer is dropped [default: 60].
    #[arg(long, env = "SEEDER_WRITE_TIMEOUT")]
    pub write_timeout: Option<u32>,
    /// Seconds an unchoked peer may go without a request before its slot is given away
    /// [default: 60].
    #[arg(long, env = "SEEDER_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u32>,
    /// Seconds between announces when the tracker sets none [default: 1800].
    #[arg(long, env = "SEEDER_ANNOUNCE_INTERVAL")]
    pub announce_interval: Option<u32>,
    /// Seconds shutdown waits for `stopped` announces and connections [default: 10].
    #[arg(long, env = "SEEDER_GRACE_PERIOD")]
    pub grace_period: Option<u32>,
    /// Log format [default: text].
    #[arg(long, env = "SEEDER_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `seedline_seeder=debug` [default: info].
    #[arg(long, env = "SEEDER_LOG_LEVEL")]
    pub log_level: Option<String>,
}

impl Cli {
    /// Builds the validated configuration: defaults, then the file, then these values.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                Config::from_toml(&text)
                    .map_err(|e| ConfigError(format!("config file {}: {}", path.display(), e.0)))?
            }
            None => Config::default(),
        };
        if self.torrent.len() != self.data.len() {
            return Err(ConfigError(format!(
                "{} --torrent but {} --data: give one data directory per torrent",
                self.torrent.len(),
                self.data.len()
            )));
        }
        if !self.torrent.is_empty() {
            c.torrents = (self.torrent.into_iter().zip(self.data))
                .map(|(torrent, data)| OneOff { torrent, data })
                .collect();
        }
        if self.library.is_some() {
            c.library = self.library;
        }
        if self.data_root.is_some() {
            c.data_root = self.data_root;
        }
        if self.announce_ip.is_some() {
            c.announce_ip = self.announce_ip;
        }
        if self.tracker.is_some() {
            c.tracker = self.tracker;
        }
        if self.tracker_api.is_some() {
            c.tracker_api = self.tracker_api;
        }
        if self.tracker_api_token.is_some() {
            c.tracker_api_token = self.tracker_api_token;
        }
        if self.tracker_api_token_file.is_some() {
            c.tracker_api_token_file = self.tracker_api_token_file;
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            listen,
            admin_listen,
            rescan_interval,
            embedded_tracker_listen,
            embedded_tracker_admin_listen,
            embedded_tracker_open,
            max_peers,
            max_peers_per_torrent,
            max_peers_per_address,
            max_handshakes,
            upload_slots,
            choke_interval,
            upload_rate,
            torrent_upload_rate,
            max_requests_per_peer,
            max_peer_memory,
            max_interest_changes,
            max_bitfield_resets,
            super_seed,
            max_open_files,
            follow_symlinks_outside,
            handshake_timeout,
            idle_timeout,
            write_timeout,
            request_timeout,
            announce_interval,
            grace_period,
            log_format,
            log_level
        );
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "upload_slots = 8\nidle_timeout = 99\nlibrary = \"/lib\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "seeder",
            "--config",
            path.to_str().unwrap(),
            "--upload-slots",
            "4",
            "--torrent",
            "a.torrent",
            "--data",
            "/srv/a",
            "--torrent",
            "b.torrent",
            "--data",
            "/srv/b",
        ])
        .unwrap();
        let c = cli.into_config().unwrap();
        assert_eq!(c.upload_slots, 4);
        assert_eq!(c.idle_timeout, 99);
        assert_eq!(c.library, Some(PathBuf::from("/lib")));
        assert_eq!(c.torrents.len(), 2);
        assert_eq!(c.torrents[1].data, PathBuf::from("/srv/b"));
    }

    #[test]
    fn unpaired_torrent_and_missing_file_are_errors() {
        let cli = Cli::try_parse_from(["seeder", "--torrent", "a.torrent"]).unwrap();
        assert!(cli.into_config().unwrap_err().0.contains("--data"));
        let cli = Cli::try_parse_from(["seeder", "--config", "/nonexistent/s.toml"]).unwrap();
        assert!(cli
            .into_config()
            .unwrap_err()
            .0
            .contains("/nonexistent/s.toml"));
    }
}
