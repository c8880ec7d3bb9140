//! `mse_handshake` target: the MSE/PE responder (the seeder's side of an encrypted
//! handshake). Random bytes alone never get past the synchronisation search (it needs
//! the shared secret), so the input also corrupts a genuine initiator's handshake: the
//! first byte picks the read size, the next two an offset, the rest is XORed into the
//! initiator's bytes from there (and what is left over is sent after them). When the
//! read size is odd, the genuine handshake is rTorrent's form with a zero-led shared
//! secret (hashed without its leading zero, which the responder must also accept).
//! Invariants:
//! no panic, the responder's buffer stays bounded, and a handshake that completes names
//! the one torrent served.

use crate::mse::{req2, Initiator, Methods, Responder, MAX_INITIAL_PAYLOAD, RC4};
use crate::InfoHash;

const IH: InfoHash = InfoHash([0x5e; 20]);
/// An initiator's key whose shared secret with a responder's `[2; 20]` starts with a
/// zero byte (found by trying keys: about one in 256 does); the unit tests use it too.
pub const ZERO_LED: [u8; 20] = [
    0, 0, 2, 0xcf, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
];

const BOTH: Methods = Methods {
    rc4: true,
    plaintext: true,
    prefer_rc4: true,
};

pub fn mse_handshake(data: &[u8]) {
    let lookup = |r: &[u8; 20]| (*r == req2(&IH)).then_some(IH);
    let (chunk, offset, mask) = match data {
        [c, o1, o2, rest @ ..] => (
            usize::from(*c).max(1),
            usize::from(u16::from_be_bytes([*o1, *o2])),
            rest,
        ),
        _ => return,
    };
    // Raw: the bytes as a whole handshake.
    run(data, chunk, &lookup);

    // A genuine handshake, corrupted.
    let mut a_out = Vec::new();
    let rtorrent = chunk % 2 == 1;
    let (a_key, b_key) = if rtorrent {
        (ZERO_LED, [2; 20])
    } else {
        ([9; 20], [8; 20])
    };
    let a = Initiator::new(&a_key, &[1; 7], IH, RC4, &[0x13; 68], &mut a_out);
    let mut a = if rtorrent { a.trimming_the_secret() } else { a };
    let mut b = Responder::new(&b_key, &[2; 5], BOTH);
    let mut b_out = Vec::new();
    if b.receive(&a_out, lookup, &mut b_out).is_err() {
        return;
    }
    let mut step3 = Vec::new();
    if a.receive(&b_out, &mut step3).is_err() {
        return;
    }
    for (i, m) in mask.iter().enumerate() {
        match step3.get_mut(offset + i) {
            Some(byte) => *byte ^= m,
            None => step3.push(*m),
        }
    }
    feed(&mut b, &step3, chunk, &lookup);
}

fn run(data: &[u8], chunk: usize, lookup: &impl Fn(&[u8; 20]) -> Option<InfoHash>) {
    feed(
        &mut Responder::new(&[8; 20], &[], BOTH),
        data,
        chunk,
        lookup,
    );
}

/// Feeds `data` to `b` `chunk` bytes at a time, checking the invariants, until it
/// completes or refuses.
fn feed(
    b: &mut Responder,
    data: &[u8],
    chunk: usize,
    lookup: &impl Fn(&[u8; 20]) -> Option<InfoHash>,
) {
    for piece in data.chunks(chunk) {
        match b.receive(piece, lookup, &mut Vec::new()) {
            Ok(Some(e)) => {
                assert_eq!(e.info_hash, IH);
                return;
            }
            Ok(None) => assert!(b.buffered() <= 2048 + MAX_INITIAL_PAYLOAD + chunk),
            Err(_) => return,
        }
    }
}
