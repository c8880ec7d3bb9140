//! The receiving side of the handshake:
//!
//! ```text
//! A -> B  Ya, PadA
//! B -> A  Yb, PadB
//! A -> B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! B -> A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the stream
//! ```
//!
//! B finds where A's padding ends by searching for `HASH('req1', S)` within 512 bytes
//! of `Ya`, and the torrent by comparing `HASH('req2', SKEY)` with the hashes of the
//! torrents it serves.
//!
//! S is 96 bytes, big-endian, in the spec. rTorrent (libtorrent-rakshasa, Debian's
//! 0.9.8 and its source today) hashes the secret OpenSSL's `DH_compute_key` returns,
//! which drops leading zero bytes: in one handshake of 256 its S is shorter, nothing it
//! sends matches, and it did not try the seeder again within two minutes (its next
//! announce was half an hour away; a test timed out on it). B accepts that form too: when
//! S starts with a zero byte it also searches for the marker of S without its leading
//! zeros, and if that is the one found, keeps hashing S that way for the rest of the
//! handshake and the RC4 keys, as A does.

use super::dh::{KeyPair, KEY_LEN, PRIVATE_LEN};
use super::{
    find, hash, Cipher, Established, Methods, MseError, MAX_INITIAL_PAYLOAD, MAX_PAD, RC4, VC,
};
use crate::InfoHash;

enum State {
    /// Waiting for A's public key.
    Key,
    /// Searching for `HASH('req1', S)`.
    Sync {
        secret: [u8; KEY_LEN],
    },
    /// Waiting for `req2 xor req3`: S as A hashes it (see the module's doc).
    Torrent {
        secret: Secret,
    },
    /// Waiting for VC, crypto_provide and len(PadC).
    Provide(Box<Keyed>),
    /// Waiting for PadC and len(IA).
    Pad(Box<Keyed>, usize),
    /// Waiting for IA.
    Payload(Box<Keyed>, usize),
    Done,
}

struct Keyed {
    info_hash: InfoHash,
    decrypt: Cipher,
    encrypt: Cipher,
    provide: u32,
}

pub struct Responder {
    /// Made once a key in range has come (no exponentiation for a probe).
    private: [u8; PRIVATE_LEN],
    pad: Vec<u8>,
    accept: Methods,
    state: State,
    /// Received and not yet consumed (bounded: see [`Responder::receive`]).
    buf: Vec<u8>,
}

impl Responder {
    /// `private`: 20 random bytes; `pad`: PadB, random bytes (at most 512 are sent);
    /// `accept`: the methods this side takes.
    pub fn new(private: &[u8; PRIVATE_LEN], pad: &[u8], accept: Methods) -> Self {
        Self {
            private: *private,
            pad: pad[..pad.len().min(MAX_PAD)].to_vec(),
            accept,
            state: State::Key,
            buf: Vec::new(),
        }
    }

    /// Bytes received, appended to what came before; what to send is appended to
    /// `out`. `lookup` names the torrent served whose `HASH('req2', SKEY)` (see
    /// [`super::req2`]) is given. Returns the established stream once the handshake is
    /// complete (bytes received past it are in [`Established::received`], decrypted);
    /// an error closes the connection. Before it completes this side holds at most
    /// about 1.2 KiB plus the initial payload plus one `input`.
    pub fn receive(
        &mut self,
        input: &[u8],
        lookup: impl Fn(&[u8; 20]) -> Option<InfoHash>,
        out: &mut Vec<u8>,
    ) -> Result<Option<Established>, MseError> {
        self.buf.extend_from_slice(input);
        loop {
            let state = std::mem::replace(&mut self.state, State::Done);
            match self.step(state, &lookup, out)? {
                Next::Wait(s) => {
                    self.state = s;
                    return Ok(None);
                }
                Next::Go(s) => self.state = s,
                Next::Finished(k, ia) => return self.finish(*k, ia, out).map(Some),
            }
        }
    }

