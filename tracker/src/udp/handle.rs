//! One UDP datagram in, at most one out. Only the connect reply goes to a sender the
//! tracker has not authenticated, and it is no larger than the request; any other
//! request needs a connection id issued to its source address. An unauthenticated
//! request that fails gets an error no larger than itself, or nothing.

use std::net::SocketAddr;
use std::time::Instant;

use seedline_common::udp::{self, Request, MAX_SCRAPE_HASHES};

use super::conn_id::IdView;
use crate::core::{Announce, Failed};
use crate::metrics::Endpoint;
use crate::sink::UdpReply;
use crate::tracker::Tracker;

/// Most peers in a UDP reply: 20 + 200 × 6 = 1 220 bytes over IPv4, 20 + 74 × 18 =
/// 1 352 over IPv6, so a reply fits one Ethernet frame and is never fragmented.
const MAX_PEERS_V4: u32 = 200;
const MAX_PEERS_V6: u32 = 74;

/// What became of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// `out` holds the reply.
    Reply,
    /// Nothing is sent; the reason is a metrics label.
    Drop(&'static str),
}

/// A datagram after the checks that need no store.
pub(crate) enum Admitted<'p> {
    /// Answered (connect, refused id) or dropped.
    Done(Handled),
    /// An announce or scrape from the holder of a valid connection id: for the store.
    Serve(Request<'p>, Instant),
}

impl Tracker {
    /// Decodes a datagram, answers a connect, refuses a connection id that was not
    /// issued to `src` and a client over its rate: everything before the store, without
    /// waiting.
    pub(crate) fn udp_admit<'p>(
        &self,
        ids: &mut IdView,
        packet: &'p [u8],
        src: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Admitted<'p> {
        let started = Instant::now();
        let req = match Request::parse(packet) {
            Ok(r) => r,
            Err(e) => return Admitted::Done(self.udp_request_error(ids, packet, src, e, out)),
        };
        if let Request::Connect { transaction_id } = req {
            let m = self.metrics.udp_endpoint(Endpoint::Connect);
            udp::write_connect(out, transaction_id, ids.issue(src));
            m.ok.inc();
            m.duration.observe(started.elapsed().as_secs_f64());
            return Admitted::Done(Handled::Reply);
        }
        if !ids.accepts(src, req.connection_id()) {
            // Expired or never issued to this address: a short error makes an honest
            // client connect again, and is smaller than any announce or scrape.
            udp::write_error(out, req.transaction_id(), "connection id expired");
            self.metrics.failure("bad_connection_id");
            self.metrics.udp_endpoint(endpoint_of(&req)).failure.inc();
            return Admitted::Done(Handled::Reply);
        }
        // Before the store, so a limited client costs no store request (nor, with a
        // shared store, a task).
        let endpoint = endpoint_of(&req);
        if let Err((kind, reason, _)) = self.rate_limit(src.ip(), endpoint) {
            udp::write_error(out, req.transaction_id(), &reason);
            self.metrics.failure(kind);
            let m = self.metrics.udp_endpoint(endpoint);
            m.failure.inc();
            m.duration.observe(started.elapsed().as_secs_f64());
            return Admitted::Done(Handled::Reply);
        }
        Admitted::Serve(req, started)
    }

    /// An admitted announce or scrape: the store, the reply.
    pub(crate) async fn udp_serve(
        &self,
        req: &Request<'_>,
        src: SocketAddr,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> Handled {
        let endpoint = endpoint_of(req);
        let m = self.metrics.udp_endpoint(endpoint);
        let result = match req {
            Request::Announce(a) => self.announce_udp(a, src, out).await,
            Request::Scrape(s) => self.scrape_udp(s, out).await,
            Request::Connect { .. } => unreachable!("answered by udp_admit"),
        };
        match result {
            Ok(()) => m.ok.inc(),
            Err((kind, reason, _)) => {
                out.clear();
                udp::write_error(out, req.transaction_id(), &reason);
                self.metrics.failure(kind);
                m.failure.inc();
            }
        }
        m.duration.observe(started.elapsed().as_secs_f64());
        Handled::Reply
    }

    async fn announce_udp(
        &self,
        a: &udp::Announce<'_>,
        src: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Result<(), Failed> {
        let over_v6 = src.is_ipv6();
        let cap = if over_v6 { MAX_PEERS_V6 } else { MAX_PEERS_V4 };
        let numwant = a.num_want.unwrap_or(self.cfg.numwant_default).min(cap);
        let core = Announce {
            info_hash: a.info_hash,
            peer_id: a.peer_id,
            port: a.port,
            left: a.left,
            event: a.event,
            numwant: Some(numwant),
            client: src.ip(),
            source: src.ip(),
            claimed_ip: a.ip.map(Into::into),
        };
        self.announce(&core, &mut UdpReply::new(out, a.transaction_id, over_v6))
            .await
    }

    /// Counts in the order of the request; a torrent the access list refuses, or that
    /// the tracker does not know, reads as zeros (a UDP reply cannot leave one out).
    async fn scrape_udp(&self, s: &udp::Scrape<'_>, out: &mut Vec<u8>) -> Result<(), Failed> {
        debug_assert!(s.len() <= MAX_SCRAPE_HASHES);
        let hashes: Vec<_> = s.info_hashes().collect();
        let stats = self.scrape(&hashes).await?;
        udp::begin_scrape(out, s.transaction_id);
        for st in stats {
            udp::write_scrape_entry(out, &st.unwrap_or_default());
        }
        Ok(())
    }

    /// A datagram that is no valid request: answered with an error only when it comes
    /// with a connection id issued to its sender (and then as small as the request),
    /// else dropped and counted.
    fn udp_request_error(
        &self,
        ids: &mut IdView,
        packet: &[u8],
        src: SocketAddr,
        e: udp::RequestError,
        out: &mut Vec<u8>,
    ) -> Handled {
        let kind = e.kind();
        if packet.len() >= 16 {
            let cid = u64::from_be_bytes(packet[..8].try_into().expect("8 bytes"));
            let txn = u32::from_be_bytes(packet[12..16].try_into().expect("4 bytes"));
            if cid != udp::PROTOCOL_ID && ids.accepts(src, cid) {
                let reason = e.to_string();
                let room = packet.len().saturating_sub(8);
                udp::write_error(out, txn, truncate(&reason, room));
                self.metrics.failure(kind);
                return Handled::Reply;
            }
        }
        self.metrics.udp_dropped.with_label_values(&[kind]).inc();
        Handled::Drop(kind)
    }
}

fn endpoint_of(req: &Request<'_>) -> Endpoint {
    match req {
        Request::Connect { .. } => Endpoint::Connect,
        Request::Announce(_) => Endpoint::Announce,
        Request::Scrape(_) => Endpoint::Scrape,
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
