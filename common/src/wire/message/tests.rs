use proptest::prelude::*;

use super::*;
use crate::wire::HashRequest;

const MAX: u32 = 1 << 20;

fn arb_block() -> impl Strategy<Value = BlockRequest> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(index, begin, length)| BlockRequest {
        index,
        begin,
        length,
    })
}

/// Owned stand-in for `Message` so proptest can generate payloads.
#[derive(Debug, Clone)]
enum Owned {
    Fixed(u8, Option<u32>),
    Block(u8, BlockRequest),
    Port(u16),
    Bitfield(Vec<u8>),
    Piece(u32, u32, Vec<u8>),
    Extended(u8, Vec<u8>),
}

impl Owned {
    fn as_message(&self) -> Message<'_> {
        match self {
            Owned::Fixed(0, _) => Message::KeepAlive,
            Owned::Fixed(1, _) => Message::Choke,
            Owned::Fixed(2, _) => Message::Unchoke,
            Owned::Fixed(3, _) => Message::Interested,
            Owned::Fixed(4, _) => Message::NotInterested,
            Owned::Fixed(5, _) => Message::HaveAll,
            Owned::Fixed(6, _) => Message::HaveNone,
            Owned::Fixed(7, n) => Message::Have(n.unwrap_or(0)),
            Owned::Fixed(8, n) => Message::Suggest(n.unwrap_or(0)),
            Owned::Fixed(_, n) => Message::AllowedFast(n.unwrap_or(0)),
            Owned::Block(0, b) => Message::Request(*b),
            Owned::Block(1, b) => Message::Cancel(*b),
            Owned::Block(_, b) => Message::Reject(*b),
            Owned::Port(p) => Message::Port(*p),
            Owned::Bitfield(b) => Message::Bitfield(b),
            Owned::Piece(i, o, d) => Message::Piece {
                index: *i,
                begin: *o,
                data: d,
            },
            Owned::Extended(id, p) => Message::Extended {
                id: *id,
                payload: p,
            },
        }
    }
}

fn arb_message() -> impl Strategy<Value = Owned> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (0u8..10, proptest::option::of(any::<u32>())).prop_map(|(k, n)| Owned::Fixed(k, n)),
        (0u8..3, arb_block()).prop_map(|(k, b)| Owned::Block(k, b)),
        any::<u16>().prop_map(Owned::Port),
        bytes().prop_map(Owned::Bitfield),
        (any::<u32>(), any::<u32>(), bytes()).prop_map(|(i, o, d)| Owned::Piece(i, o, d)),
        (any::<u8>(), bytes()).prop_map(|(id, p)| Owned::Extended(id, p)),
    ]
}

