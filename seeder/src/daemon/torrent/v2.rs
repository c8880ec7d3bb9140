//! What a torrent with a v2 part (BEP 52: v2-only or hybrid) adds to serving: each
//! piece's node in its file's Merkle tree, checked before the piece is first served,
//! and the trees above the piece layers, which answer peers' `hash request`s (a peer
//! that came by magnet link has the files' roots but not their layers).

use std::collections::HashMap;
use std::sync::OnceLock;

use seedline_common::metainfo::hash_tree::{HashRefusal, UpperTree};
use seedline_common::metainfo::merkle::{self, Hash32, BLOCK};
use seedline_common::metainfo::{Info, V2Info};
use seedline_common::wire::HashRequest;

/// A v2 torrent's files as the seeder serves them.
pub struct V2Served {
    info: V2Info,
    /// For each file in `info.files` (tree order), its first piece; an empty file has
    /// none, and is given the next file's first piece.
    first_piece: Vec<u32>,
    by_root: HashMap<Hash32, usize>,
    /// Per file, built on the first `hash request` for it.
    trees: Vec<OnceLock<Option<UpperTree>>>,
}

/// What one piece must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceNode {
    pub hash: Hash32,
    /// The subtree's height above the blocks: log2 of blocks per piece, or for a file of
    /// one piece at most, of its blocks rounded up to a power of two.
    pub height: u32,
    /// The piece's bytes that belong to its file (the rest, if any, is padding).
    pub len: u64,
}

impl V2Served {
    /// `view` is the torrent's v1 file list (a hybrid's own, or the one a v2-only
    /// torrent's files make with their pads), which must hold the same files in order.
    pub fn new(view: &Info, info: V2Info) -> Result<Self, String> {
        let piece_length = info.piece_length;
        let mut first_piece = Vec::with_capacity(info.files.len());
        let mut data = view.files().into_iter().filter(|f| !f.pad);
        for f in &info.files {
            let v1 = data
                .next()
                .filter(|d| d.length == f.length)
                .ok_or("the v1 and v2 file lists disagree")?;
            if v1.offset % piece_length != 0 && f.length > 0 {
                return Err("a file does not start on a piece boundary".into());
            }
            let first =
                u32::try_from(v1.offset.div_ceil(piece_length)).map_err(|_| "too many pieces")?;
            first_piece.push(first);
        }
        let by_root = info
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((f.tree.as_ref()?.0, i)))
            .collect();
        let trees = info.files.iter().map(|_| OnceLock::new()).collect();
        Ok(Self {
            info,
            first_piece,
            by_root,
            trees,
        })
    }

    /// The file holding piece `index` and the piece's place in it.
    fn locate(&self, index: u32) -> Option<(usize, u32)> {
        // The last file starting at or before `index` that has pieces.
        let after = self.first_piece.partition_point(|&p| p <= index);
        let pieces = |i: usize| self.info.files[i].length.div_ceil(self.info.piece_length);
        (0..after)
            .rev()
            .find(|&i| pieces(i) > 0)
            .filter(|&i| u64::from(index - self.first_piece[i]) < pieces(i))
            .map(|i| (i, index - self.first_piece[i]))
    }

    /// What piece `index` must hash to, or `None` for a piece of no file.
    pub fn piece_node(&self, index: u32) -> Option<PieceNode> {
        let (i, at) = self.locate(index)?;
        let f = &self.info.files[i];
        let (root, layer) = f.tree.as_ref()?;
        let pl = self.info.piece_length;
        let start = u64::from(at) * pl;
        let len = (f.length - start).min(pl);
        Some(match layer {
            Some(layer) => PieceNode {
                hash: *layer.get(at as usize)?,
                height: (pl / BLOCK).trailing_zeros(),
                len,
            },
            None => PieceNode {
                hash: *root,
                height: f
                    .length
                    .div_ceil(BLOCK)
                    .next_power_of_two()
                    .trailing_zeros(),
                len,
            },
        })
    }

    /// The answer to a peer's `hash request`.
    pub fn hashes(&self, req: &HashRequest) -> Result<Vec<Hash32>, HashRefusal> {
        let i = *self.by_root.get(&req.root).ok_or(HashRefusal::OutOfTree)?;
        let tree = self.trees[i].get_or_init(|| {
            let (_, layer) = self.info.files[i].tree.as_ref()?;
            let height = (self.info.piece_length / BLOCK).trailing_zeros();
            Some(UpperTree::new(layer.as_ref()?, height))
        });
        // A file of one piece at most has no layer to give: its root proves its blocks.
        tree.as_ref()
            .ok_or(HashRefusal::BelowPieceLayer)?
            .answer(req)
    }
}

/// Hashes one piece's bytes, fed in order, into its node of the file's tree.
pub struct NodeHasher {
    node: PieceNode,
    leaves: Vec<Hash32>,
    /// Bytes of the file's part of the piece seen so far.
    seen: u64,
    /// A block cut by the end of a chunk.
    partial: Vec<u8>,
}

impl NodeHasher {
    pub fn new(node: PieceNode) -> Self {
        Self {
            node,
            leaves: Vec::with_capacity(node.len.div_ceil(BLOCK) as usize),
            seen: 0,
            partial: Vec::new(),
        }
    }

    /// The next bytes of the piece; padding past the file's end is ignored.
    pub fn update(&mut self, mut bytes: &[u8]) {
        let left = (self.node.len - self.seen) as usize;
        bytes = &bytes[..bytes.len().min(left)];
        self.seen += bytes.len() as u64;
        if !self.partial.is_empty() {
            let take = (BLOCK as usize - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() == BLOCK as usize {
                self.leaves.push(merkle::leaf(&self.partial));
                self.partial.clear();
            }
        }
        let mut blocks = bytes.chunks_exact(BLOCK as usize);
        for b in blocks.by_ref() {
            self.leaves.push(merkle::leaf(b));
        }
        self.partial.extend_from_slice(blocks.remainder());
    }

    /// Whether the bytes fed hash to the node.
    pub fn matches(mut self) -> bool {
        if !self.partial.is_empty() {
            self.leaves.push(merkle::leaf(&self.partial));
        }
        self.seen == self.node.len
            && self.leaves.len() <= 1 << self.node.height
            && merkle::subtree_root(&self.leaves, self.node.height) == self.node.hash
    }
}

#[cfg(test)]
mod tests;
