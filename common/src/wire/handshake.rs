//! The 68-byte BEP 3 handshake and its reserved-bit flags.

use crate::id::{InfoHash, PeerId};

/// The protocol string, with its length byte in front.
pub const PROTOCOL: &[u8; 20] = b"\x13BitTorrent protocol";
/// Length of a whole handshake: protocol (20), reserved (8), info hash, peer id.
pub const HANDSHAKE_LEN: usize = 68;

/// BEP 10: reserved byte 5, bit 0x10.
const EXTENSION_BYTE: usize = 5;
const EXTENSION_BIT: u8 = 0x10;
/// BEP 6: reserved byte 7, bit 0x04.
const FAST_BYTE: usize = 7;
const FAST_BIT: u8 = 0x04;
/// BEP 52: reserved byte 7, bit 0x10: the peer speaks v2 and takes a hybrid's v1
/// handshake as a request to upgrade to its v2 swarm.
const V2_BYTE: usize = 7;
const V2_BIT: u8 = 0x10;

/// Why the first bytes of a connection are not a BitTorrent handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Most often an encrypted (MSE/PE) handshake: the client retries in plain text once
    /// we close, so this is answered at the first byte that differs.
    #[error("not a BitTorrent handshake (byte {at} differs from the protocol string)")]
    NotBitTorrent { at: usize },
}

/// A decoded handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub reserved: [u8; 8],
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
}

impl Handshake {
    /// A handshake announcing the extension protocol and the Fast extension.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        let mut reserved = [0u8; 8];
        reserved[EXTENSION_BYTE] |= EXTENSION_BIT;
        reserved[FAST_BYTE] |= FAST_BIT;
        Self {
            reserved,
            info_hash,
            peer_id,
        }
    }

    pub fn supports_extensions(&self) -> bool {
        self.reserved[EXTENSION_BYTE] & EXTENSION_BIT != 0
    }

    pub fn supports_fast(&self) -> bool {
        self.reserved[FAST_BYTE] & FAST_BIT != 0
    }

    /// Whether the peer speaks BitTorrent v2 (BEP 52).
    pub fn supports_v2(&self) -> bool {
        self.reserved[V2_BYTE] & V2_BIT != 0
    }

    /// The same handshake, also announcing BitTorrent v2 (BEP 52).
    pub fn with_v2(mut self) -> Self {
        self.reserved[V2_BYTE] |= V2_BIT;
        self
    }

    /// Checks the protocol prefix of what has arrived so far, so a stranger is turned
    /// away without waiting for 68 bytes that may never come.
    pub fn check_prefix(buf: &[u8]) -> Result<(), HandshakeError> {
        match buf.iter().zip(PROTOCOL).position(|(a, b)| a != b) {
            Some(at) => Err(HandshakeError::NotBitTorrent { at }),
            None => Ok(()),
        }
    }

    /// The handshake at the start of `buf`, or `None` until 68 bytes are there.
    pub fn decode(buf: &[u8]) -> Result<Option<Self>, HandshakeError> {
        Self::check_prefix(buf)?;
        if buf.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&buf[20..28]);
        let info_hash = InfoHash::from_slice(&buf[28..48]).expect("20 bytes");
        let peer_id = PeerId::from_slice(&buf[48..68]).expect("20 bytes");
        Ok(Some(Self {
            reserved,
            info_hash,
            peer_id,
        }))
    }

    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(self.info_hash.as_bytes());
        out[48..].copy_from_slice(self.peer_id.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_split() {
        let h = Handshake::new(InfoHash([7; 20]), PeerId(*b"-SL0100-abcdefghijkl"));
        let bytes = h.encode();
        for cut in 0..HANDSHAKE_LEN {
            assert_eq!(Handshake::decode(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        let got = Handshake::decode(&bytes).unwrap().unwrap();
        assert_eq!(got, h);
        assert!(got.supports_extensions() && got.supports_fast());
    }

    #[test]
    fn golden_bytes() {
        let h = Handshake::new(InfoHash([0xab; 20]), PeerId([0x01; 20]));
        let bytes = h.encode();
        assert_eq!(&bytes[..28], b"\x13BitTorrent protocol\0\0\0\0\0\x10\0\x04");
        assert!(!h.supports_v2());
        // libtorrent 2.0 sets 0x10 in the last byte for a torrent with a v2 part.
        let v2 = h.with_v2();
        assert_eq!(&v2.encode()[20..28], b"\0\0\0\0\0\x10\0\x14");
        assert!(v2.supports_v2() && v2.supports_fast());
    }

    #[test]
    fn encrypted_handshake_is_refused_at_the_first_byte() {
        // An MSE handshake opens with a 96-byte Diffie-Hellman key: random bytes.
        assert_eq!(
            Handshake::decode(&[0x8f, 0x13]),
            Err(HandshakeError::NotBitTorrent { at: 0 })
        );
        assert_eq!(
            Handshake::decode(b"\x13BitTorrent protocoX"),
            Err(HandshakeError::NotBitTorrent { at: 19 })
        );
    }
}
