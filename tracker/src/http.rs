//! The HTTP front end: one public request in, one reply out (routing, the rate limit,
//! metrics per endpoint).
//! It awaits only the swarm store (`swarm_store.rs`), whose in-memory implementation is
//! ready at once and holds no guard past its return.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use seedline_common::failure::encode_failure;
use seedline_common::AnnounceRequest;
use seedline_process::admin::{method_not_allowed, text};

use crate::core::{failed, Announce, Failed};
use crate::metrics::Endpoint;
use crate::sink::{CompactReply, DictReply};
use crate::tracker::Tracker;

pub type Body = Full<Bytes>;

/// How a request ended, for the requests counter.
enum Outcome {
    Ok,
    Failure(&'static str),
    Rejected,
}

impl Tracker {
    /// Serves a request on a public listener.
    pub async fn handle_public<B>(&self, req: &Request<B>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let (endpoint, outcome, resp) = self.route(req, peer).await;
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

    async fn route<B>(
        &self,
        req: &Request<B>,
        peer: SocketAddr,
    ) -> (Endpoint, Outcome, Response<Body>) {
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
        let result = match self.proxies.client_ip(peer, req.headers()) {
            Err(e) => Err(failed(e.kind(), e)),
            Ok(client) => match self.rate_limit(client, endpoint) {
                Err(f) => Err(f),
                Ok(()) if endpoint == Endpoint::Announce => self
                    .announce_http(client, peer, query, &mut out)
                    .await
                    .map(|()| None),
                Ok(()) => self.scrape_http(query, &mut out).await,
            },
        };
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

    /// The HTTP announce: the query decoded into the core's [`Announce`], the reply
    /// written as bencode in the form the client asked for.
    async fn announce_http(
        &self,
        client: IpAddr,
        peer: SocketAddr,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Failed> {
        let q = AnnounceRequest::parse_query(query).map_err(|e| failed(e.kind(), e))?;
        let a = Announce {
            info_hash: q.info_hash,
            peer_id: q.peer_id,
            port: q.port,
            left: q.left,
            event: q.event,
            numwant: q.numwant,
            client,
            source: peer.ip(),
            claimed_ip: q.ip,
        };
        if q.compact {
            self.announce(&a, &mut CompactReply(out)).await
        } else {
            let peer_ids = !q.no_peer_id;
            self.announce(&a, &mut DictReply { out, peer_ids }).await
        }
    }
}

pub(crate) fn bencoded(body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Body::new(body.into()));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}
