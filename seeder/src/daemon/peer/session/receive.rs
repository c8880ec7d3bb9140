//! Bytes in: every message is length-checked before its body is buffered, requests are
//! validated, and anything malformed ends the session with its reason.

use std::time::Instant;

use bytes::{Buf, BytesMut};
use seedline_common::wire::{
    frame_len, Bitfield, BlockRequest, ExtendedHandshake, HashRequest, Message, MetadataMessage,
    EXTENDED_HANDSHAKE_ID, MAX_BLOCK_LEN,
};

use super::{Content, Event, Session, UT_METADATA_ID};
use crate::daemon::reason::{Disconnect, Rejection};

/// What one call to [`Session::receive`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// One message was handled and taken off the buffer.
    Message,
    /// The buffer holds no whole message: read about `want` more bytes (what the
    /// frame's header says it still needs, whose length is bounded by now).
    Incomplete { want: usize },
}

impl Session {
    /// Handles the first message in `buf`, if it holds a whole one, and takes it off.
    /// `Err` is why the connection must close.
    pub fn receive(
        &mut self,
        content: &impl Content,
        buf: &mut BytesMut,
        now: Instant,
    ) -> Result<Received, Disconnect> {
        let used = match Message::decode(buf, self.frames) {
            Ok(Some((msg, used))) => {
                self.handle(content, msg, now)?;
                used
            }
            Ok(None) => {
                let want = match frame_len(buf, self.frames) {
                    Ok(Some(total)) => total.saturating_sub(buf.len()).max(4096),
                    _ => 16 * 1024,
                };
                return Ok(Received::Incomplete { want });
            }
            Err(e) => {
                tracing::debug!(error = %e, "bad message");
                return Err(Disconnect::Protocol);
            }
        };
        buf.advance(used);
        Ok(Received::Message)
    }

    fn handle(
        &mut self,
        content: &impl Content,
        msg: Message<'_>,
        now: Instant,
    ) -> Result<(), Disconnect> {
        let pieces = content.piece_count();
        match msg {
            // A repeated `interested` changes nothing and costs nothing; a
            // `not_interested` always counts, since each one may move a super-seed's
            // offers.
            Message::Interested if self.interested => {}
            Message::Interested => {
                self.peer
                    .interest_changed(self.blocks_sent, self.limits.max_interest_changes)?;
                self.interested = true;
                self.events.push(Event::Interested);
            }
            Message::NotInterested => {
                self.peer
                    .interest_changed(self.blocks_sent, self.limits.max_interest_changes)?;
                self.interested = false;
                self.events.push(Event::NotInterested);
            }
            Message::Request(r) => self.request(content, r, now)?,
            Message::Cancel(r) => self.cancel(r),
            Message::Bitfield(bits) => {
                // Late or repeated bitfields replace the old one rather than end the
                // connection: some clients send one after their extended handshake,
                // aria2 a dozen during a download.
                let b = Bitfield::from_payload(bits, pieces).map_err(|_| Disconnect::Protocol)?;
                self.peer_pieces(b);
            }
            Message::HaveAll => {
                self.peer.have_none(self.limits.max_bitfield_resets)?;
                self.peer.have = Some(Bitfield::full(pieces));
            }
            Message::HaveNone => {
                self.peer.have_none(self.limits.max_bitfield_resets)?;
                self.peer_pieces(Bitfield::new(pieces));
            }
            Message::Have(i) => {
                if i >= pieces {
                    return Err(Disconnect::Protocol);
                }
                self.peer
                    .have
                    .get_or_insert_with(|| Bitfield::new(pieces))
                    .set(i);
                if self.super_seed {
                    self.events.push(Event::PeerHave(i));
                }
            }
            Message::Extended { id, payload } => self.extended(content, id, payload)?,
            Message::HashRequest(r) => self.hash_request(content, r),
            Message::Piece { .. } => self.events.push(Event::Rejected(Rejection::Protocol)),
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Port(_)
            | Message::Suggest(_)
            | Message::Reject(_)
            | Message::AllowedFast(_)
            // A seed asks for no hashes; answers to nothing are ignored.
            | Message::Hashes { .. }
            | Message::HashReject(_)
            | Message::Unknown { .. } => {}
        }
        if self.peer.is_seed() {
            return Err(Disconnect::Seed);
        }
        Ok(())
    }

