//! Turns one public HTTP request into one reply. Synchronous: nothing here awaits, so no
//! swarm guard can be held across an `.await`.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng;
use seedline_common::failure::encode_failure;
use seedline_common::peer::canonical_ip;
use seedline_common::{AnnounceRequest, PeerId, ScrapeRequest};

use crate::access::Access;
use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::full_scrape::FullScrape;
use crate::metrics::{Endpoint, Metrics};
use crate::rate_limit::{RateLimiter, Verdict};
use crate::store::{ReplyParams, Store, StoreConfig};
use crate::swarm::{peer_addr, PeerAnnounce, PeerForm};

pub type Body = Full<Bytes>;

/// The tracker's shared state: what every connection's requests are served from.
pub struct Tracker {
    pub store: Store,
    pub metrics: Metrics,
    pub access: Arc<Access>,
    pub limiter: Option<RateLimiter>,
    proxies: TrustedProxies,
    origins: Origins,
    full_scrape: FullScrape,
    admin_token: Option<String>,
    state_dirty: tokio::sync::Notify,
    cfg: Config,
    start: Instant,
}

/// How an announcing origin seeder is recognised.
struct Origins {
    addrs: HashSet<SocketAddr>,
    prefixes: Vec<Vec<u8>>,
}

impl Origins {
    fn is_origin(&self, addr: &SocketAddr, id: &PeerId) -> bool {
        self.by_address(addr) || self.prefixes.iter().any(|p| id.0.starts_with(p))
    }

    fn by_address(&self, addr: &SocketAddr) -> bool {
        self.addrs.contains(addr)
    }
}

