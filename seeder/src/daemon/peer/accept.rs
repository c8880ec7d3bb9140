//! A new connection: read the handshake (turning strangers away at the first wrong
//! byte), find the torrent, admit the peer within the limits, say what we have, then run
//! the reader and writer until either ends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use seedline_common::per_address::Slot;
use seedline_common::wire::{Bitfield, ExtendedHandshake, Handshake, HANDSHAKE_LEN};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::cipher_io::{CipherRead, CipherWrite};
use super::conn::Conn;
use super::encryption;
use super::handshakes::HandshakePlace;
use super::reader;
use super::session::{Limits, Session, UT_METADATA_ID};
use super::transport::PeerStream;
use super::writer;
use crate::daemon::config::Config;
use crate::daemon::reason::Disconnect;
use crate::daemon::shared::Shared;
use crate::daemon::super_seed::SuperSeed;
use crate::daemon::torrent::Torrent;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a connection holds from accept: its address's place (for its whole life) and a
/// handshake place (given back once the handshake is read, or taken by a newer
/// connection when all are in use).
pub struct Place {
    slot: Slot,
    handshake: HandshakePlace,
}

impl Place {
    /// The places for a new connection from `addr`, or `None` (counted) if its address
    /// is at its cap.
    pub fn take(shared: &Shared, addr: SocketAddr) -> Option<Self> {
        let Some(slot) = shared.per_address.try_open(addr.ip()) else {
            shared.metrics.connections_total.inc();
            shared
                .metrics
                .disconnects
                .with_label_values(&[Disconnect::AddressLimit.label()])
                .inc();
            return None;
        };
        let (handshake, _) = shared.handshakes.take();
        Some(Self { slot, handshake })
    }
}

/// Serves one accepted connection to its end, counting why it ended.
pub async fn handle_connection<S: PeerStream>(
    stream: S,
    addr: SocketAddr,
    place: Place,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    shared.metrics.connections_total.inc();
    shared
        .metrics
        .connections_by_transport
        .with_label_values(&[S::LABEL])
        .inc();
    let why = tokio::select! {
        why = serve(stream, addr, place, &shared) => why,
        () = shutdown.cancelled() => Disconnect::Shutdown,
    };
    tracing::debug!(peer = %addr, transport = S::LABEL, reason = why.label(), "peer disconnected");
    shared
        .metrics
        .disconnects
        .with_label_values(&[why.label()])
        .inc();
}

async fn serve<S: PeerStream>(
    mut stream: S,
    addr: SocketAddr,
    place: Place,
    shared: &Arc<Shared>,
) -> Disconnect {
    let timeout = Config::secs(shared.cfg.handshake_timeout);
    // The first bytes (an encrypted handshake if they are one), then the BitTorrent
    // handshake through the connection's cipher, all within the handshake timeout.
    let handshake = async move {
        let opened = encryption::open(&mut stream, addr.ip(), shared).await?;
        let (decrypt, encrypt) = match opened.ciphers {
            Some((d, e)) => (Some(d), Some(e)),
            None => (None, None),
        };
        let (rd, wr) = stream.into_halves();
        let mut rd = CipherRead::new(rd, decrypt);
        let wr = CipherWrite::new(wr, encrypt);
        let mut buf = opened.received;
        let theirs = read_handshake(&mut rd, &mut buf).await?;
        if opened.info_hash.is_some_and(|ih| ih != theirs.info_hash) {
            return Err(Disconnect::MseInfoHashMismatch);
        }
        Ok::<_, Disconnect>((rd, wr, buf, theirs, opened.method))
    };
    let read = tokio::select! {
        r = tokio::time::timeout(timeout, handshake) => r,
        () = place.handshake.evicted() => return Disconnect::HandshakeEvicted,
    };
    let (mut rd, mut wr, mut buf, theirs, method) = match read {
        Err(_) => return Disconnect::HandshakeTimeout,
        Ok(Err(why)) => return why,
        Ok(Ok(h)) => h,
    };
    shared
        .metrics
        .connections_encrypted
        .with_label_values(&[method])
        .inc();
    // Past the handshake: the address's place is kept until the connection ends.
    let Place {
        slot: _slot,
        handshake,
    } = place;
    drop(handshake);
    let _ = buf.split_to(HANDSHAKE_LEN);
    let Some(torrent) = shared.torrent(&theirs.info_hash).filter(|t| t.is_serving()) else {
        return Disconnect::UnknownTorrent;
    };
    // Taken before the bitfield, so damage found after it still ends the connection; if
    // the torrent stopped being served since the check above, it has fired already.
    let serving = torrent.serving_token();
    let Some(_admission) = Admission::new(shared, &torrent) else {
        return Disconnect::PeerLimit;
    };
    let fast = theirs.supports_fast();
    // Subscribed before the bitfield is taken, so no piece proven later is missed.
    let progress = torrent.progress.subscribe();
    // A super-seed claims nothing and offers a few pieces with `have` instead.
    let super_seeding = torrent.super_seed.is_some();
    let advertised = if super_seeding {
        Bitfield::new(torrent.piece_count())
    } else {
        torrent.bitfield()
    };
    let limits = Limits::from(&shared.cfg);
    let mut session = Session::new(fast, super_seeding, limits, advertised, Instant::now());
    let extended = theirs.supports_extensions().then(|| {
        let mut payload = Vec::new();
        extended_handshake(shared, &torrent, addr).encode(&mut payload);
        payload
    });
    session.open(extended.as_deref());
    let conn = Arc::new(Conn::new(
        NEXT_ID.fetch_add(1, Ordering::Relaxed),
        addr,
        torrent.clone(),
        session,
        shared.peer_memory(&torrent),
    ));
    let super_seed = torrent
        .super_seed
        .as_ref()
        .map(|ss| Joined { ss, id: conn.id });
    if let Some(j) = &super_seed {
        let offers = j.ss.join(j.id, |i| torrent.advertised(i));
        conn.with(|s| s.offer(&offers));
        shared.metrics.super_seed_offers.inc_by(offers.len() as u64);
    }
    // The handshake goes out on its own, before the session's opening messages:
    // Transmission 3.00 over uTP loses whatever shares a packet with the end of the
    // handshake (our `have_all` with it, so it never became interested). Over uTP the
    // first flush waits for the ack (see `transport::UtpWrite`).
    let (answer, v2) = torrent.answer(&theirs);
    let mut hello = Handshake::new(answer, shared.peer_id);
    if torrent.info_hash_v2.is_some() {
        hello = hello.with_v2();
    }
    shared
        .metrics
        .connections_by_swarm
        .with_label_values(&[if v2 { "v2" } else { "v1" }])
        .inc();
    let hello = hello.encode();
    if let Err(why) = writer::write_within(&mut wr, &hello, shared).await {
        return why;
    }
    shared.choker.add(conn.clone());
    let why = tokio::select! {
        why = reader::run(&conn, shared, &mut rd, buf) => why,
        why = writer::run(&conn, shared, &mut wr, progress) => why,
        () = torrent.token.cancelled() => Disconnect::Removed,
        () = serving.cancelled() => Disconnect::NotServed,
    };
    shared.choker.remove(&conn);
    why
}

