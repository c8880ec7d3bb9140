//! The pure state of one torrent's swarm: no locks, no clock, no I/O.
//!
//! [`Swarm::announce`] applies one announce and writes the peer part of the reply; the
//! caller passes the time and the RNG, so the logic is unit-tested without a runtime.

// The places `unsafe` is allowed: a list's first peers kept in place of the box pointer
// (`slots.rs`, and the list that owns their length), and the prefetch of a reply's peers
// (`sample.rs`).
#[allow(unsafe_code)]
mod peer_list;
#[allow(unsafe_code)]
mod sample;
mod seen;
#[allow(unsafe_code)]
mod slots;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

use rand::Rng;

use crate::holders::Holders;
use crate::sink::PeerSink;
use seedline_common::peer::{compact_v4, compact_v6};
use seedline_common::{Event, PeerId, ScrapeStats};

pub use peer_list::{CompactAddr, Extra, Peer, PeerList, Role};
pub use seen::{Expiry, MAX_PEER_AGE, SEEN_TICK};

/// The id of a restored peer until it announces again.
pub const UNKNOWN_ID: PeerId = PeerId([0; 20]);

/// Most origin seeders per swarm and family. A peer id prefix is the client's to choose,
/// so origin status must not buy unbounded storage or whole replies; past this, further
/// origins are ordinary seeders.
pub const MAX_ORIGINS: usize = 8;

/// Why a new peer was answered but not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// The swarm holds `max_peers_per_torrent`.
    TorrentFull,
    /// Its address (IPv6: its /64) already has `max_peers_per_address` peers here.
    AddressLimit,
    /// The tracker holds `max_peers` in all.
    TrackerFull,
    /// Its address (IPv6: its /64) has `max_peers_per_address_total` peers in all swarms.
    AddressTotal,
}

impl NotStored {
    pub const ALL: [NotStored; 4] = [
        Self::TorrentFull,
        Self::AddressLimit,
        Self::TrackerFull,
        Self::AddressTotal,
    ];

    pub fn kind(self) -> &'static str {
        match self {
            Self::TorrentFull => "torrent_full",
            Self::AddressLimit => "address_limit",
            Self::TrackerFull => "tracker_full",
            Self::AddressTotal => "address_total",
        }
    }
}

/// The caps one announce is checked against. A plain `usize` is a swarm cap alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most peers in this swarm.
    pub max_peers: usize,
    /// Most peers in this swarm behind one address (IPv6: one /64).
    pub per_address: usize,
    /// The whole tracker is at its peer cap: no new peer is stored.
    pub tracker_full: bool,
}

impl From<usize> for Caps {
    fn from(max_peers: usize) -> Self {
        Self {
            max_peers,
            per_address: usize::MAX,
            tracker_full: false,
        }
    }
}

/// Net change in stored peers, for the global gauges: `[ipv4, ipv6]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    pub seeders: [i64; 2],
    pub leechers: [i64; 2],
    /// This announce counted a completed download.
    pub completed: bool,
    /// The announcer was new and a cap kept it out of the swarm.
    pub not_stored: Option<NotStored>,
}

impl Change {
    /// Net peers added (negative: removed).
    pub fn peers(&self) -> i64 {
        self.seeders.iter().chain(&self.leechers).sum()
    }
}

impl Change {
    pub fn add(&mut self, o: &Change) {
        for f in 0..2 {
            self.seeders[f] += o.seeders[f];
            self.leechers[f] += o.leechers[f];
        }
    }
}

/// One announce, reduced to what the swarm needs.
#[derive(Debug, Clone, Copy)]
pub struct PeerAnnounce {
    /// The peer's address: client IP (canonical) and its announced port.
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    pub event: Event,
    pub seeder: bool,
    /// The announcer is one of the content provider's origins (by address or peer id).
    pub origin: bool,
    /// ... recognised by its configured address (`origin_peers`), not only by a peer id
    /// prefix, which any client can send: only such an origin passes
    /// `max_peers_per_address_total` (an origin seeds every release).
    pub origin_by_address: bool,
    pub now: u32,
}

impl PeerAnnounce {
    fn role(&self) -> Role {
        match (self.seeder, self.origin) {
            (false, _) => Role::Leecher,
            (true, false) => Role::Seeder,
            (true, true) => Role::Origin,
        }
    }
}

