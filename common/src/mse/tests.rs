use super::*;

const IH: InfoHash = InfoHash([7; 20]);
const BOTH: Methods = Methods {
    rc4: true,
    plaintext: true,
    prefer_rc4: true,
};

fn lookup(r: &[u8; 20]) -> Option<InfoHash> {
    (*r == req2(&IH)).then_some(IH)
}

/// Runs a whole handshake, the bytes of each side fed to the other `chunk` at a time;
/// then each side sends a message through the other's ciphers.
fn handshake(
    offer: u32,
    accept: Methods,
    pads: (usize, usize),
    chunk: usize,
) -> (Established, Established) {
    let mut to_b = Vec::new();
    let pad_a = vec![0xaa; pads.0];
    let mut a = Initiator::new(&[1; 20], &pad_a, IH, offer, b"hello from A", &mut to_b);
    let mut b = Responder::new(&[2; 20], &vec![0xbb; pads.1], accept);
    let (mut done_a, mut done_b) = (None, None);
    for _ in 0..10_000 {
        if done_a.is_some() && done_b.is_some() {
            break;
        }
        let mut to_a = Vec::new();
        for c in std::mem::take(&mut to_b).chunks(chunk) {
            if let Some(e) = b.receive(c, lookup, &mut to_a).unwrap() {
                done_b = Some(e);
            }
        }
        for c in to_a.chunks(chunk) {
            if let Some(e) = a.receive(c, &mut to_b).unwrap() {
                done_a = Some(e);
            }
        }
    }
    (done_a.expect("A done"), done_b.expect("B done"))
}

#[test]
fn both_sides_agree_on_rc4_and_the_stream_flows_both_ways() {
    for chunk in [1, 7, 64, 4096] {
        for pads in [(0, 0), (512, 0), (0, 512), (100, 333)] {
            let (mut a, mut b) = handshake(RC4 | PLAINTEXT, BOTH, pads, chunk);
            assert_eq!((a.method, b.method), (RC4, RC4));
            assert_eq!(b.info_hash, IH);
            assert_eq!(b.received, b"hello from A", "the initial payload");
            let (mut a_recv, mut a_send) = a.ciphers.take().unwrap();
            let (mut b_recv, mut b_send) = b.ciphers.take().unwrap();
            let mut m = b"piece data".to_vec();
            a_send.apply(&mut m);
            assert_ne!(&m, b"piece data");
            b_recv.apply(&mut m);
            assert_eq!(&m, b"piece data");
            let mut m = b"bitfield".to_vec();
            b_send.apply(&mut m);
            a_recv.apply(&mut m);
            assert_eq!(&m, b"bitfield");
        }
    }
}

#[test]
fn plaintext_is_chosen_when_preferred_or_the_only_one_offered() {
    let plain_first = Methods {
        prefer_rc4: false,
        ..BOTH
    };
    let (a, b) = handshake(RC4 | PLAINTEXT, plain_first, (10, 10), 50);
    assert_eq!((a.method, b.method), (PLAINTEXT, PLAINTEXT));
    assert!(a.ciphers.is_none() && b.ciphers.is_none());
    assert_eq!(
        b.received, b"hello from A",
        "the initial payload is RC4 still"
    );
    let (_, b) = handshake(PLAINTEXT, BOTH, (0, 0), 4096);
    assert_eq!(b.method, PLAINTEXT);
}

#[test]
fn bytes_past_the_handshake_are_handed_over_decrypted() {
    let mut to_b = Vec::new();
    let mut a = Initiator::new(&[3; 20], &[], IH, RC4, b"", &mut to_b);
    let mut b = Responder::new(&[4; 20], &[], BOTH);
    let mut to_a = Vec::new();
    assert!(b.receive(&to_b, lookup, &mut to_a).unwrap().is_none());
    to_b.clear();
    assert!(a.receive(&to_a, &mut to_b).unwrap().is_none());
    to_a.clear();
    let mut eb = b
        .receive(&to_b, lookup, &mut to_a)
        .unwrap()
        .expect("B done");
    // B's answer and its first message arrive at A in one read.
    let mut msg = b"bitfield".to_vec();
    eb.ciphers.as_mut().unwrap().1.apply(&mut msg);
    to_a.extend_from_slice(&msg);
    let ea = a.receive(&to_a, &mut Vec::new()).unwrap().expect("A done");
    assert_eq!(ea.received, b"bitfield");
}

fn responder_fails_on(input: &[u8]) -> MseError {
    let mut b = Responder::new(&[2; 20], &[], BOTH);
    let mut out = Vec::new();
    match b.receive(input, lookup, &mut out) {
        Err(e) => e,
        Ok(r) => panic!("not refused: {r:?}"),
    }
}

#[test]
fn hostile_handshakes_are_refused_with_their_reason() {
    // A key of 0, 1 or P-1.
    assert_eq!(responder_fails_on(&[0; KEY_LEN]), MseError::BadKey);
    let mut one = [0; KEY_LEN];
    one[KEY_LEN - 1] = 1;
    assert_eq!(responder_fails_on(&one), MseError::BadKey);
    // A good key, then 600 bytes of garbage: no req1 within 512 bytes.
    let mut to_b = Vec::new();
    let _a = Initiator::new(&[1; 20], &[], IH, RC4, b"", &mut to_b);
    let mut garbage = to_b.clone();
    garbage.extend(std::iter::repeat_n(0x55, 600));
    assert_eq!(responder_fails_on(&garbage), MseError::NoSync);

    // A whole handshake for a torrent not served.
    assert_eq!(
        step3_fails(InfoHash([9; 20]), RC4, BOTH),
        MseError::UnknownTorrent
    );
    // No method in common.
    let rc4_only = Methods {
        plaintext: false,
        ..BOTH
    };
    assert_eq!(
        step3_fails(IH, PLAINTEXT, rc4_only),
        MseError::NoCommonMethod
    );
}

