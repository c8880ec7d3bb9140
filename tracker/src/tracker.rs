//! The tracker's shared state and its wiring: what every request, whatever its front
//! end, is served from. The front ends are `http.rs` and `udp/`, the protocol-neutral
//! announce and scrape paths `core.rs`, the swarms `store.rs` and `swarm/`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use seedline_common::peer::canonical_ip;
use seedline_common::PeerId;

use crate::access::Access;
use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::full_scrape::FullScrape;
use crate::metrics::Metrics;
use crate::redis_store::{RedisLimits, RedisStore};
use crate::store::{Store, StoreConfig};
use crate::swarm::peer_addr;
use seedline_process::rate_limit::RateLimiter;

/// The tracker's shared state: what every connection's requests are served from.
pub struct Tracker {
    pub store: Store,
    /// The swarms, when they live in a shared store (`store = redis://...`) rather than
    /// in `store`, which then stays empty.
    pub shared: Option<RedisStore>,
    pub metrics: Metrics,
    pub access: Arc<Access>,
    pub limiter: Option<RateLimiter>,
    pub(crate) proxies: TrustedProxies,
    pub(crate) origins: Origins,
    pub(crate) full_scrape: FullScrape,
    pub(crate) admin_token: Option<String>,
    pub(crate) state_dirty: tokio::sync::Notify,
    pub(crate) cfg: Config,
    pub(crate) start: Instant,
}

/// How an announcing origin seeder is recognised.
pub(crate) struct Origins {
    addrs: HashSet<SocketAddr>,
    prefixes: Vec<Vec<u8>>,
}

impl Origins {
    /// Whether the announcer is an origin, and whether by its configured address (which
    /// a client cannot fake, unlike a peer id prefix). One lookup, and none at all when
    /// no origin address is configured: this runs on every announce.
    pub(crate) fn recognise(&self, addr: &SocketAddr, id: &PeerId) -> (bool, bool) {
        let by_address = !self.addrs.is_empty() && self.addrs.contains(addr);
        let origin = by_address || self.prefixes.iter().any(|p| id.0.starts_with(p));
        (origin, by_address)
    }
}

impl Tracker {
    pub fn new(cfg: &Config, metrics: Metrics) -> Self {
        let limits = StoreConfig {
            max_torrents: cfg.max_torrents,
            max_peers_per_torrent: cfg.max_peers_per_torrent,
            max_peers: cfg.max_peers,
            max_peers_per_address: cfg.max_peers_per_address,
            max_peers_per_address_total: cfg.max_peers_per_address_total,
            keep_peer_ids: cfg.keep_peer_ids,
        };
        let access = Arc::new(Access::new(cfg.mode));
        let admin_token = cfg.admin_token().unwrap_or_else(|e| {
            tracing::error!(error = %e, "admin API off");
            None
        });
        // `Config::validate` refuses a store it cannot parse (or whose CA it cannot
        // read) before a tracker is built.
        let target = cfg
            .store_target()
            .expect("store checked by Config::validate");
        let shared = target.map(|target| {
            let limits = RedisLimits {
                peer_timeout: std::time::Duration::from_secs(cfg.peer_timeout_secs().into()),
                max_peers_per_torrent: cfg.max_peers_per_torrent,
                max_peers_per_address: cfg.max_peers_per_address,
                timeout: std::time::Duration::from_millis(cfg.store_timeout_ms.into()),
            };
            RedisStore::open(target, limits, metrics.redis.clone(), access.clone())
        });
        Self {
            store: Store::with_access(limits, metrics.store.clone(), access.clone()),
            shared,
            metrics,
            access,
            limiter: (cfg.rate_limit_per_minute > 0).then(|| {
                RateLimiter::new(
                    cfg.rate_limit_per_minute,
                    cfg.rate_limit_burst,
                    cfg.rate_limit_clients,
                )
            }),
            proxies: TrustedProxies::new(cfg.trusted_proxies.clone()),
            origins: Origins {
                addrs: cfg
                    .origin_peers
                    .iter()
                    .map(|a| peer_addr(canonical_ip(a.ip()), a.port()))
                    .collect(),
                prefixes: cfg
                    .origin_peer_id_prefixes
                    .iter()
                    .map(|p| p.as_bytes().to_vec())
                    .collect(),
            },
            full_scrape: FullScrape::new(cfg.full_scrape_cache, cfg.full_scrape_max),
            admin_token,
            state_dirty: tokio::sync::Notify::new(),
            cfg: cfg.clone(),
            start: Instant::now(),
        }
    }

    /// The admin API's bearer token; `None` turns the API off.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// Asks for the state file to be saved soon (after an API change).
    pub fn state_changed(&self) {
        self.state_dirty.notify_one();
    }

    /// Resolves after [`Self::state_changed`].
    pub async fn state_change(&self) {
        self.state_dirty.notified().await;
    }

    /// Updates the gauges of the access list's sizes.
    pub fn refresh_access_gauges(&self) {
        let g = &self.metrics.ops.access_entries;
        g.with_label_values(&["file"])
            .set(self.access.file_len() as i64);
        g.with_label_values(&["api_registered"])
            .set(self.access.registered_len() as i64);
        g.with_label_values(&["api_denied"])
            .set(self.access.denied_len() as i64);
    }

    /// Seconds since start; the swarm clock.
    pub fn now(&self) -> u32 {
        self.start.elapsed().as_secs() as u32
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }
}