/// A refused request: failure kind for metrics, reason for the client, BEP 31 minutes.
type Failed = (&'static str, String, Option<u32>);

fn failed(kind: &'static str, reason: impl ToString) -> Failed {
    (kind, reason.to_string(), None)
}

/// How a request ended, for the requests counter.
enum Outcome {
    Ok,
    Failure(&'static str),
    Rejected,
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
        Self {
            store: Store::with_access(limits, metrics.store.clone(), access.clone()),
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

    /// Serves a request on a public listener.
    pub fn handle_public<B>(&self, req: &Request<B>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let (endpoint, outcome, resp) = self.route(req, peer);
        let m = self.metrics.endpoint(endpoint);
        match outcome {
            Outcome::Ok => m.ok.inc(),
            Outcome::Failure(kind) => {
                m.failure.inc();
                self.metrics.failure(kind);
            }
            Outcome::Rejected => m.rejected.inc(),
        }
        m.duration.observe(started.elapsed().as_secs_f64());
        resp
    }

    /// Serves `/metrics` and `/health` on the admin listener (the API is in `api`).
    pub fn handle_admin_plain<B>(&self, req: &Request<B>) -> Response<Body> {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return method_not_allowed();
        }
        match req.uri().path() {
            "/metrics" => {
                let mut r = Response::new(Body::from(self.metrics.render()));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
            "/health" => text(StatusCode::OK, "ok\n"),
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    fn route<B>(&self, req: &Request<B>, peer: SocketAddr) -> (Endpoint, Outcome, Response<Body>) {
        let endpoint = match req.uri().path() {
            "/announce" => Endpoint::Announce,
            "/scrape" => Endpoint::Scrape,
            "/health" => {
                return (Endpoint::Other, Outcome::Ok, text(StatusCode::OK, "ok\n"));
            }
            _ => {
                return (
                    Endpoint::Other,
                    Outcome::Rejected,
                    text(StatusCode::NOT_FOUND, "not found\n"),
                )
            }
        };
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return (endpoint, Outcome::Rejected, method_not_allowed());
        }
        let query = req.uri().query().unwrap_or("").as_bytes();
        let mut out = Vec::with_capacity(128);
        let result = self
            .proxies
            .client_ip(peer, req.headers())
            .map_err(|e| failed(e.kind(), e))
            .and_then(|client| {
                self.rate_limit(client, endpoint)?;
                match endpoint {
                    Endpoint::Announce => {
                        self.announce(client, peer, query, &mut out).map(|()| None)
                    }
                    _ => self.scrape(query, &mut out),
                }
            });
        match result {
            Ok(None) => (endpoint, Outcome::Ok, bencoded(out)),
            Ok(Some(cached)) => (endpoint, Outcome::Ok, bencoded(cached)),
            Err((kind, reason, retry_in)) => {
                out.clear();
                encode_failure(&mut out, &reason, retry_in);
                (endpoint, Outcome::Failure(kind), bencoded(out))
            }
        }
    }

    fn rate_limit(&self, client: IpAddr, endpoint: Endpoint) -> Result<(), Failed> {
        let Some(rl) = &self.limiter else {
            return Ok(());
        };
        match rl.check(client, rl.now()) {
            Verdict::Allowed => Ok(()),
            Verdict::Untracked => {
                self.metrics.ops.rate_limit_untracked.inc();
                Ok(())
            }
            Verdict::Limited(l) => {
                let name = if endpoint == Endpoint::Announce {
                    "announce"
                } else {
                    "scrape"
                };
                self.metrics
                    .ops
                    .rate_limited
                    .with_label_values(&[name])
                    .inc();
                // BEP 31 counts in minutes; a client told to wait must not come back sooner.
                Err((
                    "rate_limited",
                    l.to_string(),
                    Some(l.retry_secs.div_ceil(60)),
                ))
            }
        }
    }

    fn announce(
        &self,
        client: IpAddr,
        peer: SocketAddr,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Failed> {
        let a = AnnounceRequest::parse_query(query).map_err(|e| failed(e.kind(), e))?;
        self.access
            .check(&a.info_hash)
            .map_err(|e| failed(e.kind(), e))?;
        // `ip_param_from` is about the connection: a request relayed by a proxy is
        // never believed, whatever the proxy's address (config refuses an overlap too).
        let direct = canonical_ip(peer.ip());
        let ip = match a.ip {
            Some(ip)
                if self.cfg.allow_ip_param
                    || (client == direct
                        && !self.proxies.contains(direct)
                        && self.cfg.ip_param_from.iter().any(|n| n.contains(&direct))) =>
            {
                canonical_ip(ip)
            }
            _ => client,
        };
        let mut rng = rand::rng();
        let jitter = if self.cfg.interval_jitter > 0 {
            rng.random_range(0..=self.cfg.interval_jitter)
        } else {
            0
        };
        let params = ReplyParams {
            interval: self.cfg.interval + jitter,
            min_interval: Some(self.cfg.min_interval),
            external_ip: Some(client),
            numwant: a
                .numwant
                .unwrap_or(self.cfg.numwant_default)
                .min(self.cfg.numwant_max) as usize,
            form: if a.compact {
                PeerForm::Compact
            } else {
                PeerForm::Dict {
                    peer_id: !a.no_peer_id,
                }
            },
        };
        let addr = peer_addr(ip, a.port);
        let pa = PeerAnnounce {
            addr,
            peer_id: a.peer_id,
            event: a.event,
            seeder: a.is_seeder(),
            origin: self.origins.is_origin(&addr, &a.peer_id),
            origin_by_address: self.origins.by_address(&addr),
            now: self.now(),
        };
        let effect = self
            .store
            .announce(a.info_hash, &pa, &params, &mut rng, out)
            .map_err(|e| failed(e.kind(), e))?;
        if effect.origins_sent > 0 {
            self.metrics
                .ops
                .origins_sent
                .inc_by(effect.origins_sent as u64);
        }
        if effect.completed {
            self.metrics.completed.inc();
        }
        if let Some(why) = effect.not_stored {
            self.metrics
                .peers_not_stored
                .with_label_values(&[why.kind()])
                .inc();
        }
        Ok(())
    }

    /// Writes a scrape reply into `out`, or returns a cached full scrape.
    fn scrape(&self, query: &[u8], out: &mut Vec<u8>) -> Result<Option<Bytes>, Failed> {
        let mut s = ScrapeRequest::parse_query(query, self.cfg.scrape_max_hashes)
            .map_err(|e| failed(e.kind(), e))?;
        if !s.info_hashes.is_empty() {
            // Refused torrents are left out like unknown ones; refused alone, they fail.
            let mut refused = None;
            s.info_hashes.retain(|h| match self.access.check(h) {
                Ok(()) => true,
                Err(e) => {
                    refused = Some(e);
                    false
                }
            });
            if let (true, Some(e)) = (s.info_hashes.is_empty(), refused) {
                return Err(failed(e.kind(), e));
            }
            self.store.scrape(&s.info_hashes, out);
            Ok(None)
        } else if self.cfg.full_scrape {
            Ok(Some(self.full_scrape.get(&self.store, &self.metrics.ops)))
        } else {
            Err(failed(
                "full_scrape_disabled",
                "full scrape is disabled; pass info_hash",
            ))
        }
    }
}

fn bencoded(body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Body::new(body.into()));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

pub(crate) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub(crate) fn method_not_allowed() -> Response<Body> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}