proptest! {
    #[test]
    fn round_trip(m in arb_message()) {
        let msg = m.as_message();
        let mut out = Vec::new();
        msg.encode(&mut out);
        prop_assert_eq!(Message::decode(&out, MAX), Ok(Some((msg, out.len()))));
    }

    #[test]
    fn every_split_point_waits_for_the_rest(m in arb_message()) {
        let mut out = Vec::new();
        m.as_message().encode(&mut out);
        for cut in 0..out.len() {
            prop_assert_eq!(Message::decode(&out[..cut], MAX), Ok(None));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Message::decode(&buf, 64);
    }
}

#[test]
fn golden_bytes() {
    let mut out = Vec::new();
    Message::KeepAlive.encode(&mut out);
    Message::Unchoke.encode(&mut out);
    Message::Have(0x0102_0304).encode(&mut out);
    Message::Request(BlockRequest {
        index: 1,
        begin: 0x4000,
        length: 0x4000,
    })
    .encode(&mut out);
    Message::HaveAll.encode(&mut out);
    Message::Extended {
        id: 0,
        payload: b"de",
    }
    .encode(&mut out);
    let want: &[u8] = b"\0\0\0\0\
        \0\0\0\x01\x01\
        \0\0\0\x05\x04\x01\x02\x03\x04\
        \0\0\0\x0d\x06\0\0\0\x01\0\0\x40\0\0\0\x40\0\
        \0\0\0\x01\x0e\
        \0\0\0\x04\x14\0de";
    assert_eq!(out, want);
}

#[test]
fn piece_header_matches_the_encoded_message() {
    let data = [9u8; 5];
    let mut whole = Vec::new();
    Message::Piece {
        index: 3,
        begin: 16,
        data: &data,
    }
    .encode(&mut whole);
    let mut head = Vec::new();
    write_piece_header(&mut head, 3, 16, 5);
    head.extend_from_slice(&data);
    assert_eq!(head, whole);
}

#[test]
fn hostile_length_is_refused_before_the_body_arrives() {
    let buf = [0xff, 0xff, 0xff, 0xff];
    assert_eq!(
        Message::decode(&buf, MAX),
        Err(WireError::TooLong {
            len: u32::MAX,
            max: MAX
        })
    );
}

#[test]
fn fixed_size_messages_check_their_length() {
    // `have` with 3 bytes of index instead of 4.
    let buf = b"\0\0\0\x04\x04\0\0\x01";
    assert_eq!(
        Message::decode(buf, MAX),
        Err(WireError::BadLength {
            id: 4,
            expected: 5,
            got: 4
        })
    );
    // `choke` with a payload.
    assert!(Message::decode(b"\0\0\0\x02\x00\x00", MAX).is_err());
    // `piece` too short for its index and offset.
    assert!(Message::decode(b"\0\0\0\x05\x07\0\0\0\0", MAX).is_err());
    // `extended` without its own id.
    assert!(Message::decode(b"\0\0\0\x01\x14", MAX).is_err());
}

#[test]
fn unknown_ids_are_passed_up_to_be_ignored() {
    let got = Message::decode(b"\0\0\0\x03\x63ab", MAX).unwrap().unwrap();
    assert_eq!(
        got,
        (
            Message::Unknown {
                id: 0x63,
                payload: b"ab"
            },
            7
        )
    );
}

#[test]
fn caps_differ_by_kind() {
    let limits = FrameLimits {
        bitfield: 100_000,
        extended: 20,
        other: 50,
    };
    let prefix = |len: u32, id: u8| {
        let mut b = len.to_be_bytes().to_vec();
        b.push(id);
        b
    };
    // A big bitfield is fine; the same length as an extended message is not.
    assert_eq!(frame_len(&prefix(90_000, 5), limits), Ok(Some(90_004)));
    assert_eq!(
        frame_len(&prefix(90_000, 20), limits),
        Err(WireError::TooLong {
            len: 90_000,
            max: 20
        })
    );
    assert_eq!(
        frame_len(&prefix(21, 20), limits).map(|_| ()),
        Err(WireError::TooLong { len: 21, max: 20 })
    );
    assert_eq!(frame_len(&prefix(50, 7), limits), Ok(Some(54)));
    // Until the id arrives: wait if some kind could take the length, refuse if none can.
    assert_eq!(frame_len(&30u32.to_be_bytes(), limits), Ok(None));
    assert!(frame_len(&200_000u32.to_be_bytes(), limits).is_err());
    // A keep-alive needs no id.
    assert_eq!(frame_len(&[0, 0, 0, 0], limits), Ok(Some(4)));
    // Decoding applies the same caps.
    let mut ext = prefix(21, 20);
    ext.extend([0; 20]);
    assert!(Message::decode(&ext, limits).is_err());
    assert!(Message::decode(&ext, MAX).unwrap().is_some());
}

#[test]
fn hash_messages_round_trip_and_lengths_are_checked() {
    let r = HashRequest {
        root: [7; 32],
        base: 2,
        index: 512,
        count: 512,
        proof_layers: 9,
    };
    let hashes = [0xab; 64];
    for m in [
        Message::HashRequest(r),
        Message::HashReject(r),
        Message::Hashes {
            request: r,
            hashes: &hashes,
        },
    ] {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(Message::decode(&out, MAX), Ok(Some((m, out.len()))));
    }
    // Golden: length 49, id 21, the root, then four big-endian integers.
    let mut out = Vec::new();
    Message::HashRequest(r).encode(&mut out);
    assert_eq!(&out[..5], &[0, 0, 0, 49, 21]);
    assert_eq!(
        &out[37..],
        &[0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 9]
    );
    // A request one byte short, and hashes that are not whole 32-byte hashes.
    let short = [&[0, 0, 0, 48, 21][..], &[0; 47]].concat();
    assert!(matches!(
        Message::decode(&short, MAX),
        Err(WireError::BadLength { id: 21, .. })
    ));
    let ragged = [&[0, 0, 0, 50, 22][..], &[0; 49]].concat();
    assert!(matches!(
        Message::decode(&ragged, MAX),
        Err(WireError::BadLength { id: 22, .. })
    ));
}
