//! Message Stream Encryption / Protocol Encryption (MSE/PE), the obfuscated handshake
//! Azureus introduced and libtorrent, Transmission, rTorrent, qBittorrent and aria2
//! speak: a 768-bit Diffie-Hellman exchange, the torrent named by a hash only the two
//! ends can compute, then RC4 (its first 1024 bytes discarded) or plain text for the
//! rest of the connection. Sans-io, as the rest of this crate: bytes in, bytes to send
//! out; the caller supplies the randomness and the torrents it serves.
//!
//! [`Responder`] is the receiving side (the seeder); [`Initiator`] the connecting side
//! (load generators and tests). Every step is bounded by what the spec allows: padding
//! at most 512 bytes, the synchronisation searches within 512 bytes, the initial
//! payload at most [`MAX_INITIAL_PAYLOAD`].

mod cipher;
mod dh;
mod initiator;
mod responder;
#[cfg(test)]
mod tests;

pub use cipher::Cipher;
pub use dh::{KEY_LEN, PRIVATE_LEN};
pub use initiator::Initiator;
pub use responder::Responder;

use crate::InfoHash;

/// `crypto_provide` / `crypto_select` bits.
pub const PLAINTEXT: u32 = 0x01;
pub const RC4: u32 = 0x02;

/// The most padding either side may send in one place.
pub const MAX_PAD: usize = 512;

/// The most initial payload accepted with the handshake: a BitTorrent handshake (68
/// bytes) with room for clients that send more behind it (a bitfield, an extension
/// handshake).
pub const MAX_INITIAL_PAYLOAD: usize = 16 * 1024;

/// The 8-byte verification constant.
const VC: [u8; 8] = [0; 8];

/// Which methods a side accepts, and which it picks when both are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods {
    pub rc4: bool,
    pub plaintext: bool,
    /// Both offered and both accepted: RC4.
    pub prefer_rc4: bool,
}

impl Methods {
    /// The `crypto_provide` bits of these methods.
    pub fn bits(self) -> u32 {
        (if self.rc4 { RC4 } else { 0 }) | (if self.plaintext { PLAINTEXT } else { 0 })
    }

    /// The method to select from what the other side `provide`s.
    fn select(self, provide: u32) -> Option<u32> {
        let rc4 = self.rc4 && provide & RC4 != 0;
        let plain = self.plaintext && provide & PLAINTEXT != 0;
        match (rc4, plain) {
            (true, true) if self.prefer_rc4 => Some(RC4),
            (_, true) => Some(PLAINTEXT),
            (true, false) => Some(RC4),
            (false, false) => None,
        }
    }
}

/// A finished handshake.
pub struct Established {
    pub info_hash: InfoHash,
    /// [`RC4`] or [`PLAINTEXT`].
    pub method: u32,
    /// For RC4: the ciphers of what is received and what is sent, positioned after the
    /// handshake; `None` for plain text.
    pub ciphers: Option<(Cipher, Cipher)>,
    /// The stream's first bytes, in plain text: the initial payload (responder) and
    /// whatever arrived after the handshake.
    pub received: Vec<u8>,
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established")
            .field("info_hash", &self.info_hash)
            .field("method", &self.method)
            .field("received", &self.received.len())
            .finish_non_exhaustive()
    }
}

/// Why a handshake failed: each a reason to close that connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MseError {
    #[error("the Diffie-Hellman key is out of range")]
    BadKey,
    #[error("no synchronisation marker within the padding allowed")]
    NoSync,
    #[error("the torrent named is not served here")]
    UnknownTorrent,
    #[error("the verification constant is wrong")]
    BadVerification,
    #[error("padding longer than 512 bytes")]
    PadTooLong,
    #[error("initial payload too long")]
    PayloadTooLong,
    #[error("no encryption method in common")]
    NoCommonMethod,
    #[error("the other side selected a method that was not offered")]
    BadSelect,
}

impl MseError {
    /// A short label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::BadKey => "bad_key",
            Self::NoSync => "no_sync",
            Self::UnknownTorrent => "unknown_torrent",
            Self::BadVerification => "bad_verification",
            Self::PadTooLong => "pad_too_long",
            Self::PayloadTooLong => "payload_too_long",
            Self::NoCommonMethod => "no_common_method",
            Self::BadSelect => "bad_select",
        }
    }
}

/// SHA-1 of the parts end to end: the spec's HASH().
fn hash(parts: &[&[u8]]) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `HASH('req2', SKEY)`: what a responder looks a torrent up by (the `req2 xor req3`
/// field, once `HASH('req3', S)` is taken off).
pub fn req2(info_hash: &InfoHash) -> [u8; 20] {
    hash(&[b"req2", &info_hash.0])
}

/// Where `needle` starts in `hay`, if anywhere.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
