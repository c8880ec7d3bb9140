//! The session without sockets: messages in, bytes, work, events and reasons out.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use seedline_common::wire::{
    Bitfield, BlockRequest, ExtendedHandshake, Message, MetadataMessage, MAX_BLOCK_LEN,
};

use super::*;
use crate::daemon::reason::{Disconnect, Rejection};

const PIECES: u32 = 10;
const PIECE_LEN: u64 = 64 * 1024;
/// The last piece is short.
const LAST_LEN: u64 = 1000;

/// A torrent of [`PIECES`] pieces: `proven` may be served and announced.
struct Fake {
    proven: RefCell<Bitfield>,
    metadata: Option<Vec<u8>>,
}

impl Fake {
    fn seed() -> Self {
        Self {
            proven: RefCell::new(Bitfield::full(PIECES)),
            metadata: Some(vec![b'd'; 20_000]),
        }
    }

    fn empty() -> Self {
        Self {
            proven: RefCell::new(Bitfield::new(PIECES)),
            metadata: None,
        }
    }
}

impl Content for Fake {
    fn piece_count(&self) -> u32 {
        PIECES
    }

    fn piece_len(&self, index: u32) -> u64 {
        if index + 1 == PIECES {
            LAST_LEN
        } else {
            PIECE_LEN
        }
    }

    fn may_serve(&self, index: u32) -> bool {
        self.proven.borrow().has(index)
    }

    fn advertised(&self, index: u32) -> bool {
        self.proven.borrow().has(index)
    }

    fn metadata(&self) -> Option<&[u8]> {
        self.metadata.as_deref()
    }

    fn hashes(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal> {
        if req.root == [7; 32] {
            Ok(vec![[1; 32], [2; 32]])
        } else {
            Err(HashRefusal::OutOfTree)
        }
    }
}

const LIMITS: Limits = Limits {
    max_requests_per_peer: 8,
    max_interest_changes: 5,
    max_bitfield_resets: 2,
};

fn session(fast: bool, content: &Fake) -> Session {
    let mut have = Bitfield::new(PIECES);
    for i in 0..PIECES {
        if content.advertised(i) {
            have.set(i);
        }
    }
    Session::new(fast, false, LIMITS, have, Instant::now())
}

fn frame(msg: Message<'_>) -> BytesMut {
    let mut out = Vec::new();
    msg.encode(&mut out);
    BytesMut::from(&out[..])
}

/// Feeds one message; returns what the session said and the events it reported.
fn feed(s: &mut Session, c: &Fake, msg: Message<'_>) -> (Result<Received, Disconnect>, Vec<Event>) {
    let mut buf = frame(msg);
    let r = s.receive(c, &mut buf, Instant::now());
    if r.is_ok() {
        assert!(buf.is_empty(), "a handled message is taken off the buffer");
    }
    (r, s.take_events())
}

/// Feeds one message that the session must take.
fn ok(s: &mut Session, c: &Fake, msg: Message<'_>) {
    assert_eq!(feed(s, c, msg).0, Ok(Received::Message), "{msg:?}");
}

/// The control bytes the writer would send now, decoded.
fn sent(s: &mut Session, c: &Fake) -> Vec<String> {
    let mut batch = Vec::new();
    let mut out = Vec::new();
    while let Work::Control(bytes) = s.next_work(c, &mut batch, u64::MAX) {
        let mut rest = &bytes[..];
        while let Some((msg, used)) = Message::decode(rest, u32::MAX).unwrap() {
            out.push(format!("{msg:?}"));
            rest = &rest[used..];
        }
        s.recycle(bytes);
    }
    out
}

fn req(index: u32, begin: u32, length: u32) -> BlockRequest {
    BlockRequest {
        index,
        begin,
        length,
    }
}

#[test]
fn opening_says_what_we_have_the_way_the_peer_understands() {
    let seed = Fake::seed();
    let mut s = session(true, &seed);
    s.open(None);
    assert!(s.take_wake());
    assert_eq!(sent(&mut s, &seed), ["HaveAll"]);

    let mut s = session(false, &seed);
    s.open(Some(b"de"));
    let out = sent(&mut s, &seed);
    assert!(out[0].starts_with("Bitfield("), "{out:?}");
    assert!(out[1].starts_with("Extended { id: 0"), "{out:?}");

    let empty = Fake::empty();
    let mut s = session(true, &empty);
    s.open(None);
    assert_eq!(sent(&mut s, &empty), ["HaveNone"]);

    // A super-seed claims nothing; without BEP 6 it may say nothing at all.
    let mut s = Session::new(false, true, LIMITS, Bitfield::new(PIECES), Instant::now());
    s.open(None);
    assert!(sent(&mut s, &seed).is_empty());
}

#[test]
fn requests_wait_for_an_unchoke_and_go_out_in_batches() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    let (r, events) = feed(&mut s, &c, Message::Request(req(0, 0, 16384)));
    assert_eq!(r, Ok(Received::Message));
    assert_eq!(events, [Event::Rejected(Rejection::Choked)]);
    assert_eq!(
        sent(&mut s, &c),
        ["Reject(BlockRequest { index: 0, begin: 0, length: 16384 })"]
    );

