use crate::metainfo::merkle::{file_tree, leaf, BLOCK};
use crate::metainfo::{V2File, V2Info, Version};
use crate::Metainfo;

/// A v2 or hybrid torrent of three files (one empty, one of three pieces) as we write it.
fn sample(version: Version) -> (V2Info, Vec<u8>) {
    let piece = 16 * 1024;
    let tree = |n: usize, seed: u8| {
        let leaves: Vec<_> = (0..n).map(|i| leaf(&[seed, i as u8])).collect();
        Some(file_tree(&leaves, piece))
    };
    let files = vec![
        V2File {
            path: vec!["a".into(), "big".into()],
            length: 2 * BLOCK + 5,
            tree: tree(3, 1),
        },
        V2File {
            path: vec!["b".into()],
            length: 7,
            tree: tree(1, 2),
        },
        V2File {
            path: vec!["e".into()],
            length: 0,
            tree: None,
        },
    ];
    let v2 = V2Info {
        version,
        name: "rel".into(),
        piece_length: piece,
        files,
        // Three pieces for `a/big`, one for `b` (pads keep them apart), none for `e`.
        v1_pieces: if version == Version::Hybrid {
            vec![[9; 20]; 4]
        } else {
            Vec::new()
        },
        private: false,
        source: None,
    };
    let outer = crate::metainfo::Publication::default()
        .around(crate::metainfo::Info {
            name: "rel".into(),
            piece_length: piece,
            pieces: Vec::new(),
            layout: crate::metainfo::Layout::Single { length: 0 },
            private: false,
            source: None,
        })
        .unwrap();
    let bytes = v2.torrent_bytes(&outer);
    (v2, bytes)
}

fn err(bytes: &[u8]) -> String {
    Metainfo::from_bytes(bytes).unwrap_err().to_string()
}

/// `bytes` with `from` replaced by `to` once (same length keeps it valid bencode).
fn swap(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("found");
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&bytes[at + from.len()..]);
    out
}

#[test]
fn our_v2_and_hybrid_torrents_read_back() {
    for version in [Version::V2, Version::Hybrid] {
        let (v2, bytes) = sample(version);
        let parsed = Metainfo::from_bytes(&bytes).unwrap();
        let part = parsed.v2.expect("a v2 part");
        assert_eq!(part.info.files, v2.files, "{version:?}");
        assert_eq!(part.info.version, version);
        assert_eq!(part.info_hash, v2.v2_hash());
        match version {
            Version::Hybrid => assert_eq!(parsed.info_hash, v2.v1_hash()),
            Version::V2 => assert_eq!(parsed.info_hash.0, v2.v2_hash()[..20]),
        }
    }
}

#[test]
fn a_bad_meta_version_or_piece_length_is_named() {
    let (_, bytes) = sample(Version::V2);
    let e = err(&swap(&bytes, b"12:meta versioni2e", b"12:meta versioni3e"));
    assert!(e.contains("info -> meta version"), "{e}");
    let e = err(&swap(
        &bytes,
        b"12:piece lengthi16384e",
        b"12:piece lengthi16385e",
    ));
    assert!(
        e.contains("info -> piece length") && e.contains("power of two"),
        "{e}"
    );
}

#[test]
fn piece_layers_must_be_there_the_right_size_and_hash_to_the_root() {
    let (v2, bytes) = sample(Version::V2);
    let (root, layer) = v2.files[0].tree.clone().unwrap();
    let layer = layer.unwrap();
    let hex: String = root.iter().map(|b| format!("{b:02x}")).collect();
    // A layer hash changed: it no longer climbs to the pieces root.
    let mut wrong = layer[1];
    wrong[0] ^= 1;
    let e = err(&swap(&bytes, &layer[1], &wrong));
    assert!(
        e.contains(&format!("piece layers -> {hex}")) && e.contains("does not hash"),
        "{e}"
    );
    // The layer's key changed: missing.
    let mut other = root;
    other[31] ^= 1;
    let moved = swap(
        &bytes,
        &[b"32:".as_slice(), &root, b"96:"].concat(),
        &[b"32:".as_slice(), &other, b"96:"].concat(),
    );
    let e = err(&moved);
    assert!(e.contains("is missing") && e.contains("rel/a/big"), "{e}");
    // Two hashes instead of three.
    let short = swap(
        &bytes,
        &[b"96:".as_slice(), &layer[0]].concat(),
        &[b"64:".as_slice(), &layer[0]].concat(),
    );
    let short = swap(&short, &layer[2], b"");
    let e = err(&short);
    assert!(
        e.contains("64 bytes") || e.contains("not valid bencode"),
        "{e}"
    );
}

