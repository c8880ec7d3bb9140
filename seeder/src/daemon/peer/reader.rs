//! The receiving half of a connection: every message is length-checked before its body
//! is buffered, requests are validated, and anything malformed ends the connection.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use seedline_common::wire::{
    Bitfield, BlockRequest, ExtendedHandshake, FrameLimits, Message, MetadataMessage,
    EXTENDED_HANDSHAKE_ID, MAX_BLOCK_LEN, MAX_EXTENDED_LEN,
};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::conn::Conn;
use crate::daemon::reason::{Disconnect, Rejection};
use crate::daemon::shared::Shared;

/// The id we receive `ut_metadata` messages under (our extended handshake says so).
pub const UT_METADATA_ID: u8 = 1;

/// Largest message we accept apart from bitfields and extended messages: a `piece`
/// message carrying a block, which a seed never needs but a confused peer may send.
const MAX_MESSAGE: u32 = 9 + MAX_BLOCK_LEN + 1024;

/// A read buffer left larger than this by one big frame (a bitfield of a torrent with
/// many pieces) is given back once it is empty, instead of kept for the connection's life.
const KEEP_READ_BUFFER: usize = 64 * 1024;

/// What the reader learned that outlives one message.
#[derive(Default)]
struct PeerView {
    /// The id the peer wants `ut_metadata` under, from its extended handshake.
    metadata_id: Option<u8>,
    have: Option<Bitfield>,
    /// Requests refused in a row (choked, or for pieces it may not have): a few are
    /// races, a stream of them is abuse, and every one costs a `reject` in the outbox.
    refused_in_row: usize,
    have_nones: u32,
    /// Interest changes since a block was last sent to the peer. A super-seed's
    /// leecher changes its mind at every offered piece and gets the piece in between; a
    /// flood of changes gets nothing (a request it slips in is dropped by the choke its
    /// own `not_interested` causes).
    interest_changes: u32,
    /// `Conn::blocks_sent` when `interest_changes` was last reset.
    blocks_seen: u64,
}

impl PeerView {
    /// Counts one `have_none` or `have_all`; `Err` past `max`. Each costs a pass over
    /// every piece (a new bitfield, and super-seeding recounts rarity) for five bytes. A
    /// `bitfield` costs the same pass but carries a bit per piece, so its cost follows
    /// its size, and aria2 sends a dozen in one download: not counted.
    fn have_none(&mut self, max: u32) -> Result<(), Disconnect> {
        self.have_nones += 1;
        if self.have_nones > max {
            tracing::debug!(count = self.have_nones, "have_none again and again");
            return Err(Disconnect::Flood);
        }
        Ok(())
    }

    /// Counts one change of interest; `Err` past `max` of them without a block sent in
    /// between (`blocks_sent`: the connection's count).
    fn interest_changed(&mut self, blocks_sent: u64, max: u32) -> Result<(), Disconnect> {
        if blocks_sent != self.blocks_seen {
            self.blocks_seen = blocks_sent;
            self.interest_changes = 0;
        }
        self.interest_changes += 1;
        if self.interest_changes > max {
            tracing::debug!(count = self.interest_changes, "interest changed too often");
            return Err(Disconnect::Flood);
        }
        Ok(())
    }
}

/// Reads until the peer leaves or misbehaves; returns the disconnect reason. `rd` is the
/// socket's read half (or, when fuzzing, a byte slice).
pub async fn run<R: AsyncRead + Unpin>(
    conn: &Arc<Conn>,
    shared: &Shared,
    rd: &mut R,
    mut buf: BytesMut,
) -> Disconnect {
    let t = &conn.torrent;
    // Only the bitfield grows with the torrent; everything else keeps a fixed cap.
    let max_len = FrameLimits {
        bitfield: t.piece_count().div_ceil(8) + 1,
        extended: MAX_EXTENDED_LEN,
        other: MAX_MESSAGE,
    };
    let idle = crate::daemon::config::Config::secs(shared.cfg.idle_timeout);
    let mut view = PeerView::default();
    loop {
        loop {
            match Message::decode(&buf, max_len) {
                Ok(Some((msg, used))) => {
                    if let Err(why) = handle(conn, shared, &mut view, msg) {
                        return why;
                    }
                    if conn.over_budget() {
                        // Asking for replies (metadata, rejects) without reading them.
                        return Disconnect::MemoryBudget;
                    }
                    let _ = buf.split_to(used);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(peer = %conn.addr, error = %e, "bad message");
                    return Disconnect::Protocol;
                }
            }
        }
        // The frame's length is known and bounded by now: reserve just what it needs.
        let want = match seedline_common::wire::frame_len(&buf, max_len) {
            Ok(Some(total)) => total.saturating_sub(buf.len()).max(4096),
            _ => 16 * 1024,
        };
        if buf.is_empty() && buf.capacity() > KEEP_READ_BUFFER {
            buf = BytesMut::new();
        }
        buf.reserve(want);
        if conn.memory.set_read(buf.capacity()) {
            // A quiet peer sends no message to be counted after: count it here.
            conn.memory_held();
        }
        match tokio::time::timeout(idle, rd.read_buf(&mut buf)).await {
            Err(_) => return Disconnect::Idle,
            Ok(Ok(0)) => return Disconnect::Closed,
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Disconnect::Io,
        }
    }
}

