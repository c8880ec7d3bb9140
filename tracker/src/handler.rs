//! Turns one HTTP request into one reply. Synchronous: nothing here awaits, so no swarm
//! guard can be held across an `.await`.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng;
use seedline_common::failure::encode_failure;
use seedline_common::peer::canonical_ip;
use seedline_common::{AnnounceRequest, ScrapeRequest};

use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::metrics::{Endpoint, Metrics};
use crate::store::{ReplyParams, Store, StoreConfig};
use crate::swarm::{peer_addr, PeerAnnounce, PeerForm};

pub type Body = Full<Bytes>;

/// The tracker's shared state: what every connection's requests are served from.
pub struct Tracker {
    pub store: Store,
    pub metrics: Metrics,
    proxies: TrustedProxies,
    cfg: Config,
    start: Instant,
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
            keep_peer_ids: cfg.keep_peer_ids,
        };
        Self {
            store: Store::new(limits, metrics.store.clone()),
            metrics,
            proxies: TrustedProxies::new(cfg.trusted_proxies.clone()),
            cfg: cfg.clone(),
            start: Instant::now(),
        }
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

    /// Serves a request on the admin listener.
    pub fn handle_admin<B>(&self, req: &Request<B>) -> Response<Body> {
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
        let result = match endpoint {
            Endpoint::Announce => self.announce(req, peer, query, &mut out),
            _ => self.scrape(query, &mut out),
        };
        match result {
            Ok(()) => (endpoint, Outcome::Ok, bencoded(out)),
            Err((kind, reason)) => {
                out.clear();
                encode_failure(&mut out, &reason, None);
                (endpoint, Outcome::Failure(kind), bencoded(out))
            }
        }
    }

    fn announce<B>(
        &self,
        req: &Request<B>,
        peer: SocketAddr,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), (&'static str, String)> {
        let client = self
            .proxies
            .client_ip(peer, req.headers())
            .map_err(|e| (e.kind(), e.to_string()))?;
        let a = AnnounceRequest::parse_query(query).map_err(|e| (e.kind(), e.to_string()))?;
        let ip = match a.ip {
            Some(ip)
                if self.cfg.allow_ip_param
                    || self
                        .cfg
                        .ip_param_from
                        .iter()
                        .any(|n| n.contains(&canonical_ip(peer.ip()))) =>
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
        let pa = PeerAnnounce {
            addr: peer_addr(ip, a.port),
            peer_id: a.peer_id,
            event: a.event,
            seeder: a.is_seeder(),
            origin: false,
            now: self.now(),
        };
        let effect = self
            .store
            .announce(a.info_hash, &pa, &params, &mut rng, out)
            .map_err(|e| ("torrent_limit", e.to_string()))?;
        if effect.completed {
            self.metrics.completed.inc();
        }
        if effect.not_stored {
            self.metrics.peers_not_stored.inc();
        }
        Ok(())
    }

    fn scrape(&self, query: &[u8], out: &mut Vec<u8>) -> Result<(), (&'static str, String)> {
        let s = ScrapeRequest::parse_query(query, self.cfg.scrape_max_hashes)
            .map_err(|e| (e.kind(), e.to_string()))?;
        if !s.info_hashes.is_empty() {
            self.store.scrape(&s.info_hashes, out);
        } else if self.cfg.full_scrape {
            self.store.scrape_all(self.cfg.full_scrape_max, out);
        } else {
            return Err((
                "full_scrape_disabled",
                "full scrape is disabled; pass info_hash".into(),
            ));
        }
        Ok(())
    }
}

fn bencoded(body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn method_not_allowed() -> Response<Body> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}
