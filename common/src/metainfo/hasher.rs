//! SHA-1 piece hashes over a byte stream fed in chunks of any size.
//!
//! No I/O here: the seeder's reader threads feed it. Each thread hashes a run of whole
//! pieces with its own hasher, which is how piece hashing runs on all cores. The `sha1`
//! crate picks its SHA-NI code path at run time when the CPU has it.

use sha1::{Digest, Sha1};

/// Splits a stream into pieces of `piece_length` bytes and hashes each one.
#[derive(Debug, Clone)]
pub struct PieceHasher {
    piece_length: u64,
    filled: u64,
    current: Sha1,
    pieces: Vec<[u8; 20]>,
}

impl PieceHasher {
    /// A hasher for pieces of `piece_length` bytes.
    ///
    /// # Panics
    /// If `piece_length` is zero.
    pub fn new(piece_length: u64) -> Self {
        assert!(piece_length > 0, "piece length must not be zero");
        Self {
            piece_length,
            filled: 0,
            current: Sha1::new(),
            pieces: Vec::new(),
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.piece_length - self.filled;
            let take = usize::try_from(room).map_or(data.len(), |r| r.min(data.len()));
            self.current.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == self.piece_length {
                self.pieces.push(self.current.finalize_reset().into());
                self.filled = 0;
            }
        }
    }

    /// The hashes of all pieces, the last one short if the stream ended mid-piece.
    pub fn finish(mut self) -> Vec<[u8; 20]> {
        if self.filled > 0 {
            self.pieces.push(self.current.finalize().into());
        }
        self.pieces
    }
}

/// Hashes a whole in-memory stream; the reference the parallel hashers are tested against.
pub fn hash_pieces(data: &[u8], piece_length: u64) -> Vec<[u8; 20]> {
    let mut h = PieceHasher::new(piece_length);
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden() {
        // SHA-1("abc") and SHA-1("d"): the well-known test vector and one more.
        let pieces = hash_pieces(b"abcd", 3);
        assert_eq!(pieces.len(), 2);
        assert_eq!(
            crate::InfoHash(pieces[0]).to_hex(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            crate::InfoHash(pieces[1]).to_hex(),
            "3c363836cf4e16666669a25da280a1865c2d2874"
        );
        assert!(hash_pieces(b"", 16).is_empty());
        assert_eq!(hash_pieces(b"abcdef", 3).len(), 2);
    }

    proptest! {
        #[test]
        fn every_split_point_gives_the_same_hashes(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            piece_length in 1u64..64,
            cut in any::<prop::sample::Index>(),
        ) {
            let whole = hash_pieces(&data, piece_length);
            let cut = cut.index(data.len() + 1);
            let mut h = PieceHasher::new(piece_length);
            h.update(&data[..cut]);
            h.update(&data[cut..]);
            prop_assert_eq!(h.finish(), whole);
        }
    }
}
