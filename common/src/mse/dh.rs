//! The 768-bit Diffie-Hellman group of MSE (generator 2, the prime below, the Oakley
//! group 1 prime) and its keys, big-endian and 96 bytes long.

use num_bigint::BigUint;

/// A public key's and the shared secret's length.
pub const KEY_LEN: usize = 96;
/// A private key's length: 160 bits, as the spec suggests.
pub const PRIVATE_LEN: usize = 20;

const PRIME: [u8; KEY_LEN] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, 0x21, 0x68, 0xC2, 0x34,
    0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC, 0x1C, 0xD1, 0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74,
    0x02, 0x0B, 0xBE, 0xA6, 0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79, 0x8E, 0x34, 0x04, 0xDD,
    0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, 0xF2, 0x5F, 0x14, 0x37,
    0x4F, 0xE1, 0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, 0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6,
    0xF4, 0x4C, 0x42, 0xE9, 0xA6, 0x3A, 0x36, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63,
];

pub(super) struct KeyPair {
    private: BigUint,
    pub public: [u8; KEY_LEN],
}

impl KeyPair {
    pub fn new(private: &[u8; PRIVATE_LEN]) -> Self {
        let private = BigUint::from_bytes_be(private);
        let public = BigUint::from(2u32).modpow(&private, &prime());
        Self {
            public: fixed(&public),
            private,
        }
    }

    /// The shared secret with the other side's public key, or `None` for a key outside
    /// 2..=P-2 (0, 1 and P-1 would make the secret guessable).
    pub fn secret(&self, theirs: &[u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
        if !Self::in_range(theirs) {
            return None;
        }
        let y = BigUint::from_bytes_be(theirs);
        Some(fixed(&y.modpow(&self.private, &prime())))
    }

    /// Whether a public key is within 2..=P-2.
    pub fn in_range(key: &[u8; KEY_LEN]) -> bool {
        let y = BigUint::from_bytes_be(key);
        y >= BigUint::from(2u32) && y < prime() - 1u32
    }
}

fn prime() -> BigUint {
    BigUint::from_bytes_be(&PRIME)
}

/// `n` as 96 big-endian bytes (n < P, so it fits).
fn fixed(n: &BigUint) -> [u8; KEY_LEN] {
    let b = n.to_bytes_be();
    let mut out = [0u8; KEY_LEN];
    out[KEY_LEN - b.len()..].copy_from_slice(&b);
    out
}