#[test]
fn a_hybrid_whose_v1_files_disagree_is_refused() {
    let (_, bytes) = sample(Version::Hybrid);
    // `b` renamed `c` in the v1 list only (the last `l1:be` is there).
    let at = bytes.windows(5).rposition(|w| w == b"l1:be").unwrap();
    let mut bad = bytes.clone();
    bad[at + 3] = b'c';
    let e = err(&bad);
    assert!(
        e.contains("info -> files -> 2") && e.contains("disagrees"),
        "{e}"
    );
}

#[test]
fn malformed_file_trees_are_named_never_a_panic() {
    let t = |tree: &str| {
        format!("d4:infod9:file tree{tree}12:meta versioni2e4:name3:rel12:piece lengthi16384eee")
            .into_bytes()
    };
    let root = "32:".to_owned() + &"r".repeat(32);
    for (tree, needle) in [
        ("de".to_owned(), "info -> file tree` is an empty directory"),
        ("d1:adee".to_owned(), "is an empty directory"),
        ("d1:ai1ee".to_owned(), "must be a dictionary"),
        ("d1:ad0:i5eee".to_owned(), "must be a dictionary"),
        ("d1:ad0:d6:lengthi-1eeee".to_owned(), "at least 0"),
        (
            "d1:ad0:d6:lengthi5e11:pieces root3:abceee".to_owned(),
            "32 bytes",
        ),
        ("d1:ad0:d6:lengthi5eeee".to_owned(), "32 bytes"),
        (
            format!("d1:ad0:d6:lengthi0e11:pieces root{root}eee"),
            "absent for an empty file",
        ),
        (
            format!("d1:ad0:d6:lengthi5e11:pieces root{root}e1:bdeee"),
            "both a file and a directory",
        ),
        (
            format!("d2:..d0:d6:lengthi5e11:pieces root{root}eee"),
            "leave the torrent",
        ),
        (
            format!("d1:ad0:d6:lengthi5e11:pieces root{root}ee0:dee"),
            "beside other names",
        ),
    ] {
        let e = err(&t(&tree));
        assert!(e.contains(needle), "{tree}: {e}");
    }
    // A file longer than a piece with no `piece layers` at all.
    let e = err(&t(&format!(
        "d1:ad0:d6:lengthi20000e11:pieces root{root}eee"
    )));
    assert!(e.contains("is missing"), "{e}");
}

#[test]
fn paths_are_bounded_in_depth_and_in_all() {
    // 20 nested directories of 250 bytes (bencode nests 32 deep at most): past the
    // 4096-byte path limit.
    let dir = format!("d250:{}", "a".repeat(250)).repeat(20);
    let close = "e".repeat(20);
    let root = "32:".to_owned() + &"r".repeat(32);
    let tree = format!("{dir}d1:fd0:d6:lengthi1e11:pieces root{root}eee{close}");
    let bytes =
        format!("d4:infod9:file tree{tree}12:meta versioni2e4:name3:rel12:piece lengthi16384eee");
    let e = err(bytes.as_bytes());
    assert!(e.contains("4096"), "{e}");
}

#[test]
fn v1_pad_files_only_align() {
    use crate::metainfo::{FileEntry, Info, Layout};
    let entry = |p: &str, length, pad| FileEntry {
        path: vec![p.to_owned()],
        length,
        pad,
    };
    let info = |files: Vec<FileEntry>, pieces| Info {
        name: "rel".into(),
        piece_length: 16384,
        pieces: vec![[0; 20]; pieces],
        layout: Layout::Multi { files },
        private: false,
        source: None,
    };
    // A pad that aligns the next file: fine, and pad paths may repeat.
    let ok = info(
        vec![
            entry("a", 100, false),
            entry(".pad", 16284, true),
            entry("b", 100, false),
            entry(".pad", 16284, true),
        ],
        2,
    );
    ok.validate().unwrap();
    // A pad as long as a piece, or one that does not end on a boundary: refused.
    for bad in [
        info(
            vec![entry("a", 100, false), entry(".pad", 16384 + 16284, true)],
            2,
        ),
        info(vec![entry("a", 100, false), entry(".pad", 100, true)], 1),
    ] {
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("pad file"), "{e}");
    }
}
