//! BitTorrent v2 hash trees (BEP 52): SHA-256 over 16 KiB blocks of each file, a binary
//! Merkle tree per file, its root (`pieces root`) and its layer at piece granularity
//! (`piece layers`). No I/O: the caller hashes blocks as it reads them.
//!
//! A tree's leaves are padded up to a power of two with zero hashes; an upper layer's
//! padding is therefore the root of an all-zero subtree of that height, never zero bytes.

use sha2::{Digest, Sha256};

/// The v2 block: every leaf covers this many bytes (the file's last block may be short).
pub const BLOCK: u64 = 16 * 1024;

/// A SHA-256 hash.
pub type Hash32 = [u8; 32];

/// The leaf hash of one block.
pub fn leaf(block: &[u8]) -> Hash32 {
    Sha256::digest(block).into()
}

pub(crate) fn parent(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of a subtree of `2^height` zero leaves (height 0: the zero leaf itself).
pub fn zero_subtree(height: u32) -> Hash32 {
    let mut h = [0u8; 32];
    for _ in 0..height {
        h = parent(&h, &h);
    }
    h
}

/// Climbs `layer` (nodes at `base` levels above the leaves) by `levels`, padding each
/// odd layer with the all-zero subtree of its height.
fn climb(mut layer: Vec<Hash32>, base: u32, levels: u32) -> Hash32 {
    let mut pad = zero_subtree(base);
    for _ in 0..levels {
        if layer.len() % 2 == 1 {
            layer.push(pad);
        }
        layer = layer
            .chunks_exact(2)
            .map(|p| parent(&p[0], &p[1]))
            .collect();
        pad = parent(&pad, &pad);
    }
    debug_assert_eq!(layer.len(), 1);
    layer[0]
}

/// Levels from `n` nodes (at least 1) to a single root once padded to a power of two.
fn levels_for(n: usize) -> u32 {
    n.next_power_of_two().trailing_zeros()
}

/// One file's tree from its leaf hashes (one per block, in order; at least one, so the
/// file is not empty): its `pieces root`, and its piece layer when the file is longer
/// than one piece (`piece_length`, a power of two of at least [`BLOCK`]), which is
/// what `piece layers` holds for it.
pub fn file_tree(leaves: &[Hash32], piece_length: u64) -> (Hash32, Option<Vec<Hash32>>) {
    assert!(!leaves.is_empty(), "an empty file has no tree");
    let per_piece = (piece_length / BLOCK) as usize;
    assert!(
        per_piece.is_power_of_two(),
        "piece length is a power of two of blocks"
    );
    if leaves.len() <= per_piece {
        // One piece at most: the tree is over the file's own blocks only.
        return (climb(leaves.to_vec(), 0, levels_for(leaves.len())), None);
    }
    let height = per_piece.trailing_zeros();
    let layer: Vec<Hash32> = leaves
        .chunks(per_piece)
        .map(|c| climb(c.to_vec(), 0, height))
        .collect();
    let root = climb(layer.clone(), height, levels_for(layer.len()));
    (root, Some(layer))
}

/// The root of a subtree of `2^height` leaves that starts with `leaves` (at most that
/// many; the rest are zero): a v2 piece's node in its file's tree (`height` is log2 of
/// blocks per piece), or the root of a file of one piece at most (`height`: its blocks
/// rounded up to a power of two).
pub fn subtree_root(leaves: &[Hash32], height: u32) -> Hash32 {
    assert!(leaves.len() <= 1 << height, "leaves fit under the subtree");
    if leaves.is_empty() {
        return zero_subtree(height);
    }
    climb(leaves.to_vec(), 0, height)
}

/// The root of a file's tree from its piece layer, whose nodes are `height` levels
/// above the leaves (log2 of blocks per piece).
pub fn root_from_layer(layer: &[Hash32], height: u32) -> Hash32 {
    climb(layer.to_vec(), height, levels_for(layer.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash32) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn zero_subtrees_are_hashes_of_hashes() {
        assert_eq!(zero_subtree(0), [0; 32]);
        assert_eq!(zero_subtree(1), parent(&[0; 32], &[0; 32]));
        assert_eq!(zero_subtree(3), parent(&zero_subtree(2), &zero_subtree(2)));
    }

    #[test]
    fn a_one_block_file_is_its_leaf() {
        let l = leaf(b"abc");
        assert_eq!(
            hex(&l),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(file_tree(&[l], 16384), (l, None));
        assert_eq!(file_tree(&[l], 4 << 20), (l, None));
    }

    #[test]
    fn odd_layers_are_padded_with_zero_subtrees() {
        let l: Vec<Hash32> = (0..3u8).map(|i| leaf(&[i])).collect();
        let expected = parent(&parent(&l[0], &l[1]), &parent(&l[2], &[0; 32]));
        assert_eq!(file_tree(&l, 64 * 1024).0, expected, "within one piece");
        // Pieces of two blocks: the layer is [l0+l1, l2+0], the root their parent.
        let (root, layer) = file_tree(&l, 32 * 1024);
        let layer = layer.expect("longer than a piece");
        assert_eq!(layer, vec![parent(&l[0], &l[1]), parent(&l[2], &[0; 32])]);
        assert_eq!(root, expected);
    }

    #[test]
    fn the_root_is_the_same_from_leaves_or_from_the_piece_layer() {
        // 5 blocks, pieces of 1, 2 and 4 blocks, and one piece for everything.
        let l: Vec<Hash32> = (0..5u8).map(|i| leaf(&[i; 100])).collect();
        let whole = file_tree(&l, 128 * 1024).0;
        for per_piece in [1u64, 2, 4] {
            let (root, layer) = file_tree(&l, per_piece * BLOCK);
            assert_eq!(root, whole, "{per_piece} blocks per piece");
            let layer = layer.unwrap();
            assert_eq!(layer.len(), 5usize.div_ceil(per_piece as usize));
            assert_eq!(root_from_layer(&layer, per_piece.trailing_zeros()), root);
        }
    }
}