    assert!(s.set_unchoked(true, Instant::now()));
    assert!(
        !s.set_unchoked(true, Instant::now()),
        "no change, no message"
    );
    assert_eq!(sent(&mut s, &c), ["Unchoke"]);
    for begin in [0, 16384, 32768] {
        let (r, events) = feed(&mut s, &c, Message::Request(req(1, begin, 16384)));
        assert_eq!((r, events), (Ok(Received::Message), vec![]));
    }
    assert!(s.take_wake(), "queued requests wake the writer");
    let mut batch = Vec::new();
    assert_eq!(s.next_work(&c, &mut batch, 32768), Work::Blocks);
    assert_eq!(batch, [req(1, 0, 16384), req(1, 16384, 16384)]);
    assert_eq!(s.next_work(&c, &mut batch, 32768), Work::Blocks);
    assert_eq!(batch, [req(1, 32768, 16384)]);
    assert_eq!(s.next_work(&c, &mut batch, 32768), Work::Idle);
}

#[test]
fn without_bep_6_a_refused_request_is_counted_but_not_answered() {
    let c = Fake::seed();
    let mut s = session(false, &c);
    let (_, events) = feed(&mut s, &c, Message::Request(req(0, 0, 16384)));
    assert_eq!(events, [Event::Rejected(Rejection::Choked)]);
    assert!(sent(&mut s, &c).is_empty());
}

#[test]
fn a_piece_not_proven_is_refused() {
    let c = Fake::empty();
    for i in (0..PIECES).filter(|&i| i != 3) {
        c.proven.borrow_mut().set(i);
    }
    let mut s = session(true, &c);
    s.set_unchoked(true, Instant::now());
    let (r, events) = feed(&mut s, &c, Message::Request(req(3, 0, 16384)));
    assert_eq!(r, Ok(Received::Message));
    assert_eq!(events, [Event::Rejected(Rejection::NotAvailable)]);
}

#[test]
fn a_request_outside_its_piece_ends_the_session() {
    let c = Fake::seed();
    for bad in [
        req(PIECES, 0, 16384),
        req(0, 0, 0),
        req(0, 0, MAX_BLOCK_LEN + 1),
        req(0, PIECE_LEN as u32 - 100, 16384),
        req(PIECES - 1, 0, LAST_LEN as u32 + 1),
        req(0, u32::MAX, 16384),
    ] {
        let mut s = session(true, &c);
        s.set_unchoked(true, Instant::now());
        let (r, events) = feed(&mut s, &c, Message::Request(bad));
        assert_eq!(r, Err(Disconnect::BadRequest), "{bad:?}");
        assert_eq!(events, [Event::Rejected(Rejection::BadRequest)]);
    }
    let mut s = session(true, &c);
    s.set_unchoked(true, Instant::now());
    let last = Message::Request(req(PIECES - 1, 0, LAST_LEN as u32));
    assert_eq!(
        feed(&mut s, &c, last).0,
        Ok(Received::Message),
        "the last byte is fine"
    );
}

