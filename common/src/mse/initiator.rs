//! The connecting side of the handshake (see `responder.rs` for the exchange): it
//! finds where B's padding ends by searching for `ENCRYPT(VC)` within 512 bytes of `Yb`.

use super::dh::{KeyPair, KEY_LEN, PRIVATE_LEN};
use super::{
    find, hash, Cipher, Established, MseError, MAX_INITIAL_PAYLOAD, MAX_PAD, PLAINTEXT, RC4, VC,
};
use crate::InfoHash;

enum State {
    Key,
    /// Searching for ENCRYPT(VC): the bytes to find, and the ciphers.
    Sync([u8; 8], Box<(Cipher, Cipher)>),
    /// Waiting for crypto_select and len(PadD).
    Select(Box<(Cipher, Cipher)>),
    /// Waiting for PadD.
    Pad(Box<(Cipher, Cipher)>, u32, usize),
    Done,
}

pub struct Initiator {
    keys: KeyPair,
    info_hash: InfoHash,
    provide: u32,
    payload: Vec<u8>,
    state: State,
    buf: Vec<u8>,
    /// Hash S without its leading zero bytes, as rTorrent does (see `responder.rs`).
    trimmed: bool,
}

impl Initiator {
    /// Starts a handshake for `info_hash` offering `provide` ([`RC4`] and/or
    /// [`PLAINTEXT`] bits) with `payload` as the initial payload (usually the plain
    /// BitTorrent handshake; at most [`MAX_INITIAL_PAYLOAD`]); the bytes to send first
    /// (Ya and PadA, at most 512 of `pad`) are appended to `out`.
    pub fn new(
        private: &[u8; PRIVATE_LEN],
        pad: &[u8],
        info_hash: InfoHash,
        provide: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Self {
        let keys = KeyPair::new(private);
        out.extend_from_slice(&keys.public);
        out.extend_from_slice(&pad[..pad.len().min(MAX_PAD)]);
        Self {
            keys,
            info_hash,
            provide,
            payload: payload[..payload.len().min(MAX_INITIAL_PAYLOAD)].to_vec(),
            state: State::Key,
            buf: Vec::new(),
            trimmed: false,
        }
    }

    /// Hashes the shared secret as rTorrent does, without its leading zero bytes (one
    /// handshake in 256 differs): for tests and fuzzing of a responder that must accept
    /// it.
    pub fn trimming_the_secret(mut self) -> Self {
        self.trimmed = true;
        self
    }

    /// Bytes received; what to send is appended to `out`. Returns the established
    /// stream once B's answer is complete.
    pub fn receive(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<Established>, MseError> {
        self.buf.extend_from_slice(input);
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Key => {
                    if self.buf.len() < KEY_LEN {
                        self.state = State::Key;
                        return Ok(None);
                    }
                    let yb: [u8; KEY_LEN] = self.buf[..KEY_LEN].try_into().expect("KEY_LEN");
                    self.buf.drain(..KEY_LEN);
                    let full = self.keys.secret(&yb).ok_or(MseError::BadKey)?;
                    let zeros = full.iter().take_while(|&&b| b == 0).count();
                    let s = &full[if self.trimmed { zeros } else { 0 }..];
                    let ih = self.info_hash.0;
                    let mut send = Cipher::new(&hash(&[b"keyA", s, &ih]));
                    let mut recv = Cipher::new(&hash(&[b"keyB", s, &ih]));
                    out.extend_from_slice(&hash(&[b"req1", s]));
                    let req2 = hash(&[b"req2", &ih]);
                    let req3 = hash(&[b"req3", s]);
                    out.extend(req2.iter().zip(&req3).map(|(a, b)| a ^ b));
                    let mut tail = Vec::with_capacity(16 + self.payload.len());
                    tail.extend_from_slice(&VC);
                    tail.extend_from_slice(&self.provide.to_be_bytes());
                    tail.extend_from_slice(&0u16.to_be_bytes()); // len(PadC)
                    tail.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
                    tail.extend_from_slice(&self.payload);
                    send.apply(&mut tail);
                    out.extend_from_slice(&tail);
                    let mut marker = VC;
                    recv.apply(&mut marker);
                    self.state = State::Sync(marker, Box::new((recv, send)));
                }
                State::Sync(marker, c) => match find(&self.buf, &marker) {
                    Some(at) if at <= MAX_PAD => {
                        self.buf.drain(..at + marker.len());
                        self.state = State::Select(c);
                    }
                    Some(_) => return Err(MseError::NoSync),
                    None if self.buf.len() >= MAX_PAD + marker.len() => {
                        return Err(MseError::NoSync)
                    }
                    None => {
                        self.state = State::Sync(marker, c);
                        return Ok(None);
                    }
                },
                State::Select(mut c) => {
                    if self.buf.len() < 6 {
                        self.state = State::Select(c);
                        return Ok(None);
                    }
                    let mut b: Vec<u8> = self.buf.drain(..6).collect();
                    c.0.apply(&mut b);
                    let select = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                    let pad = usize::from(u16::from_be_bytes([b[4], b[5]]));
                    if !(select == RC4 || select == PLAINTEXT) || select & self.provide == 0 {
                        return Err(MseError::BadSelect);
                    }
                    if pad > MAX_PAD {
                        return Err(MseError::PadTooLong);
                    }
                    self.state = State::Pad(c, select, pad);
                }
                State::Pad(mut c, select, pad) => {
                    if self.buf.len() < pad {
                        self.state = State::Pad(c, select, pad);
                        return Ok(None);
                    }
                    let mut b: Vec<u8> = self.buf.drain(..pad).collect();
                    c.0.apply(&mut b);
                    let mut received = std::mem::take(&mut self.buf);
                    if select == RC4 {
                        c.0.apply(&mut received);
                    }
                    return Ok(Some(Established {
                        info_hash: self.info_hash,
                        method: select,
                        ciphers: (select == RC4).then_some(*c),
                        received,
                    }));
                }
                State::Done => return Ok(None),
            }
        }
    }
}