    /// The peer's pieces are now `b` (a bitfield, or `have_none`).
    fn peer_pieces(&mut self, b: Bitfield) {
        if self.super_seed {
            self.events.push(Event::PeerPieces(b.clone()));
        }
        self.peer.have = Some(b);
    }

    fn request(
        &mut self,
        content: &impl Content,
        r: BlockRequest,
        now: Instant,
    ) -> Result<(), Disconnect> {
        let in_range = r.index < content.piece_count()
            && r.length > 0
            && r.length <= MAX_BLOCK_LEN
            && u64::from(r.begin) + u64::from(r.length) <= content.piece_len(r.index);
        if !in_range {
            self.events.push(Event::Rejected(Rejection::BadRequest));
            return Err(Disconnect::BadRequest);
        }
        let refusal = if !self.unchoked {
            // Requests already in flight when we choked are normal.
            Some(Rejection::Choked)
        } else if !content.may_serve(r.index) {
            Some(Rejection::NotAvailable)
        } else {
            None
        };
        if let Some(why) = refusal {
            self.peer.refused_in_row += 1;
            self.refuse(r, why);
            if self.peer.refused_in_row > self.limits.max_requests_per_peer {
                return Err(Disconnect::TooManyRequests);
            }
            return Ok(());
        }
        self.peer.refused_in_row = 0;
        if self.requests.len() >= self.limits.max_requests_per_peer {
            self.events
                .push(Event::Rejected(Rejection::TooManyRequests));
            return Err(Disconnect::TooManyRequests);
        }
        self.requests.push_back(r);
        self.last_request = now;
        self.wake = true;
        Ok(())
    }

    /// Drops a queued request; with the Fast extension the peer is told (BEP 6 asks for
    /// a `reject` or the block for every cancelled request).
    fn cancel(&mut self, r: BlockRequest) {
        if let Some(pos) = self.requests.iter().position(|q| *q == r) {
            self.requests.remove(pos);
            if self.fast {
                Message::Reject(r).encode(&mut self.control);
                self.wake = true;
            }
        }
    }

    /// BEP 52: the hashes from the torrent's trees, or `hash reject`. An answer can be a
    /// few hundred KiB; a peer that asks without reading passes its memory budget.
    fn hash_request(&mut self, content: &impl Content, r: HashRequest) {
        match content.hashes(&r) {
            Ok(hashes) => {
                Message::Hashes {
                    request: r,
                    hashes: hashes.as_flattened(),
                }
                .encode(&mut self.control);
                self.events.push(Event::HashesServed);
            }
            Err(why) => {
                tracing::debug!(reason = %why, "hash request refused");
                Message::HashReject(r).encode(&mut self.control);
                self.events.push(Event::Rejected(Rejection::Hashes));
            }
        }
        self.wake = true;
    }

    fn extended(
        &mut self,
        content: &impl Content,
        id: u8,
        payload: &[u8],
    ) -> Result<(), Disconnect> {
        if id == EXTENDED_HANDSHAKE_ID {
            // A handshake we cannot read only means we will not use the peer's
            // extensions.
            if let Ok(h) = ExtendedHandshake::decode(payload) {
                self.peer.metadata_id = h.id_of("ut_metadata");
            }
            return Ok(());
        }
        let Some(info) = content.metadata().filter(|_| id == UT_METADATA_ID) else {
            return Ok(());
        };
        let msg = MetadataMessage::decode(payload).map_err(|_| Disconnect::Protocol)?;
        let (MetadataMessage::Request { piece }, Some(their_id)) = (msg, self.peer.metadata_id)
        else {
            return Ok(());
        };
        let mut out = Vec::new();
        match MetadataMessage::piece_of(info, piece) {
            Some(data) => {
                MetadataMessage::Data {
                    piece,
                    total_size: info.len() as u32,
                    data,
                }
                .encode(&mut out);
                self.events.push(Event::MetadataServed);
            }
            None => MetadataMessage::Reject { piece }.encode(&mut out),
        }
        Message::Extended {
            id: their_id,
            payload: &out,
        }
        .encode(&mut self.control);
        self.wake = true;
        Ok(())
    }
}