#[test]
fn the_request_queue_is_capped() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    s.set_unchoked(true, Instant::now());
    for i in 0..LIMITS.max_requests_per_peer as u32 {
        let (r, _) = feed(&mut s, &c, Message::Request(req(0, i * 16, 16)));
        assert_eq!(r, Ok(Received::Message));
    }
    let (r, events) = feed(&mut s, &c, Message::Request(req(0, 0, 16)));
    assert_eq!(r, Err(Disconnect::TooManyRequests));
    assert_eq!(events, [Event::Rejected(Rejection::TooManyRequests)]);
}

#[test]
fn a_stream_of_refused_requests_ends_the_session_but_a_few_do_not() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    for _ in 0..LIMITS.max_requests_per_peer {
        ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    }
    let (r, _) = feed(&mut s, &c, Message::Request(req(0, 0, 16)));
    assert_eq!(r, Err(Disconnect::TooManyRequests));

    // One request served in between starts the count again.
    let mut s = session(true, &c);
    for _ in 0..LIMITS.max_requests_per_peer {
        ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    }
    s.set_unchoked(true, Instant::now());
    ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    s.set_unchoked(false, Instant::now());
    for _ in 0..LIMITS.max_requests_per_peer {
        ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    }
}

#[test]
fn choking_drops_the_queue_and_rejects_each_request_for_fast_peers() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    s.set_unchoked(true, Instant::now());
    ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    ok(&mut s, &c, Message::Request(req(0, 16, 16)));
    assert!(s.set_unchoked(false, Instant::now()));
    let out = sent(&mut s, &c);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[1], "Choke");
    assert!(out[2].starts_with("Reject") && out[3].starts_with("Reject"));
    let mut batch = Vec::new();
    assert_eq!(s.next_work(&c, &mut batch, u64::MAX), Work::Idle);
}

#[test]
fn a_cancelled_request_is_dropped_and_rejected() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    s.set_unchoked(true, Instant::now());
    sent(&mut s, &c);
    ok(&mut s, &c, Message::Request(req(0, 0, 16)));
    ok(&mut s, &c, Message::Cancel(req(0, 0, 16)));
    // A cancel of something not queued changes nothing.
    ok(&mut s, &c, Message::Cancel(req(5, 0, 16)));
    assert_eq!(
        sent(&mut s, &c),
        ["Reject(BlockRequest { index: 0, begin: 0, length: 16 })"]
    );
    let mut batch = Vec::new();
    assert_eq!(s.next_work(&c, &mut batch, u64::MAX), Work::Idle);
}

#[test]
fn interest_flips_without_a_block_in_between_are_a_flood() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    let flips = [Message::Interested, Message::NotInterested];
    for i in 0..LIMITS.max_interest_changes as usize {
        let (r, events) = feed(&mut s, &c, flips[i % 2]);
        assert_eq!(r, Ok(Received::Message));
        let expected = [Event::Interested, Event::NotInterested];
        assert_eq!(events, [expected.into_iter().nth(i % 2).unwrap()]);
        assert_eq!(s.is_interested(), i % 2 == 0);
    }
    // A block sent resets the count.
    s.sent(1);
    for i in 0..LIMITS.max_interest_changes as usize - 1 {
        ok(&mut s, &c, flips[(i + 1) % 2]);
    }
    assert!(s.is_interested());
    let (r, events) = feed(&mut s, &c, Message::Interested);
    assert_eq!(
        (r, events),
        (Ok(Received::Message), vec![]),
        "no change, not counted"
    );
    ok(&mut s, &c, Message::NotInterested);
    assert_eq!(
        feed(&mut s, &c, Message::Interested).0,
        Err(Disconnect::Flood)
    );
}