async fn read_handshake<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut BytesMut,
) -> Result<Handshake, Disconnect> {
    loop {
        match Handshake::decode(buf) {
            Ok(Some(h)) => return Ok(h),
            Ok(None) => {}
            // With `encryption = off`, most often an encrypted handshake: closing at
            // once makes the client retry in plain text.
            Err(_) if looks_encrypted(buf) => return Err(Disconnect::Encrypted),
            Err(_) => return Err(Disconnect::NotBittorrent),
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err(Disconnect::Closed),
            Ok(_) => {}
            Err(_) => return Err(Disconnect::Io),
        }
    }
}

/// Whether bytes that are not a BitTorrent handshake look like an MSE/PE one (BEP 8's
/// draft): it opens with a 96-byte Diffie-Hellman key, random bytes, where a plain
/// handshake opens with 19 and other protocols (HTTP, a port scanner's probe) mostly
/// with text.
fn looks_encrypted(buf: &[u8]) -> bool {
    buf.first() != Some(&19) && buf.iter().take(32).any(|b| !b.is_ascii())
}

fn extended_handshake(shared: &Shared, t: &Torrent, addr: SocketAddr) -> ExtendedHandshake {
    let mut h = ExtendedHandshake {
        p: Some(i64::from(shared.port)),
        v: Some(
            concat!("Seedline ", env!("CARGO_PKG_VERSION"))
                .as_bytes()
                .to_vec(),
        ),
        reqq: Some(shared.cfg.max_requests_per_peer as i64),
        yourip: Some(match addr.ip() {
            std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
            std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
        }),
        ..Default::default()
    };
    // BEP 27 clients do not swap metadata of private torrents with strangers.
    if !t.info.private {
        h.m.insert("ut_metadata".into(), i64::from(UT_METADATA_ID));
        h.metadata_size = Some(t.info_bytes.len() as i64);
    }
    h
}

/// A peer known to a torrent's super-seeding state, forgotten on drop whichever way the
/// connection ends.
struct Joined<'a> {
    ss: &'a SuperSeed,
    id: u64,
}

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        self.ss.leave(self.id);
    }
}

/// A counted place among the connected peers, given back on drop.
struct Admission<'a> {
    shared: &'a Shared,
    torrent: &'a Torrent,
}

impl<'a> Admission<'a> {
    fn new(shared: &'a Shared, torrent: &'a Torrent) -> Option<Self> {
        let total = shared.peers.fetch_add(1, Ordering::AcqRel);
        let here = torrent.peers.fetch_add(1, Ordering::AcqRel);
        let a = Self { shared, torrent };
        shared.metrics.peers_connected.inc();
        (total < shared.cfg.max_peers && here < shared.cfg.max_peers_per_torrent).then_some(a)
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.shared.peers.fetch_sub(1, Ordering::AcqRel);
        self.torrent.peers.fetch_sub(1, Ordering::AcqRel);
        self.shared.metrics.peers_connected.dec();
    }
}