/// Where the announcer ended up, so its reply can leave it out.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub v6: bool,
    pub pos: Option<usize>,
    pub seeder: bool,
    pub stopped: bool,
}

/// A swarm's IPv6 peers, in its IPv4 list's rarely used box: most swarms never see one.
type V6 = Option<PeerList<[u8; 18]>>;

impl Extra for V6 {
    fn is_unused(&self) -> bool {
        self.as_ref().is_none_or(PeerList::is_empty)
    }
}

/// All peers of one torrent. 40 bytes, so a torrent's map slot with its key is 64
/// (`swarm_is_forty_bytes`): the completed count is the list's `tally`, the IPv6
/// peers sit in its rare box.
#[derive(Debug, Default)]
pub struct Swarm {
    v4: PeerList<[u8; 6], V6>,
}

impl Swarm {
    fn v6(&self) -> Option<&PeerList<[u8; 18]>> {
        self.v4.more().and_then(Option::as_ref)
    }

    /// `f` of the IPv6 list, or 0 without one.
    fn v6_count(&self, f: impl Fn(&PeerList<[u8; 18]>) -> usize) -> usize {
        self.v6().map_or(0, f)
    }

    fn drop_empty_v6(&mut self) {
        if self.v4.more().is_some_and(Extra::is_unused) {
            *self.v4.more_mut() = None;
        }
        self.v4.tidy();
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6_count(PeerList::len) == 0
    }

    pub fn peer_count(&self) -> usize {
        self.v4.len() + self.v6_count(PeerList::len)
    }