#[test]
fn have_none_again_and_again_is_a_flood() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    for _ in 0..LIMITS.max_bitfield_resets {
        ok(&mut s, &c, Message::HaveNone);
    }
    assert_eq!(
        feed(&mut s, &c, Message::HaveNone).0,
        Err(Disconnect::Flood)
    );
}

#[test]
fn what_the_peer_has_is_checked_and_a_seed_is_let_go() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    let (r, _) = feed(&mut s, &c, Message::Bitfield(&[0xff]));
    assert_eq!(r, Err(Disconnect::Protocol), "wrong length");
    let mut s = session(true, &c);
    let (r, _) = feed(&mut s, &c, Message::Bitfield(&[0xff, 0xff]));
    assert_eq!(r, Err(Disconnect::Protocol), "spare bits set");
    let mut s = session(true, &c);
    assert_eq!(
        feed(&mut s, &c, Message::Have(PIECES)).0,
        Err(Disconnect::Protocol)
    );

    let mut s = session(true, &c);
    ok(&mut s, &c, Message::Bitfield(&[0xff, 0x80]));
    assert_eq!(feed(&mut s, &c, Message::Have(9)).0, Err(Disconnect::Seed));
    let mut s = session(true, &c);
    assert_eq!(feed(&mut s, &c, Message::HaveAll).0, Err(Disconnect::Seed));
}

#[test]
fn a_super_seed_hears_of_the_peers_pieces() {
    let c = Fake::seed();
    let mut s = Session::new(true, true, LIMITS, Bitfield::new(PIECES), Instant::now());
    let (_, events) = feed(&mut s, &c, Message::Have(2));
    assert_eq!(events, [Event::PeerHave(2)]);
    let (_, events) = feed(&mut s, &c, Message::Bitfield(&[0x80, 0]));
    let mut b = Bitfield::new(PIECES);
    b.set(0);
    assert_eq!(events, [Event::PeerPieces(b)]);
    let (_, events) = feed(&mut s, &c, Message::HaveNone);
    assert_eq!(events, [Event::PeerPieces(Bitfield::new(PIECES))]);
    s.offer(&[4, 7]);
    assert_eq!(sent(&mut s, &c), ["Have(4)", "Have(7)"]);
}

/// Our extended handshake names `ut_metadata` 1; the peer's names its own id.
fn peer_with_metadata_id(s: &mut Session, c: &Fake, id: i64) {
    let mut h = ExtendedHandshake::default();
    h.m.insert("ut_metadata".into(), id);
    let mut payload = Vec::new();
    h.encode(&mut payload);
    let (r, _) = feed(
        s,
        c,
        Message::Extended {
            id: 0,
            payload: &payload,
        },
    );
    assert_eq!(r, Ok(Received::Message));
}

fn metadata_request(piece: u32) -> Vec<u8> {
    let mut out = Vec::new();
    MetadataMessage::Request { piece }.encode(&mut out);
    out
}

#[test]
fn metadata_is_served_under_the_peers_id_and_only_when_shared() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    peer_with_metadata_id(&mut s, &c, 7);
    let ask = metadata_request(1);
    let (r, events) = feed(
        &mut s,
        &c,
        Message::Extended {
            id: UT_METADATA_ID,
            payload: &ask,
        },
    );
    assert_eq!(
        (r, events),
        (Ok(Received::Message), vec![Event::MetadataServed])
    );
    let mut batch = Vec::new();
    let Work::Control(bytes) = s.next_work(&c, &mut batch, 0) else {
        panic!("the metadata piece is queued");
    };
    let (msg, _) = Message::decode(&bytes, u32::MAX).unwrap().unwrap();
    let Message::Extended { id: 7, payload } = msg else {
        panic!("sent under the peer's id: {msg:?}");
    };
    let Ok(MetadataMessage::Data {
        piece: 1,
        total_size: 20_000,
        data,
    }) = MetadataMessage::decode(payload)
    else {
        panic!("the second piece");
    };
    assert_eq!(data.len(), 20_000 - 16384);

    // A piece past the end is rejected; garbage ends the session.
    let ask = metadata_request(2);
    let (_, events) = feed(
        &mut s,
        &c,
        Message::Extended {
            id: UT_METADATA_ID,
            payload: &ask,
        },
    );
    assert!(events.is_empty());
    let (r, _) = feed(
        &mut s,
        &c,
        Message::Extended {
            id: UT_METADATA_ID,
            payload: b"x",
        },
    );
    assert_eq!(r, Err(Disconnect::Protocol));

    // Private: not even garbage is read.
    let private = Fake {
        metadata: None,
        ..Fake::seed()
    };
    let mut s = session(true, &private);
    peer_with_metadata_id(&mut s, &private, 7);
    let (r, events) = feed(
        &mut s,
        &private,
        Message::Extended {
            id: UT_METADATA_ID,
            payload: b"x",
        },
    );
    assert_eq!((r, events), (Ok(Received::Message), vec![]));
    assert!(sent(&mut s, &private).is_empty());
}