fn handle(
    conn: &Arc<Conn>,
    shared: &Shared,
    view: &mut PeerView,
    msg: Message<'_>,
) -> Result<(), Disconnect> {
    let t = &conn.torrent;
    let m = &shared.metrics;
    match msg {
        // A repeated `interested` changes nothing and costs nothing; a `not_interested`
        // always counts, since each one may move a super-seed's offers.
        Message::Interested if conn.interested.load(Ordering::Acquire) => {}
        Message::Interested => {
            view.interest_changed(
                conn.blocks_sent.load(Ordering::Acquire),
                shared.cfg.max_interest_changes,
            )?;
            shared.choker.interested(conn);
        }
        Message::NotInterested => {
            view.interest_changed(
                conn.blocks_sent.load(Ordering::Acquire),
                shared.cfg.max_interest_changes,
            )?;
            shared.choker.not_interested(conn);
            conn.super_seed(m, |ss, id, servable| ss.withdraw(id, None, servable));
        }
        Message::Request(r) => request(conn, shared, view, r)?,
        Message::Cancel(r) => conn.cancel(r),
        Message::Bitfield(bits) => {
            // Late or repeated bitfields replace the old one rather than end the
            // connection: some clients send one after their extended handshake, aria2
            // a dozen during a download.
            let b =
                Bitfield::from_payload(bits, t.piece_count()).map_err(|_| Disconnect::Protocol)?;
            conn.super_seed(m, |ss, id, servable| ss.bitfield(id, &b, servable));
            view.have = Some(b);
        }
        Message::HaveAll => {
            view.have_none(shared.cfg.max_bitfield_resets)?;
            view.have = Some(Bitfield::full(t.piece_count()));
        }
        Message::HaveNone => {
            view.have_none(shared.cfg.max_bitfield_resets)?;
            let b = Bitfield::new(t.piece_count());
            conn.super_seed(m, |ss, id, servable| ss.bitfield(id, &b, servable));
            view.have = Some(b);
        }
        Message::Have(i) => {
            if i >= t.piece_count() {
                return Err(Disconnect::Protocol);
            }
            view.have
                .get_or_insert_with(|| Bitfield::new(t.piece_count()))
                .set(i);
            conn.super_seed(m, |ss, id, servable| ss.have(id, i, servable));
        }
        Message::Extended { id, payload } => extended(conn, shared, view, id, payload)?,
        Message::Piece { .. } => {
            m.requests_rejected
                .with_label_values(&[Rejection::Protocol.label()])
                .inc();
        }
        Message::KeepAlive
        | Message::Choke
        | Message::Unchoke
        | Message::Port(_)
        | Message::Suggest(_)
        | Message::Reject(_)
        | Message::AllowedFast(_)
        | Message::Unknown { .. } => {}
    }
    // Two seeds have nothing to say to each other.
    if view
        .have
        .as_ref()
        .is_some_and(|b| b.is_full() && !b.is_empty())
    {
        return Err(Disconnect::Seed);
    }
    Ok(())
}

fn request(
    conn: &Conn,
    shared: &Shared,
    view: &mut PeerView,
    r: BlockRequest,
) -> Result<(), Disconnect> {
    let t = &conn.torrent;
    let rejected = |why: Rejection| conn.reject(r, why, &shared.metrics);
    let in_range = r.index < t.piece_count() && r.length > 0 && r.length <= MAX_BLOCK_LEN && {
        let piece = t.piece_range(r.index);
        u64::from(r.begin) + u64::from(r.length) <= piece.end - piece.start
    };
    if !in_range {
        shared
            .metrics
            .requests_rejected
            .with_label_values(&[Rejection::BadRequest.label()])
            .inc();
        return Err(Disconnect::BadRequest);
    }
    let refusal = if !conn.unchoked.load(Ordering::Acquire) {
        // Requests already in flight when we choked are normal.
        Some(Rejection::Choked)
    } else if !conn.may_serve(r.index) {
        Some(Rejection::NotAvailable)
    } else {
        None
    };
    if let Some(why) = refusal {
        view.refused_in_row += 1;
        rejected(why);
        if view.refused_in_row > shared.cfg.max_requests_per_peer {
            return Err(Disconnect::TooManyRequests);
        }
        return Ok(());
    }
    view.refused_in_row = 0;
    if !conn.push_request(r, shared.cfg.max_requests_per_peer) {
        shared
            .metrics
            .requests_rejected
            .with_label_values(&[Rejection::TooManyRequests.label()])
            .inc();
        return Err(Disconnect::TooManyRequests);
    }
    Ok(())
}

fn extended(
    conn: &Conn,
    shared: &Shared,
    view: &mut PeerView,
    id: u8,
    payload: &[u8],
) -> Result<(), Disconnect> {
    let t = &conn.torrent;
    if id == EXTENDED_HANDSHAKE_ID {
        // A handshake we cannot read only means we will not use the peer's extensions.
        if let Ok(h) = ExtendedHandshake::decode(payload) {
            view.metadata_id = h.id_of("ut_metadata");
        }
        return Ok(());
    }
    if id != UT_METADATA_ID || t.info.private {
        return Ok(());
    }
    let msg = MetadataMessage::decode(payload).map_err(|_| Disconnect::Protocol)?;
    let (MetadataMessage::Request { piece }, Some(their_id)) = (msg, view.metadata_id) else {
        return Ok(());
    };
    let mut out = Vec::new();
    match MetadataMessage::piece_of(&t.info_bytes, piece) {
        Some(data) => {
            MetadataMessage::Data {
                piece,
                total_size: t.info_bytes.len() as u32,
                data,
            }
            .encode(&mut out);
            shared.metrics.metadata_pieces_served.inc();
        }
        None => MetadataMessage::Reject { piece }.encode(&mut out),
    }
    conn.send(Message::Extended {
        id: their_id,
        payload: &out,
    });
    Ok(())
}