    /// Panics unless both lists are consistent; see `PeerList::check_invariants`.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.v4.check_invariants();
        if let Some(v6) = self.v6() {
            v6.check_invariants();
        }
    }

    pub fn stats(&self) -> ScrapeStats {
        ScrapeStats {
            complete: (self.v4.seeders() + self.v6_count(PeerList::seeders)) as u32,
            incomplete: (self.v4.leechers() + self.v6_count(PeerList::leechers)) as u32,
            downloaded: self.v4.tally,
        }
    }

    /// Sets the completed-download count (restored from persistent state).
    pub fn set_downloaded(&mut self, n: u32) {
        self.v4.tally = n;
    }

    /// Applies one announce. `caps` bound the swarm: a new peer past one is answered but
    /// not stored, unless it is one of the first [`MAX_ORIGINS`] origin seeders. Peers
    /// already stored are always updated, so a full swarm keeps those that re-announce.
    /// `keep_id` stores the peer id for non-compact replies. `holders` counts stored
    /// peers per address across swarms and may refuse a new one.
    pub fn announce(
        &mut self,
        a: &PeerAnnounce,
        caps: impl Into<Caps>,
        keep_id: bool,
        holders: &impl Holders,
    ) -> (Change, Placed) {
        let caps = caps.into();
        let full = if caps.tracker_full {
            Some(NotStored::TrackerFull)
        } else {
            (self.peer_count() >= caps.max_peers).then_some(NotStored::TorrentFull)
        };
        let gate = Gate {
            full,
            per_address: caps.per_address,
            holders,
        };
        let (change, pos, was_seeder) = match a.addr {
            SocketAddr::V4(s) => update(&mut self.v4, compact_v4(&s), a, &gate, keep_id, 0),
            SocketAddr::V6(s) => {
                let list = self.v4.more_mut().get_or_insert_with(PeerList::default);
                let r = update(list, compact_v6(&s), a, &gate, keep_id, 1);
                self.drop_empty_v6();
                r
            }
        };
        let mut change = change;
        // A client may send `completed` again (retries, restarts): only a leecher that
        // turns into a seeder counts as a download.
        if a.event == Event::Completed && a.seeder && !was_seeder {
            self.v4.tally = self.v4.tally.saturating_add(1);
            change.completed = true;
        }
        let placed = Placed {
            v6: a.addr.is_ipv6(),
            pos,
            seeder: a.seeder,
            stopped: a.event == Event::Stopped,
        };
        (change, placed)
    }

    /// Hands `sink` the peers of the reply for the announcer in `placed`. Only peers of
    /// the announcer's own family are sent. A leecher gets the origin seeders first, then
    /// a random sample of everyone else; a seeder gets leechers only. Returns how many
    /// origins were handed out.
    pub fn write_peers<R: Rng, S: PeerSink>(
        &self,
        placed: &Placed,
        numwant: usize,
        rng: &mut R,
        sink: &mut S,
    ) -> usize {
        let want = if placed.stopped { 0 } else { numwant };
        if placed.v6 {
            match self.v6() {
                Some(l) => put_peers(l, placed, want, true, rng, sink),
                None => put_peers(&PeerList::<[u8; 18]>::default(), placed, 0, true, rng, sink),
            }
        } else {
            put_peers(&self.v4, placed, want, false, rng, sink)
        }
    }

    /// Drops the peers `expiry` names, releasing each from `holders`.
    pub fn expire(&mut self, expiry: Expiry, holders: &impl Holders) -> Change {
        let release = |h| holders.release(h);
        let (s4, l4) = self.v4.expire(expiry, release);
        let (s6, l6) = match self.v6().is_some() {
            // Only a swarm with IPv6 peers has the box; asking `more_mut` would make it.
            true => self
                .v4
                .more_mut()
                .as_mut()
                .map_or((0, 0), |l| l.expire(expiry, release)),
            false => (0, 0),
        };
        self.drop_empty_v6();
        Change {
            seeders: [-(s4 as i64), -(s6 as i64)],
            leechers: [-(l4 as i64), -(l6 as i64)],
            ..Change::default()
        }
    }

    /// Every stored peer's address and role, for diagnostics and persistence.
    pub fn addrs(&self) -> impl Iterator<Item = (SocketAddr, Role)> + '_ {
        let v4 =
            (0..self.v4.len()).map(|i| (self.v4.get(i).addr.socket_addr(), self.v4.role_at(i)));
        let v6 = self
            .v6()
            .into_iter()
            .flat_map(|l| (0..l.len()).map(move |i| (l.get(i).addr.socket_addr(), l.role_at(i))));
        v4.chain(v6)
    }

    /// Adds a peer restored from saved state, last seen at `now`, under the same caps
    /// as an announce (a file saved under looser settings must not bring back what the
    /// current ones keep out); a peer already present is skipped. Its id is unknown:
    /// with `keep_id` it gets [`UNKNOWN_ID`], which replies leave out. Returns the
    /// change for the gauges.
    pub fn restore(
        &mut self,
        addr: SocketAddr,
        role: Role,
        now: u32,
        caps: impl Into<Caps>,
        keep_id: bool,
        holders: &impl Holders,
    ) -> Change {
        let a = PeerAnnounce {
            addr,
            peer_id: UNKNOWN_ID,
            event: Event::None,
            seeder: role != Role::Leecher,
            origin: role == Role::Origin,
            // What vouched for it then is not known now: counted like any peer.
            origin_by_address: false,
            now,
        };
        let present = match addr {
            SocketAddr::V4(s) => self.v4.find(&compact_v4(&s)).is_some(),
            SocketAddr::V6(s) => self.v6().and_then(|l| l.find(&compact_v6(&s))).is_some(),
        };
        if present {
            return Change::default();
        }
        self.announce(&a, caps, keep_id, holders).0
    }
}

/// Which positions of one family's list go into a reply, never the announcer's own. A
/// leecher gets up to `want` origins, then a random sample of everyone else. A seeder
/// gets leechers first, then, while `want` is not met, origins and other seeders: a
/// client that does not know `left` yet (a magnet link before its metadata: aria2
/// announces `left=0`) must still find the origin, and in a swarm of seeders a seeder
/// gets peers that drop it at once at worst.
struct Pick {
    /// (positions, how many to sample from them); unused parts are empty.
    parts: [(std::ops::Range<usize>, usize); 3],
    /// How many of the picked are origins.
    origins: usize,
    exclude: Option<usize>,
}

impl Pick {
    fn new<A: CompactAddr, X: Extra>(l: &PeerList<A, X>, placed: &Placed, want: usize) -> Self {
        let (o, s, n) = (l.origins(), l.seeders(), l.len());
        let ranges = if placed.seeder {
            [s..n, 0..o, o..s]
        } else {
            [0..o, o..n, 0..0]
        };
        let mut left = want;
        let parts = ranges.map(|r| {
            let k = l.sample_len(r.clone(), placed.pos, left);
            left -= k;
            (r, k)
        });
        let origins = parts
            .iter()
            .filter(|(r, _)| r.start == 0 && r.end == o && o > 0)
            .map(|(_, k)| *k)
            .sum();
        Self {
            parts,
            origins,
            exclude: placed.pos,
        }
    }

