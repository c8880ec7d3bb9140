//! The set of pieces a peer has, as sent in a `bitfield` message (high bit = piece 0).

/// Why a received bitfield does not fit the torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    #[error("bitfield of {got} bytes for {pieces} pieces (expected {expected})")]
    BadLength {
        got: usize,
        expected: usize,
        pieces: u32,
    },
    #[error("bitfield sets spare bits past the last piece")]
    SpareBits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    pieces: u32,
    count: u32,
}

impl Bitfield {
    pub fn new(pieces: u32) -> Self {
        Self {
            bytes: vec![0; (pieces as usize).div_ceil(8)],
            pieces,
            count: 0,
        }
    }

    pub fn full(pieces: u32) -> Self {
        let mut b = Self::new(pieces);
        for i in 0..pieces {
            b.set(i);
        }
        b
    }

    /// A received bitfield, strict about its length and spare bits (BEP 3: a peer that
    /// gets either wrong should be dropped).
    pub fn from_payload(payload: &[u8], pieces: u32) -> Result<Self, BitfieldError> {
        let expected = (pieces as usize).div_ceil(8);
        if payload.len() != expected {
            return Err(BitfieldError::BadLength {
                got: payload.len(),
                expected,
                pieces,
            });
        }
        let spare = expected * 8 - pieces as usize;
        if spare > 0 && payload[expected - 1] & ((1u8 << spare) - 1) != 0 {
            return Err(BitfieldError::SpareBits);
        }
        let count = payload.iter().map(|b| b.count_ones()).sum();
        Ok(Self {
            bytes: payload.to_vec(),
            pieces,
            count,
        })
    }

    pub fn has(&self, index: u32) -> bool {
        index < self.pieces && self.bytes[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
    }

    /// Marks `index`; returns whether it was new. Out-of-range indices are ignored.
    pub fn set(&mut self, index: u32) -> bool {
        if index >= self.pieces || self.has(index) {
            return false;
        }
        self.bytes[(index / 8) as usize] |= 0x80 >> (index % 8);
        self.count += 1;
        true
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn len(&self) -> u32 {
        self.pieces
    }

    pub fn is_empty(&self) -> bool {
        self.pieces == 0
    }

    pub fn is_full(&self) -> bool {
        self.count == self.pieces
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_has_count_and_bytes() {
        let mut b = Bitfield::new(10);
        assert!(b.set(0) && b.set(9) && !b.set(9) && !b.set(10));
        assert!(b.has(0) && b.has(9) && !b.has(1) && !b.has(10));
        assert_eq!(b.count(), 2);
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert!(Bitfield::full(10).is_full());
        assert_eq!(Bitfield::full(10).as_bytes(), &[0xff, 0xc0]);
    }

    #[test]
    fn payload_is_checked() {
        assert_eq!(
            Bitfield::from_payload(&[0xff, 0xc0], 10).unwrap().count(),
            10
        );
        assert_eq!(
            Bitfield::from_payload(&[0xff, 0xe0], 10),
            Err(BitfieldError::SpareBits)
        );
        assert!(matches!(
            Bitfield::from_payload(&[0xff], 10),
            Err(BitfieldError::BadLength { .. })
        ));
        assert!(Bitfield::from_payload(&[0xff], 8).unwrap().is_full());
    }
}
