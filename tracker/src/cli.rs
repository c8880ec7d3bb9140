//! Command line and environment: every setting of [`Config`] as a flag and a `TRACKER_*`
//! variable. Values given here override the TOML file, which overrides the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use ipnet::IpNet;

use crate::access::Mode;
use crate::config::{Config, ConfigError, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "tracker",
    version,
    about = "Seedline HTTP BitTorrent tracker (BEP 3, 7, 23, 48)"
)]
pub struct Cli {
    /// TOML configuration file; flags and environment override it.
    #[arg(long, env = "TRACKER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Public listen address, repeatable [default: 0.0.0.0:6969].
    #[arg(long, env = "TRACKER_LISTEN", value_delimiter = ',')]
    pub listen: Vec<SocketAddr>,
    /// Admin listener for /metrics and /health [default: 127.0.0.1:6970].
    #[arg(long, env = "TRACKER_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Network (CIDR) of a reverse proxy whose X-Forwarded-For is trusted, repeatable.
    #[arg(long, env = "TRACKER_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<IpNet>,
    /// Announce interval in seconds [default: 1800].
    #[arg(long, env = "TRACKER_INTERVAL")]
    pub interval: Option<u32>,
    /// Random seconds added to each interval [default: 180].
    #[arg(long, env = "TRACKER_INTERVAL_JITTER")]
    pub interval_jitter: Option<u32>,
    /// `min interval` in seconds [default: 900].
    #[arg(long, env = "TRACKER_MIN_INTERVAL")]
    pub min_interval: Option<u32>,
    /// Seconds after which a silent peer is dropped [default: 2 x interval + jitter].
    #[arg(long, env = "TRACKER_PEER_TIMEOUT")]
    pub peer_timeout: Option<u32>,
    /// Seconds between expiry sweeps [default: 60].
    #[arg(long, env = "TRACKER_SWEEP_INTERVAL")]
    pub sweep_interval: Option<u32>,
    /// Peers per reply when the client does not ask [default: 50].
    #[arg(long, env = "TRACKER_NUMWANT_DEFAULT")]
    pub numwant_default: Option<u32>,
    /// Most peers per reply [default: 200].
    #[arg(long, env = "TRACKER_NUMWANT_MAX")]
    pub numwant_max: Option<u32>,
    /// Most torrents tracked at once [default: 1000000].
    #[arg(long, env = "TRACKER_MAX_TORRENTS")]
    pub max_torrents: Option<usize>,
    /// Most peers stored per torrent [default: 200000].
    #[arg(long, env = "TRACKER_MAX_PEERS_PER_TORRENT")]
    pub max_peers_per_torrent: Option<usize>,
    /// Most peers stored in all torrents together [default: 10000000].
    #[arg(long, env = "TRACKER_MAX_PEERS")]
    pub max_peers: Option<usize>,
    /// Most peers of one torrent behind one IPv4 address or IPv6 /64 [default: 16].
    #[arg(long, env = "TRACKER_MAX_PEERS_PER_ADDRESS")]
    pub max_peers_per_address: Option<usize>,
    /// Most peers of all torrents together behind one IPv4 address or IPv6 /64
    /// [default: 4096].
    #[arg(long, env = "TRACKER_MAX_PEERS_PER_ADDRESS_TOTAL")]
    pub max_peers_per_address_total: Option<usize>,
    /// Keep peer ids for non-compact replies (20 bytes a peer) [default: false].
    #[arg(long, env = "TRACKER_KEEP_PEER_IDS", num_args = 0..=1, default_missing_value = "true")]
    pub keep_peer_ids: Option<bool>,
    /// Most info hashes read from one scrape [default: 100].
    #[arg(long, env = "TRACKER_SCRAPE_MAX_HASHES")]
    pub scrape_max_hashes: Option<usize>,
    /// Answer scrapes without info_hash with every torrent (bounded) [default: false].
    #[arg(long, env = "TRACKER_FULL_SCRAPE", num_args = 0..=1, default_missing_value = "true")]
    pub full_scrape: Option<bool>,
    /// Most torrents in a full scrape [default: 10000].
    #[arg(long, env = "TRACKER_FULL_SCRAPE_MAX")]
    pub full_scrape_max: Option<usize>,
    /// Seconds a full-scrape reply is reused [default: 5].
    #[arg(long, env = "TRACKER_FULL_SCRAPE_CACHE")]
    pub full_scrape_cache: Option<u32>,
    /// Access mode: open, allow (listed/registered only) or deny [default: open].
    #[arg(long, env = "TRACKER_MODE")]
    pub mode: Option<Mode>,
    /// Access-list file: one 40-hex info hash a line; reloaded on SIGHUP and on change.
    #[arg(long, env = "TRACKER_ACCESS_LIST")]
    pub access_list: Option<PathBuf>,
    /// Seconds between checks of the access-list file, 0 for SIGHUP only [default: 5].
    #[arg(long, env = "TRACKER_ACCESS_LIST_POLL")]
    pub access_list_poll: Option<u32>,
    /// Bearer token that enables the admin API (at least 16 characters).
    #[arg(long, env = "TRACKER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the admin API token.
    #[arg(long, env = "TRACKER_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// State file for download counts and registrations (saved periodically and at exit).
    #[arg(long, env = "TRACKER_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// Seconds between state-file saves [default: 300].
    #[arg(long, env = "TRACKER_STATE_SAVE_INTERVAL")]
    pub state_save_interval: Option<u32>,
    /// Also save live swarms in the state file [default: false].
    #[arg(long, env = "TRACKER_PERSIST_PEERS", num_args = 0..=1, default_missing_value = "true")]
    pub persist_peers: Option<bool>,
    /// Address of an origin seeder handed to every leecher, repeatable.
    #[arg(long, env = "TRACKER_ORIGIN_PEER", value_delimiter = ',')]
    pub origin_peer: Vec<SocketAddr>,
    /// Peer id prefix that marks an origin seeder, repeatable (e.g. -SL0100-).
    #[arg(long, env = "TRACKER_ORIGIN_PEER_ID_PREFIX", value_delimiter = ',')]
    pub origin_peer_id_prefix: Vec<String>,
    /// Announces and scrapes per client IP (IPv6: per /64) per minute, 0 for off [default: 0].
    #[arg(long, env = "TRACKER_RATE_LIMIT_PER_MINUTE")]
    pub rate_limit_per_minute: Option<u32>,
    /// Requests a client may burst before the rate applies [default: 30].
    #[arg(long, env = "TRACKER_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// Most clients the rate limiter tracks [default: 1000000].
    #[arg(long, env = "TRACKER_RATE_LIMIT_CLIENTS")]
    pub rate_limit_clients: Option<usize>,
    /// Believe the `ip` announce parameter [default: false].
    #[arg(long, env = "TRACKER_ALLOW_IP_PARAM", num_args = 0..=1, default_missing_value = "true")]
    pub allow_ip_param: Option<bool>,
    /// Network (CIDR) whose announces may set their address with `ip`, repeatable.
    #[arg(long, env = "TRACKER_IP_PARAM_FROM", value_delimiter = ',')]
    pub ip_param_from: Vec<IpNet>,
    /// Largest request head in bytes, at least 8192 [default: 8192].
    #[arg(long, env = "TRACKER_MAX_REQUEST_HEAD")]
    pub max_request_head: Option<usize>,
    /// Seconds to receive a request head [default: 5].
    #[arg(long, env = "TRACKER_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u32>,
    /// Seconds an idle keep-alive connection is kept [default: 60].
    #[arg(long, env = "TRACKER_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u32>,
    /// Seconds a reply may wait for the client to read it [default: 10].
    #[arg(long, env = "TRACKER_WRITE_TIMEOUT")]
    pub write_timeout: Option<u32>,
    /// Most open client connections [default: 10000].
    #[arg(long, env = "TRACKER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most open connections from one address or IPv6 /64, proxies apart [default: 256].
    #[arg(long, env = "TRACKER_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// Seconds in-flight requests get at shutdown [default: 10].
    #[arg(long, env = "TRACKER_GRACE_PERIOD")]
    pub grace_period: Option<u32>,
    /// Log format [default: text].
    #[arg(long, env = "TRACKER_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `seedline_tracker=debug` [default: info].
    #[arg(long, env = "TRACKER_LOG_LEVEL")]
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
        if !self.listen.is_empty() {
            c.listen = self.listen;
        }
        if !self.trusted_proxy.is_empty() {
            c.trusted_proxies = self.trusted_proxy;
        }
        if !self.ip_param_from.is_empty() {
            c.ip_param_from = self.ip_param_from;
        }
        if !self.origin_peer.is_empty() {
            c.origin_peers = self.origin_peer;
        }
        if !self.origin_peer_id_prefix.is_empty() {
            c.origin_peer_id_prefixes = self.origin_peer_id_prefix;
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if self.$f.is_some() { c.$f = self.$f; } )* };
        }
        set_opt!(access_list, admin_token, admin_token_file, state_file);
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            admin_listen,
            interval,
            interval_jitter,
            min_interval,
            peer_timeout,
            sweep_interval,
            numwant_default,
            numwant_max,
            max_torrents,
            max_peers_per_torrent,
            max_peers,
            max_peers_per_address,
            max_peers_per_address_total,
            keep_peer_ids,
            scrape_max_hashes,
            full_scrape,
            full_scrape_max,
            full_scrape_cache,
            mode,
            access_list_poll,
            state_save_interval,
            persist_peers,
            rate_limit_per_minute,
            rate_limit_burst,
            rate_limit_clients,
            allow_ip_param,
            max_request_head,
            header_read_timeout,
            idle_timeout,
            write_timeout,
            max_connections,
            max_connections_per_address,
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
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "interval = 600\nmin_interval = 300\nnumwant_max = 100\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "tracker",
            "--config",
            path.to_str().unwrap(),
            "--interval",
            "700",
            "--listen",
            "127.0.0.1:1,[::1]:2",
            "--trusted-proxy",
            "10.0.0.0/8",
        ])
        .unwrap();
        let c = cli.into_config().unwrap();
        assert_eq!(c.interval, 700);
        assert_eq!(c.min_interval, 300);
        assert_eq!(c.numwant_max, 100);
        assert_eq!(c.listen.len(), 2);
        assert_eq!(
            c.trusted_proxies,
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
        assert_eq!(c.numwant_default, Config::default().numwant_default);
    }

    #[test]
    fn errors_name_the_file() {
        let cli = Cli::try_parse_from(["tracker", "--config", "/nonexistent/t.toml"]).unwrap();
        let e = cli.into_config().unwrap_err();
        assert!(e.to_string().contains("/nonexistent/t.toml"), "{e}");
        let cli = Cli::try_parse_from(["tracker", "--interval", "0"]).unwrap();
        assert!(cli.into_config().is_err());
    }
}