    fn len(&self) -> usize {
        self.parts.iter().map(|(_, k)| k).sum()
    }

    fn each<A: CompactAddr, X: Extra, R: Rng>(
        &self,
        l: &PeerList<A, X>,
        rng: &mut R,
        mut f: impl FnMut(usize),
    ) {
        for (r, k) in &self.parts {
            l.sample(r.clone(), self.exclude, *k, rng, &mut f);
        }
    }
}

fn put_peers<A: CompactAddr, X: Extra, R: Rng, S: PeerSink>(
    l: &PeerList<A, X>,
    placed: &Placed,
    want: usize,
    v6: bool,
    rng: &mut R,
    sink: &mut S,
) -> usize {
    let pick = Pick::new(l, placed, want);
    sink.begin(v6, pick.len());
    // Ids are sent when asked for and kept (see `keep_id`); a restored peer's is unknown.
    let ids = sink.wants_ids();
    pick.each(l, rng, |i| {
        let id = if ids {
            l.peer_id(i).filter(|id| **id != UNKNOWN_ID)
        } else {
            None
        };
        sink.peer(&l.get(i).addr, id);
    });
    pick.origins
}

/// What a new peer must pass to be stored; peers already stored pass nothing.
struct Gate<'a, H> {
    /// The swarm or the tracker is full.
    full: Option<NotStored>,
    /// Most peers of one holder in this swarm.
    per_address: usize,
    /// Counts of holders across swarms.
    holders: &'a H,
}

fn update<A: CompactAddr, X: Extra, H: Holders>(
    list: &mut PeerList<A, X>,
    addr: A,
    a: &PeerAnnounce,
    gate: &Gate<'_, H>,
    keep_id: bool,
    family: usize,
) -> (Change, Option<usize>, bool) {
    let mut c = Change::default();
    let found = list.find(&addr);
    let mut new_role = a.role();
    if new_role == Role::Origin
        && list.origins() >= MAX_ORIGINS
        && found.is_none_or(|i| list.role_at(i) != Role::Origin)
    {
        new_role = Role::Seeder;
    }
    // Only an origin that gets the origin role may pass the caps.
    let capped = new_role != Role::Origin;
    let full = gate.full.filter(|_| capped);
    let role = |c: &mut Change, seeder: bool, d: i64| {
        if seeder {
            c.seeders[family] += d;
        } else {
            c.leechers[family] += d;
        }
    };
    match found {
        Some(i) => {
            let was = list.is_seeder_at(i);
            if a.event == Event::Stopped {
                gate.holders.release(list.remove(i).addr.holder());
                role(&mut c, was, -1);
                return (c, None, was);
            }
            list.touch(i, keep_id.then_some(a.peer_id), a.now);
            let pos = list.set_role(i, new_role);
            if was != a.seeder {
                role(&mut c, was, -1);
                role(&mut c, a.seeder, 1);
            }
            (c, Some(pos), was)
        }
        None if a.event == Event::Stopped => (c, None, false),
        None if full.is_some() => {
            c.not_stored = full;
            (c, None, false)
        }
        // One host (IPv6: one /64) may not fill a swarm with the ports of one address
        // and push real peers out of every reply.
        None if capped && list.holder_has(&addr, gate.per_address) => {
            c.not_stored = Some(NotStored::AddressLimit);
            (c, None, false)
        }
        // Last, so that an admitted peer is always stored and its count balances.
        None if !gate.holders.admit(
            addr.holder(),
            !(new_role == Role::Origin && a.origin_by_address),
        ) =>
        {
            c.not_stored = Some(NotStored::AddressTotal);
            (c, None, false)
        }
        None => {
            let pos = list.insert(
                Peer::new(addr, a.now),
                keep_id.then_some(a.peer_id),
                new_role,
            );
            role(&mut c, a.seeder, 1);
            (c, Some(pos), false)
        }
    }
}

/// The socket address a peer is stored under: the client's IP and its announced port.
pub fn peer_addr(ip: IpAddr, port: u16) -> SocketAddr {
    match ip {
        IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, 0)),
    }
}
