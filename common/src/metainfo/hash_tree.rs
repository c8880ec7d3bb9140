//! A file's Merkle tree from its piece layer up (BEP 52), and the answers to `hash
//! request`s it can give: a range of one layer and the uncles proving it against the
//! file's `pieces root`. No I/O; the seeder keeps one per file of a v2 torrent.
//!
//! Layers are counted as BEP 52 counts them: 0 is the 16 KiB blocks, and the root sits
//! at log2 of the blocks rounded up to a power of two. Below the piece layer the hashes
//! are those of blocks, which only the data gives: such requests are refused here.

use super::merkle::{parent, zero_subtree, Hash32};
use crate::wire::HashRequest;

/// The most hashes one request may ask for (libtorrent's cap: a 128 MiB piece's blocks).
pub const MAX_HASHES: u32 = 8192;

/// Why a `hash request` gets `hash reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashRefusal {
    #[error("count must be a power of two from 2 to {MAX_HASHES}, and index a multiple of it")]
    BadRange,
    #[error("the layer or range is not in the file's tree")]
    OutOfTree,
    #[error("the proof reaches past the root")]
    ProofTooLong,
    #[error("block hashes are not kept (only the piece layer and above)")]
    BelowPieceLayer,
}

/// One file's tree from its piece layer to its root.
#[derive(Debug, Clone)]
pub struct UpperTree {
    /// The piece layer's height above the blocks: log2 of blocks per piece.
    piece_height: u32,
    /// `layers[0]` is the piece layer as the torrent has it (no padding); each next one
    /// its parents, ending with the root alone.
    layers: Vec<Vec<Hash32>>,
}

impl UpperTree {
    /// The tree above `piece_layer` (at least one hash), whose nodes are `piece_height`
    /// levels above the blocks.
    pub fn new(piece_layer: &[Hash32], piece_height: u32) -> Self {
        assert!(!piece_layer.is_empty(), "a piece layer has a hash");
        let mut layers = vec![piece_layer.to_vec()];
        let mut height = piece_height;
        while layers.last().expect("one at least").len() > 1 {
            let below = layers.last().expect("one at least");
            let pad = zero_subtree(height);
            let above = below
                .chunks(2)
                .map(|p| parent(&p[0], p.get(1).unwrap_or(&pad)))
                .collect();
            layers.push(above);
            height += 1;
        }
        Self {
            piece_height,
            layers,
        }
    }

    /// The file's `pieces root`.
    pub fn root(&self) -> Hash32 {
        self.layers.last().expect("one at least")[0]
    }

    /// The root's layer: the tree's height above the blocks.
    fn top(&self) -> u32 {
        self.piece_height + self.layers.len() as u32 - 1
    }

    /// Node `offset` of layer `layer` (at least the piece layer): past the file's end,
    /// the root of an all-zero subtree, as the tree is padded.
    fn node(&self, layer: u32, offset: u64) -> Hash32 {
        let row = &self.layers[(layer - self.piece_height) as usize];
        usize::try_from(offset)
            .ok()
            .and_then(|o| row.get(o))
            .copied()
            .unwrap_or_else(|| zero_subtree(layer))
    }

    /// The hashes `req` asks for (its `root` is the caller's to match): `count` nodes of
    /// layer `base` from `index`, then for each of the `proof_layers` layers above `base`
    /// that the range itself does not span, the sibling on the way to the root. This is
    /// the order libtorrent 2.0 reads them in.
    pub fn answer(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal> {
        let HashRequest {
            base,
            index,
            count,
            proof_layers,
            ..
        } = *req;
        if !count.is_power_of_two() || !(2..=MAX_HASHES).contains(&count) || index % count != 0 {
            return Err(HashRefusal::BadRange);
        }
        let top = self.top();
        if base >= top {
            return Err(HashRefusal::OutOfTree);
        }
        if base < self.piece_height {
            return Err(HashRefusal::BelowPieceLayer);
        }
        let width = 1u64 << (top - base);
        if u64::from(index) + u64::from(count) > width {
            return Err(HashRefusal::OutOfTree);
        }
        if proof_layers >= top - base {
            return Err(HashRefusal::ProofTooLong);
        }
        let mut out: Vec<Hash32> = (0..u64::from(count))
            .map(|j| self.node(base, u64::from(index) + j))
            .collect();
        // The range spans a subtree of log2(count) layers; uncles start at its root.
        let spanned = count.trailing_zeros();
        let mut offset = u64::from(index);
        for up in 1..=proof_layers {
            offset >>= 1;
            if up >= spanned {
                out.push(self.node(base + up, offset ^ 1));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
