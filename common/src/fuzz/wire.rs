//! `peer_wire` and `ut_metadata` targets: everything a remote peer's bytes go through.
//! A message that decodes spans no more than the buffer, re-encodes to exactly its
//! frame, and is `None` (need more bytes) when any byte of it is missing; payloads that
//! decode (bitfields, BEP 10 handshakes, BEP 9 messages) survive a round trip.

use crate::wire::{
    frame_len, Bitfield, ExtendedHandshake, FrameLimits, Handshake, Message, MetadataMessage,
    EXTENDED_HANDSHAKE_ID, HANDSHAKE_LEN, MAX_BLOCK_LEN, MAX_EXTENDED_LEN,
};

pub fn peer_wire(data: &[u8]) {
    if let Ok(Some(h)) = Handshake::decode(data) {
        assert_eq!(h.encode()[..], data[..HANDSHAKE_LEN]);
    }
    // The first byte sizes the bitfield cap, as the piece count of a torrent does.
    let pieces = u32::from(data.first().copied().unwrap_or(0)) * 8 + 3;
    let limits = FrameLimits {
        bitfield: pieces.div_ceil(8) + 1,
        extended: MAX_EXTENDED_LEN,
        other: 9 + MAX_BLOCK_LEN + 1024,
    };
    for at in 0..data.len() {
        message(&data[at..], limits, pieces);
    }
    // The stream as a reader consumes it: one message after another.
    let mut rest = data;
    while let Ok(Some((_, used))) = Message::decode(rest, u32::MAX) {
        rest = &rest[used..];
    }
}

pub fn ut_metadata(data: &[u8]) {
    if let Ok(m) = MetadataMessage::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(MetadataMessage::decode(&out), Ok(m));
    }
}

fn message(buf: &[u8], limits: FrameLimits, pieces: u32) {
    let Ok(Some((msg, used))) = Message::decode(buf, limits) else {
        return;
    };
    assert!(
        used <= buf.len(),
        "message claims {used} of {} bytes",
        buf.len()
    );
    assert_eq!(frame_len(buf, limits), Ok(Some(used)));
    let mut out = Vec::new();
    msg.encode(&mut out);
    assert_eq!(out, &buf[..used], "{msg:?} re-encodes differently");
    for cut in [0, 1, 4, 5, used - 1] {
        if cut < used {
            assert_eq!(
                Message::decode(&buf[..cut], limits),
                Ok(None),
                "cut at {cut}"
            );
        }
    }
    match msg {
        Message::Bitfield(bits) => bitfield(bits, pieces),
        Message::Extended { id, payload } if id == EXTENDED_HANDSHAKE_ID => {
            if let Ok(h) = ExtendedHandshake::decode(payload) {
                let mut out = Vec::new();
                h.encode(&mut out);
                assert_eq!(ExtendedHandshake::decode(&out), Ok(h));
            }
        }
        Message::Extended { payload, .. } => ut_metadata(payload),
        _ => {}
    }
}

fn bitfield(bits: &[u8], pieces: u32) {
    // Also the exact fit, so spare bits are checked and not only the length.
    let exact = u32::try_from(bits.len() * 8).unwrap_or(u32::MAX);
    for pieces in [pieces, exact, exact.saturating_sub(5)] {
        let Ok(b) = Bitfield::from_payload(bits, pieces) else {
            continue;
        };
        assert_eq!(b.as_bytes(), bits);
        assert_eq!(b.len(), pieces);
        assert_eq!(b.count(), (0..pieces).filter(|&i| b.has(i)).count() as u32);
    }
}