#[test]
fn frames_are_bounded_before_their_body_is_read() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    // Half a request: read the rest.
    let mut buf = frame(Message::Request(req(0, 0, 16)));
    let tail = buf.split_off(7);
    let r = s.receive(&c, &mut buf, Instant::now());
    assert!(matches!(r, Ok(Received::Incomplete { .. })), "{r:?}");
    buf.unsplit(tail);
    assert_eq!(
        s.receive(&c, &mut buf, Instant::now()),
        Ok(Received::Message)
    );

    // A bitfield frame longer than this torrent's is refused from its header alone.
    let mut buf = BytesMut::from(&[0, 0, 0x10, 0, 5][..]);
    assert_eq!(
        s.receive(&c, &mut buf, Instant::now()),
        Err(Disconnect::Protocol)
    );
    // As is any message longer than a block.
    let mut buf = BytesMut::from(&[0, 1, 0, 0, 7][..]);
    assert_eq!(
        s.receive(&c, &mut buf, Instant::now()),
        Err(Disconnect::Protocol)
    );
}

#[test]
fn pieces_proven_later_are_announced_once_each() {
    let c = Fake::empty();
    let mut s = session(true, &c);
    let mut batch = Vec::new();
    s.pieces_proven();
    assert_eq!(
        s.next_work(&c, &mut batch, u64::MAX),
        Work::Idle,
        "nothing new yet"
    );
    c.proven.borrow_mut().set(2);
    c.proven.borrow_mut().set(5);
    s.pieces_proven();
    assert!(s.take_wake());
    assert_eq!(sent(&mut s, &c), ["Have(2)", "Have(5)"]);
    s.pieces_proven();
    assert!(sent(&mut s, &c).is_empty(), "each once");
}

#[test]
fn an_unchoked_peer_that_asks_for_nothing_is_idle() {
    let c = Fake::seed();
    let start = Instant::now();
    let mut s = session(true, &c);
    let minute = Duration::from_secs(60);
    assert!(
        !s.idle(start + minute * 2, minute),
        "choked peers are never idle"
    );
    s.set_unchoked(true, start);
    assert!(!s.idle(start + minute / 2, minute));
    assert!(s.idle(start + minute * 2, minute));
    let mut buf = frame(Message::Request(req(0, 0, 16)));
    s.receive(&c, &mut buf, start + minute * 2).unwrap();
    assert!(
        !s.idle(start + minute * 2, minute),
        "a request resets the clock"
    );
}

#[test]
fn a_keepalive_and_a_piece_from_a_confused_peer() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    let piece = Message::Piece {
        index: 0,
        begin: 0,
        data: b"abc",
    };
    let (r, events) = feed(&mut s, &c, piece);
    assert_eq!(
        (r, events),
        (
            Ok(Received::Message),
            vec![Event::Rejected(Rejection::Protocol)]
        )
    );
    let (r, events) = feed(&mut s, &c, Message::KeepAlive);
    assert_eq!((r, events), (Ok(Received::Message), vec![]));
    s.keepalive();
    assert_eq!(sent(&mut s, &c), ["KeepAlive"]);
}

mod hashes;