    fn step(
        &mut self,
        state: State,
        lookup: &impl Fn(&[u8; 20]) -> Option<InfoHash>,
        out: &mut Vec<u8>,
    ) -> Result<Next, MseError> {
        Ok(match state {
            State::Key => {
                let Some(ya) = self.take(KEY_LEN) else {
                    return Ok(Next::Wait(State::Key));
                };
                let ya: [u8; KEY_LEN] = ya.try_into().expect("KEY_LEN bytes");
                if !KeyPair::in_range(&ya) {
                    return Err(MseError::BadKey);
                }
                let keys = KeyPair::new(&self.private);
                let secret = keys.secret(&ya).ok_or(MseError::BadKey)?;
                out.extend_from_slice(&keys.public);
                out.extend_from_slice(&self.pad);
                Next::Go(State::Sync { secret })
            }
            State::Sync { secret } => {
                let full = Secret::full(secret);
                let short = full.trimmed();
                // Only where the marker may start: a read can bring much more.
                let window = &self.buf[..self.buf.len().min(MAX_PAD + 20)];
                let found =
                    |s: &Secret| find(window, &hash(&[b"req1", s.hashed()])).map(|at| (at, *s));
                // The earlier of the two; the short form only exists one time in 256.
                let hit = match short.map(|s| found(&s)) {
                    Some(Some(short)) => Some(found(&full).map_or(short, |f| f.min(short))),
                    _ => found(&full),
                };
                match hit {
                    Some((at, secret)) => {
                        self.buf.drain(..at + 20);
                        Next::Go(State::Torrent { secret })
                    }
                    None if self.buf.len() >= MAX_PAD + 20 => return Err(MseError::NoSync),
                    None => Next::Wait(State::Sync { secret }),
                }
            }
            State::Torrent { secret } => {
                let Some(x) = self.take(20) else {
                    return Ok(Next::Wait(State::Torrent { secret }));
                };
                let secret = secret.hashed();
                let req3 = hash(&[b"req3", secret]);
                let mut req2 = [0u8; 20];
                for ((r, a), b) in req2.iter_mut().zip(&x).zip(&req3) {
                    *r = a ^ b;
                }
                let info_hash = lookup(&req2).ok_or(MseError::UnknownTorrent)?;
                Next::Go(State::Provide(Box::new(Keyed {
                    info_hash,
                    decrypt: Cipher::new(&hash(&[b"keyA", secret, &info_hash.0])),
                    encrypt: Cipher::new(&hash(&[b"keyB", secret, &info_hash.0])),
                    provide: 0,
                })))
            }
            State::Provide(mut k) => {
                let Some(mut b) = self.take(14) else {
                    return Ok(Next::Wait(State::Provide(k)));
                };
                k.decrypt.apply(&mut b);
                if b[..8] != VC {
                    return Err(MseError::BadVerification);
                }
                k.provide = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
                let pad = usize::from(u16::from_be_bytes([b[12], b[13]]));
                if pad > MAX_PAD {
                    return Err(MseError::PadTooLong);
                }
                Next::Go(State::Pad(k, pad))
            }
            State::Pad(mut k, pad) => {
                let Some(mut b) = self.take(pad + 2) else {
                    return Ok(Next::Wait(State::Pad(k, pad)));
                };
                k.decrypt.apply(&mut b);
                let ia = usize::from(u16::from_be_bytes([b[pad], b[pad + 1]]));
                if ia > MAX_INITIAL_PAYLOAD {
                    return Err(MseError::PayloadTooLong);
                }
                Next::Go(State::Payload(k, ia))
            }
            State::Payload(k, ia) if self.buf.len() < ia => Next::Wait(State::Payload(k, ia)),
            State::Payload(k, ia) => Next::Finished(k, ia),
            State::Done => Next::Wait(State::Done),
        })
    }

    /// Bytes received and held, not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Removes and returns the first `n` buffered bytes, if that many are buffered.
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        (self.buf.len() >= n).then(|| self.buf.drain(..n).collect())
    }

    /// The initial payload is buffered: selects the method, answers, and hands over
    /// the stream.
    fn finish(
        &mut self,
        mut k: Keyed,
        ia: usize,
        out: &mut Vec<u8>,
    ) -> Result<Established, MseError> {
        let method = self
            .accept
            .select(k.provide)
            .ok_or(MseError::NoCommonMethod)?;
        let mut reply = [0u8; 14];
        reply[8..12].copy_from_slice(&method.to_be_bytes());
        // len(PadD) = 0: the padding has done its work in step 2.
        k.encrypt.apply(&mut reply);
        out.extend_from_slice(&reply);
        let mut received = std::mem::take(&mut self.buf);
        // The initial payload is always RC4; what follows it is in the method chosen.
        if method == RC4 {
            k.decrypt.apply(&mut received);
        } else {
            k.decrypt.apply(&mut received[..ia]);
        }
        Ok(Established {
            info_hash: k.info_hash,
            method,
            ciphers: (method == RC4).then_some((k.decrypt, k.encrypt)),
            received,
        })
    }
}

/// The shared secret and how many of its leading (zero) bytes A leaves out of every
/// hash it is in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Secret {
    bytes: [u8; KEY_LEN],
    skip: usize,
}

impl Secret {
    fn full(bytes: [u8; KEY_LEN]) -> Self {
        Self { bytes, skip: 0 }
    }

    /// S without its leading zero bytes, if it has any.
    fn trimmed(&self) -> Option<Self> {
        let skip = self.bytes.iter().take_while(|&&b| b == 0).count();
        (skip > 0).then_some(Self { skip, ..*self })
    }

    fn hashed(&self) -> &[u8] {
        &self.bytes[self.skip..]
    }
}

enum Next {
    /// More input is needed in this state.
    Wait(State),
    /// Moved on; the next state may proceed with what is buffered.
    Go(State),
    /// The initial payload (this long) is buffered.
    Finished(Box<Keyed>, usize),
}
