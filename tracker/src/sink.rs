//! How a reply is written while the swarm is locked: the swarm picks the peers and hands
//! each one, as its stored compact bytes, to a [`PeerSink`]; the front end's sink turns
//! them into its protocol's reply (bencode for HTTP, BEP 15 bytes for UDP). Generic, so
//! each front end gets its own copy of the walk and nothing is copied twice.

use std::net::SocketAddr;

use seedline_common::announce_response::{self as reply, ReplyHead};
use seedline_common::{udp, PeerId};

use crate::swarm::CompactAddr;

/// Receives one announce reply: the head, then the peers of one address family.
pub trait PeerSink {
    /// Counts and intervals, before any peer.
    fn head(&mut self, head: &ReplyHead);
    /// `count` peers follow; `v6`: 18-byte addresses, else 6-byte ones.
    fn begin(&mut self, v6: bool, count: usize);
    /// Whether [`PeerSink::peer`] wants the peers' ids (HTTP's dictionary form).
    fn wants_ids(&self) -> bool {
        false
    }
    /// One peer, in the compact form it is stored in; its id when asked for and known.
    fn peer<A: CompactAddr>(&mut self, addr: &A, id: Option<&PeerId>);
    /// After the last peer.
    fn end(&mut self);
}

/// The HTTP reply with BEP 23's compact peer strings (what every current client asks
/// for), appended to a buffer.
pub struct CompactReply<'a>(pub &'a mut Vec<u8>);

impl PeerSink for CompactReply<'_> {
    fn head(&mut self, head: &ReplyHead) {
        reply::write_head(self.0, head);
    }

    fn begin(&mut self, v6: bool, count: usize) {
        if v6 {
            reply::begin_compact_v4(self.0, 0);
            reply::begin_compact_v6(self.0, count);
        } else {
            reply::begin_compact_v4(self.0, count);
        }
    }

    fn peer<A: CompactAddr>(&mut self, addr: &A, _id: Option<&PeerId>) {
        self.0.extend_from_slice(addr.as_ref());
    }

    fn end(&mut self) {
        reply::write_tail(self.0, None);
    }
}

/// The HTTP reply with BEP 3's list of peer dictionaries, with peer ids unless the
/// client sent `no_peer_id`.
pub struct DictReply<'a> {
    pub out: &'a mut Vec<u8>,
    pub peer_ids: bool,
}

impl PeerSink for DictReply<'_> {
    fn head(&mut self, head: &ReplyHead) {
        reply::write_head(self.out, head);
    }

    fn begin(&mut self, _v6: bool, _count: usize) {
        reply::begin_dict_peers(self.out);
    }

    fn wants_ids(&self) -> bool {
        self.peer_ids
    }

    fn peer<A: CompactAddr>(&mut self, addr: &A, id: Option<&PeerId>) {
        reply::write_dict_peer(self.out, addr.socket_addr(), id);
    }

    fn end(&mut self) {
        reply::end_dict_peers(self.out);
        reply::write_tail(self.out, None);
    }
}

/// The UDP reply (BEP 15): counts, then peers of the family the request came over
/// (BEP 15 has one stride per transport: 6 bytes over IPv4, 18 over IPv6). An announcer
/// stored under an address of the other family (a believed `ip` field) gets no peers
/// rather than entries its client would misread.
pub struct UdpReply<'a> {
    pub out: &'a mut Vec<u8>,
    pub transaction_id: u32,
    pub over_v6: bool,
    skip: bool,
}

impl<'a> UdpReply<'a> {
    pub fn new(out: &'a mut Vec<u8>, transaction_id: u32, over_v6: bool) -> Self {
        Self {
            out,
            transaction_id,
            over_v6,
            skip: false,
        }
    }
}

impl PeerSink for UdpReply<'_> {
    fn head(&mut self, head: &ReplyHead) {
        udp::begin_announce(
            self.out,
            self.transaction_id,
            head.interval,
            head.incomplete,
            head.complete,
        );
    }

    fn begin(&mut self, v6: bool, _count: usize) {
        self.skip = v6 != self.over_v6;
    }

    fn peer<A: CompactAddr>(&mut self, addr: &A, _id: Option<&PeerId>) {
        if !self.skip {
            self.out.extend_from_slice(addr.as_ref());
        }
    }

    fn end(&mut self) {}
}

/// The peers of a reply as addresses, for tests and for callers that want values.
#[derive(Debug, Default)]
pub struct Collect {
    pub head: ReplyHead,
    pub peers: Vec<SocketAddr>,
}

impl PeerSink for Collect {
    fn head(&mut self, head: &ReplyHead) {
        self.head = *head;
    }

    fn begin(&mut self, _v6: bool, count: usize) {
        self.peers.reserve(count);
    }

    fn peer<A: CompactAddr>(&mut self, addr: &A, _id: Option<&PeerId>) {
        self.peers.push(addr.socket_addr());
    }

    fn end(&mut self) {}
}
