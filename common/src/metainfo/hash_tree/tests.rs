use super::*;
use crate::metainfo::merkle::{file_tree, leaf, BLOCK};

/// A file of `blocks` blocks in pieces of `per_piece` blocks: its root and piece layer.
fn file(blocks: usize, per_piece: u64) -> (Hash32, Vec<Hash32>, u32) {
    let leaves: Vec<Hash32> = (0..blocks).map(|i| leaf(&i.to_be_bytes())).collect();
    let (root, layer) = file_tree(&leaves, per_piece * BLOCK);
    (
        root,
        layer.expect("longer than a piece"),
        per_piece.trailing_zeros(),
    )
}

fn req(base: u32, index: u32, count: u32, proof_layers: u32) -> HashRequest {
    HashRequest {
        root: [0; 32],
        base,
        index,
        count,
        proof_layers,
    }
}

/// What a downloader does with an answer: climb from the range through the uncles.
fn climb_to_root(r: &HashRequest, hashes: &[Hash32]) -> Hash32 {
    let (range, uncles) = hashes.split_at(r.count as usize);
    let mut row = range.to_vec();
    while row.len() > 1 {
        row = row.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
    }
    let mut node = row[0];
    let mut offset = r.index >> r.count.trailing_zeros();
    for u in uncles {
        node = if offset.is_multiple_of(2) {
            parent(&node, u)
        } else {
            parent(u, &node)
        };
        offset >>= 1;
    }
    node
}

#[test]
fn the_tree_above_a_piece_layer_has_the_files_root() {
    for (blocks, per_piece) in [(5, 2), (64, 4), (1000, 16), (9, 8)] {
        let (root, layer, h) = file(blocks, per_piece);
        assert_eq!(UpperTree::new(&layer, h).root(), root, "{blocks} blocks");
    }
}

#[test]
fn every_piece_layer_range_with_a_full_proof_climbs_to_the_root() {
    // 1000 blocks of 16 pieces each: 63 pieces, a tree 10 layers tall.
    let (root, layer, h) = file(1000, 16);
    let tree = UpperTree::new(&layer, h);
    for count in [2u32, 4, 8, 64] {
        let mut index = 0;
        while index + count <= 64 {
            let r = req(h, index, count, tree.top() - h - 1);
            let got = tree.answer(&r).unwrap();
            let uncles = (tree.top() - h) - count.trailing_zeros();
            assert_eq!(got.len() as u32, count + uncles, "count {count}");
            assert_eq!(climb_to_root(&r, &got), root, "{count} at {index}");
            // Past the last piece, a layer is padded with zero subtrees.
            if index + count > 63 {
                assert_eq!(got[(63 - index) as usize], zero_subtree(h));
            }
            index += count;
        }
    }
    // A shorter proof is the first uncles of the full one.
    let full = tree.answer(&req(h, 8, 4, 5)).unwrap();
    let short = tree.answer(&req(h, 8, 4, 3)).unwrap();
    assert_eq!(short[..], full[..short.len()]);
    assert_eq!(short.len(), 4 + 2);
    // Higher layers are answered too.
    let r = req(h + 2, 0, 16, 3);
    assert_eq!(climb_to_root(&r, &tree.answer(&r).unwrap()), root);
}

#[test]
fn requests_outside_the_tree_are_refused() {
    let (_, layer, h) = file(1000, 16); // top = 10, piece layer at 4 (64 wide)
    let tree = UpperTree::new(&layer, h);
    let refused = [
        (req(h, 0, 3, 0), HashRefusal::BadRange),
        (req(h, 0, 1, 0), HashRefusal::BadRange),
        (req(h, 2, 4, 0), HashRefusal::BadRange),
        (req(h, 0, 16384, 0), HashRefusal::BadRange),
        (req(h, 64, 2, 0), HashRefusal::OutOfTree),
        (req(h, 62, 4, 0), HashRefusal::BadRange),
        (req(h, 60, 8, 0), HashRefusal::BadRange),
        (req(10, 0, 2, 0), HashRefusal::OutOfTree),
        (req(u32::MAX, 0, 2, 0), HashRefusal::OutOfTree),
        (req(h, u32::MAX - 1, 2, 0), HashRefusal::OutOfTree),
        (req(h, 0, 2, 6), HashRefusal::ProofTooLong),
        (req(0, 0, 16, 3), HashRefusal::BelowPieceLayer),
    ];
    for (r, why) in refused {
        assert_eq!(tree.answer(&r), Err(why), "{r:?}");
    }
    assert!(tree.answer(&req(h, 0, 64, 5)).is_ok());
}
