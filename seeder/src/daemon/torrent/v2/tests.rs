use seedline_common::metainfo::merkle::file_tree;
use seedline_common::metainfo::{FileEntry, Layout, V2File, Version};

use super::*;

const PIECE: u64 = 2 * BLOCK;

fn bytes(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn v2_file(path: &str, data: &[u8]) -> V2File {
    let leaves: Vec<Hash32> = data.chunks(BLOCK as usize).map(merkle::leaf).collect();
    V2File {
        path: vec![path.into()],
        length: data.len() as u64,
        tree: (!data.is_empty()).then(|| file_tree(&leaves, PIECE)),
    }
}

/// Three files, `a` (3 pieces, the last short), `empty`, `c` (one short piece), and the
/// v1 view with a pad after each unaligned one; and the bytes of the piece space.
fn sample() -> (V2Served, Vec<u8>) {
    let a = bytes(2 * PIECE + 100, 1);
    let c = bytes(20_000, 2);
    let files = vec![v2_file("a", &a), v2_file("empty", &[]), v2_file("c", &c)];
    let mut entries = Vec::new();
    let mut space = Vec::new();
    for (f, data) in files.iter().zip([&a, &vec![], &c]) {
        entries.push(FileEntry {
            path: f.path.clone(),
            length: f.length,
            pad: false,
        });
        space.extend_from_slice(data);
        let pad = seedline_common::metainfo::pad_after(f.length, PIECE);
        if pad > 0 {
            entries.push(FileEntry {
                path: vec![".pad".into(), pad.to_string()],
                length: pad,
                pad: true,
            });
            space.resize(space.len() + pad as usize, 0);
        }
    }
    let view = Info {
        name: "t".into(),
        piece_length: PIECE,
        pieces: Vec::new(),
        layout: Layout::Multi { files: entries },
        private: false,
        source: None,
    };
    let info = V2Info {
        version: Version::V2,
        name: "t".into(),
        piece_length: PIECE,
        files,
        v1_pieces: Vec::new(),
        private: false,
        source: None,
    };
    (V2Served::new(&view, info).unwrap(), space)
}

fn check(node: PieceNode, piece: &[u8], chunk: usize) -> bool {
    let mut h = NodeHasher::new(node);
    for c in piece.chunks(chunk) {
        h.update(c);
    }
    h.matches()
}

#[test]
fn every_piece_hashes_to_its_node_and_a_changed_byte_does_not() {
    let (served, space) = sample();
    let pieces = space.len().div_ceil(PIECE as usize);
    assert_eq!(pieces, 4);
    for i in 0..pieces {
        let node = served.piece_node(i as u32).unwrap();
        let piece = &space[i * PIECE as usize..((i + 1) * PIECE as usize).min(space.len())];
        // Chunks that cut blocks, whole blocks, and the piece at once.
        for chunk in [1000, BLOCK as usize, PIECE as usize] {
            assert!(check(node, piece, chunk), "piece {i} in chunks of {chunk}");
        }
        let mut bad = piece.to_vec();
        bad[0] ^= 1;
        assert!(!check(node, &bad, 4096), "piece {i} changed");
    }
    // The last piece of `a` and `c`'s only piece are short: their padding is not hashed.
    assert_eq!(served.piece_node(2).unwrap().len, 100);
    assert_eq!(served.piece_node(3).unwrap().len, 20_000);
    assert_eq!(served.piece_node(3).unwrap().height, 1);
    assert!(served.piece_node(4).is_none());
}

#[test]
fn hash_requests_are_answered_from_the_piece_layer() {
    let (served, _) = sample();
    let (root, layer) = served.info.files[0].tree.clone().unwrap();
    let layer = layer.unwrap();
    let req = |root, base, count, proof_layers| HashRequest {
        root,
        base,
        index: 0,
        count,
        proof_layers,
    };
    // `a`: 5 blocks, so 8 leaves and the root at height 3; its piece layer (height 1)
    // has 3 hashes and a pad.
    let got = served.hashes(&req(root, 1, 4, 1)).unwrap();
    assert_eq!(got[..3], layer[..]);
    assert_eq!(got[3], merkle::zero_subtree(1));
    assert_eq!(got.len(), 4, "the range spans the tree: no uncles");
    let got = served.hashes(&req(root, 1, 2, 1)).unwrap();
    assert_eq!(got[..2], layer[..2]);
    assert_eq!(got.len(), 3, "one uncle: the other half");
    assert_eq!(
        served.hashes(&req(root, 1, 2, 2)),
        Err(HashRefusal::ProofTooLong)
    );
    // Block hashes are not kept; `c` has no layer; an unknown root is not ours.
    let c_root = served.info.files[2].tree.as_ref().unwrap().0;
    assert_eq!(
        served.hashes(&req(root, 0, 2, 0)),
        Err(HashRefusal::BelowPieceLayer)
    );
    assert_eq!(
        served.hashes(&req(c_root, 1, 2, 0)),
        Err(HashRefusal::BelowPieceLayer)
    );
    assert_eq!(
        served.hashes(&req([9; 32], 1, 2, 0)),
        Err(HashRefusal::OutOfTree)
    );
}