/// An initiator for `ih` offering `provide` against a responder taking `accept`: the
/// error the responder answers the initiator's third step with.
fn step3_fails(ih: InfoHash, provide: u32, accept: Methods) -> MseError {
    let mut to_b = Vec::new();
    let mut a = Initiator::new(&[1; 20], &[], ih, provide, b"", &mut to_b);
    let mut b = Responder::new(&[2; 20], &[], accept);
    let mut to_a = Vec::new();
    b.receive(&to_b, lookup, &mut to_a).unwrap();
    to_b.clear();
    a.receive(&to_a, &mut to_b).unwrap();
    b.receive(&to_b, lookup, &mut Vec::new()).unwrap_err()
}

#[test]
fn a_responder_holds_little_while_waiting() {
    let mut b = Responder::new(&[2; 20], &[], BOTH);
    let mut out = Vec::new();
    // A valid key and a byte at a time of padding: it waits, then gives up at 532.
    let mut to_b = Vec::new();
    let _a = Initiator::new(&[1; 20], &[], IH, RC4, b"", &mut to_b);
    assert!(b.receive(&to_b, lookup, &mut out).unwrap().is_none());
    assert_eq!(out.len(), KEY_LEN, "Yb, no padding");
    for i in 0..MAX_PAD + 19 {
        assert!(b.receive(&[1], lookup, &mut out).unwrap().is_none(), "{i}");
    }
    assert_eq!(
        b.receive(&[1], lookup, &mut out).unwrap_err(),
        MseError::NoSync
    );
}

use crate::fuzz::mse::ZERO_LED;

/// A zero-led handshake from an initiator with A's key [`ZERO_LED`] (hashing S as
/// rTorrent does if `trimmed`), PadA `pad_a` long plus `extra` bytes in front of its
/// third step, against a responder with `[2; 20]`: the responder's result for that step
/// fed `chunk` bytes at a time, and the initiator.
fn zero_led(
    trimmed: bool,
    pad_a: usize,
    extra: usize,
    chunk: usize,
) -> (Result<Option<Established>, MseError>, Initiator, Vec<u8>) {
    let mut to_b = Vec::new();
    let a = Initiator::new(&ZERO_LED, &vec![0xaa; pad_a], IH, RC4, b"hello", &mut to_b);
    let mut a = if trimmed { a.trimming_the_secret() } else { a };
    let mut b = Responder::new(&[2; 20], &[0xbb; 40], BOTH);
    let mut to_a = Vec::new();
    assert!(b.receive(&to_b, lookup, &mut to_a).unwrap().is_none());
    let yb: [u8; KEY_LEN] = to_a[..KEY_LEN].try_into().unwrap();
    let s = super::dh::KeyPair::new(&ZERO_LED).secret(&yb).unwrap();
    assert_eq!(s[0], 0, "the key chosen makes a zero-led S");
    let mut step3 = vec![0xaa; extra];
    assert!(a.receive(&to_a, &mut step3).unwrap().is_none());
    let mut answer = Vec::new();
    let mut result = Ok(None);
    for c in step3.chunks(chunk) {
        assert!(matches!(result, Ok(None)), "finished before the last byte");
        result = b.receive(c, lookup, &mut answer);
    }
    (result, a, answer)
}

#[test]
fn a_secret_hashed_without_its_leading_zeros_is_understood_as_rtorrent_sends_it() {
    for chunk in [1, 20, 4096] {
        let (result, mut a, answer) = zero_led(true, 17, 0, chunk);
        let mut eb = result.unwrap().expect("B done");
        assert_eq!((eb.method, eb.info_hash), (RC4, IH));
        assert_eq!(eb.received, b"hello");
        // B's answer, under A's short S, completes A's side too.
        let mut ea = a
            .receive(&answer, &mut Vec::new())
            .unwrap()
            .expect("A done");
        let (a_recv, a_send) = ea.ciphers.as_mut().unwrap();
        let (b_recv, b_send) = eb.ciphers.as_mut().unwrap();
        let mut m = b"piece data".to_vec();
        a_send.apply(&mut m);
        b_recv.apply(&mut m);
        assert_eq!(m, b"piece data");
        let mut m = b"bitfield".to_vec();
        b_send.apply(&mut m);
        a_recv.apply(&mut m);
        assert_eq!(m, b"bitfield");
    }
}

#[test]
fn a_zero_led_secret_hashed_whole_as_the_spec_says_still_works() {
    let (result, _, _) = zero_led(false, 0, 0, 4096);
    let eb = result.unwrap().expect("B done");
    assert_eq!((eb.method, eb.received.as_slice()), (RC4, &b"hello"[..]));
}

#[test]
fn a_short_marker_past_the_padding_allowed_is_refused() {
    // 512 bytes of PadA and one more: the marker starts at 513.
    let (result, _, _) = zero_led(true, MAX_PAD, 1, 4096);
    assert_eq!(result.unwrap_err(), MseError::NoSync);
    // At 512 it is still found.
    let (result, _, _) = zero_led(true, MAX_PAD, 0, 4096);
    assert!(result.unwrap().is_some());
}
