use proptest::prelude::*;
use serde_bencode::value::Value as Reference;
use sha1::{Digest, Sha1};

use super::*;
use crate::metainfo::MAX_TOTAL_LENGTH;

/// Made by Debian's mktorrent 1.1: `mktorrent -d -l 15 -a T1,T2 -a T3 -w W -c C -s SEEDLINE -p`
/// over a directory with spaces, non-ASCII names, an empty file and a one-byte file.
const MKTORRENT: &[u8] = include_bytes!("../testdata/mktorrent-dir.torrent");

#[test]
fn golden_mktorrent_file() {
    let parsed = Metainfo::from_bytes(MKTORRENT).unwrap();
    // The hash python3-libtorrent reports for this file.
    assert_eq!(
        parsed.info_hash.to_hex(),
        "7421d848890fe54f2c289e7261ceea48b2337146"
    );
    let m = &parsed.metainfo;
    assert_eq!(
        m.announce.as_deref(),
        Some("http://tracker.example/announce")
    );
    assert_eq!(
        m.announce_list,
        vec![
            vec![
                "http://tracker.example/announce",
                "http://backup.example/announce"
            ],
            vec!["udp://tracker2.example:6969"],
        ]
    );
    assert_eq!(m.url_list, ["https://cdn.example/files/"]);
    assert_eq!(m.comment.as_deref(), Some("A test release"));
    assert_eq!(m.created_by.as_deref(), Some("mktorrent 1.1"));
    assert_eq!(m.creation_date, None);
    let info = &m.info;
    assert_eq!(info.name, "release");
    assert_eq!(info.piece_length, 32768);
    assert!(info.private);
    assert_eq!(info.source.as_deref(), Some("SEEDLINE"));
    let files: Vec<(String, u64)> = info
        .files()
        .iter()
        .map(|f| (f.path.join("/"), f.length))
        .collect();
    assert_eq!(
        files,
        [
            ("a b.txt".to_string(), 40000),
            ("empty".into(), 0),
            ("one".into(), 1),
            ("sub dir/deeper/x".into(), 70001),
            ("ünï/cödé.bin".into(), 32768),
        ]
    );
    assert_eq!(info.pieces.len(), 5);
    // We model every key mktorrent writes, so re-encoding gives its bytes back.
    assert_eq!(m.to_bytes(), MKTORRENT);
    assert_eq!(info.info_hash(), parsed.info_hash);
}

#[test]
fn info_hash_covers_the_raw_bytes() {
    // Unsorted keys and an unknown key: a re-encoding would differ, the hash must not.
    let info = b"d4:name1:f6:pieces20:aaaaaaaaaaaaaaaaaaaa12:piece lengthi16384e6:lengthi5e1:xi0ee";
    let torrent = [b"d4:info".as_slice(), info, b"e"].concat();
    let parsed = Metainfo::from_bytes(&torrent).unwrap();
    let expected: [u8; 20] = Sha1::digest(info).into();
    assert_eq!(parsed.info_hash.0, expected);
    assert_ne!(parsed.metainfo.info.info_hash(), parsed.info_hash);
}

/// A one-file torrent whose `info` holds `info_body` (without `d`/`e`).
fn with_info(info_body: &str) -> Vec<u8> {
    info_bytes(info_body.as_bytes())
}

fn info_bytes(info_body: &[u8]) -> Vec<u8> {
    [b"d4:infod", info_body, b"ee"].concat()
}

fn pieces(n: usize) -> String {
    format!("6:pieces{}:{}", n * 20, "a".repeat(n * 20))
}

fn files(entries: &str) -> String {
    format!(
        "5:filesl{entries}e4:name4:root12:piece lengthi16384e{}",
        pieces(1)
    )
}

fn rejects(torrent: &[u8], needle: &str) {
    let err = Metainfo::from_bytes(torrent).expect_err("accepted a bad torrent");
    let msg = err.to_string();
    assert!(
        msg.contains(needle),
        "message {msg:?} does not name {needle:?}"
    );
}

#[test]
fn rejects_bad_torrents_naming_the_problem() {
    let ok_tail = format!("12:piece lengthi16384e{}", pieces(1));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"d4:infod".to_vec(), "ends in the middle"),
        (b"d8:announce1:xe".to_vec(), "`info` is missing"),
        (b"d4:infoi1ee".to_vec(), "`info` should be a dictionary"),
        (with_info(&format!("6:lengthi5e{ok_tail}")), "`info -> name` is missing"),
        (with_info(&format!("6:lengthi5e4:name0:{ok_tail}")), "`info -> name` is \"\""),
        (with_info(&format!("6:lengthi5e4:name2:..{ok_tail}")), "leave the torrent's directory"),
        (with_info(&format!("6:lengthi5e4:name3:a/b{ok_tail}")), "path separator"),
        (
            info_bytes(&[b"6:lengthi5e4:name1:\xff", ok_tail.as_bytes()].concat()),
            "not valid UTF-8",
        ),
        (with_info(&format!("6:lengthi-5e4:name1:f{ok_tail}")), "must not be negative"),
        (with_info(&format!("4:name1:f{ok_tail}")), "neither `length` nor `files`"),
        (
            with_info(&format!("5:filesle6:lengthi5e4:name1:f{ok_tail}")),
            "both `length` and `files`",
        ),
        (
            with_info("6:lengthi5e4:name1:f12:piece lengthi16384e6:pieces19:aaaaaaaaaaaaaaaaaaa"),
            "19 bytes long, which is not a multiple of 20",
        ),
        (
            with_info(&format!("6:lengthi40000e4:name1:f{ok_tail}")),
            "holds 1 hashes, but 40000 bytes in pieces of 16384 bytes need 3",
        ),
        (
            with_info(&format!("6:lengthi5e4:name1:f12:piece lengthi0e{}", pieces(1))),
            "`info -> piece length` is 0",
        ),
        (
            with_info(&format!("6:lengthi{}e4:name1:f{ok_tail}", MAX_TOTAL_LENGTH + 1)),
            "add up to more than",
        ),
        (with_info(&files("d6:lengthi1e4:pathl2:..1:xee")), "`info -> files -> 0 -> path` is \"..\""),
        (with_info(&files("d6:lengthi1e4:pathl4:/etcee")), "absolute path"),
        (with_info(&files("d6:lengthi1e4:pathl0:ee")), "is empty"),
        (with_info(&files("d6:lengthi1e4:pathlee")), "is an empty list"),
        (
            with_info(&files("d6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:aee")),
            "\"a\" appears twice",
        ),
        (
            with_info(&files("d6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:a1:bee")),
            "\"a\" in `info -> files` is both a file and a directory",
        ),
        (
            with_info(&files("d6:lengthi1e4:pathl1:a1:beed6:lengthi1e4:pathl1:aee")),
            "\"a\" in `info -> files` is both a file and a directory",
        ),
        (
            with_info(&files("d6:lengthi1e4:pathl1:a1:beed6:lengthi1e4:pathl1:a1:b1:cee")),
            "\"a/b\" in `info -> files` is both a file and a directory",
        ),
        (
            with_info(&files(&format!("d6:lengthi1e4:pathl{}ee", "1:a".repeat(2047)))),
            "`info -> files -> 0 -> path` joins to 4098 bytes",
        ),
        (with_info(&files("")), "`info -> files` is empty"),
        (
            with_info(&files("d6:lengthi9223372036854775807e4:pathl1:aeed6:lengthi9223372036854775807e4:pathl1:bee")),
            "add up to more than",
        ),
        (
            [b"d13:announce-listl1:xe".as_slice(), &with_info(&format!("6:lengthi5e4:name1:f{ok_tail}"))[1..]].concat(),
            "`announce-list -> 0` should be a list",
        ),
    ];
    for (torrent, needle) in cases {
        rejects(&torrent, needle);
    }
}

/// Issue 13, finding 7: one path of 300 000 components made validation quadratic.
#[test]
fn a_path_of_300_000_components_is_refused_in_linear_time() {
    let torrent = with_info(&files(&format!(
        "d6:lengthi1e4:pathl{}ee",
        "1:a".repeat(300_000)
    )));
    assert!(torrent.len() > 900_000);
    rejects(&torrent, "joins to 600004 bytes, more than the 4096");
}

/// Deep but legal paths, many of them sharing prefixes, are accepted; the checks that
/// replaced joining every prefix still find a duplicate at the end.
#[test]
fn deep_shared_paths_are_checked_linearly() {
    let deep = "1:d".repeat(1000);
    let mut entries: String = (0..200)
        .map(|i| format!("d6:lengthi1e4:pathl{deep}{}:f{i}ee", format!("f{i}").len()))
        .collect();
    Metainfo::from_bytes(&with_info(&files(&entries))).expect("legal");
    entries.push_str(&format!("d6:lengthi1e4:pathl{deep}2:f7ee"));
    rejects(&with_info(&files(&entries)), "appears twice");
}

#[test]
fn url_list_may_be_a_string_or_a_list() {
    let tail = format!(
        "4:infod6:lengthi5e4:name1:f12:piece lengthi16384e{}e",
        pieces(1)
    );
    let one = format!("d{tail}8:url-list9:http://w/e");
    let many = format!("d{tail}8:url-listl9:http://w/9:http://v/ee");
    let empty = format!("d{tail}8:url-list0:e");
    let urls = |t: &str| {
        Metainfo::from_bytes(t.as_bytes())
            .unwrap()
            .metainfo
            .url_list
    };
    assert_eq!(urls(&one), ["http://w/"]);
    assert_eq!(urls(&many), ["http://w/", "http://v/"]);
    assert!(urls(&empty).is_empty());
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._é-]{1,12}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn metainfo() -> impl Strategy<Value = Metainfo> {
    let layout = prop_oneof![
        (0u64..100_000).prop_map(|length| Layout::Single { length }),
        proptest::collection::btree_map(
            proptest::collection::vec(name(), 1..2),
            0u64..50_000,
            1..6
        )
        .prop_map(|m| Layout::Multi {
            files: m
                .into_iter()
                .map(|(path, length)| FileEntry {
                    path,
                    length,
                    pad: false
                })
                .collect(),
        }),
    ];
    // Usable URLs only: ports 1-9999, and UDP trackers always with one.
    let url = "(https?://[a-z]{1,8}(:[1-9][0-9]{0,3})?/[a-z]{0,5})|(udp://[a-z]{1,8}:[1-9][0-9]{0,3}(/[a-z]{0,5})?)";
    (
        name(),
        14u32..18,
        layout,
        any::<bool>(),
        proptest::option::of("[a-z]{0,8}"),
        proptest::collection::vec(proptest::collection::vec(url, 1..3), 0..3),
        proptest::collection::vec("https://[a-z]{1,8}/", 0..3),
        proptest::option::of(".{0,20}"),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(name, log2, layout, private, source, tiers, webseeds, comment, date)| {
                let mut info = Info {
                    name,
                    piece_length: 1 << log2,
                    pieces: vec![],
                    layout,
                    private,
                    source,
                };
                info.pieces = (0..info.piece_count()).map(|i| [i as u8; 20]).collect();
                let publication = crate::metainfo::Publication {
                    tiers,
                    webseeds,
                    comment,
                    created_by: Some("proptest".into()),
                    creation_date: date,
                };
                publication.into_metainfo(info).unwrap()
            },
        )
}

/// The same torrent as a `serde_bencode` value, built field by field.
fn reference(m: &Metainfo) -> Reference {
    fn s(v: &str) -> Reference {
        Reference::Bytes(v.as_bytes().to_vec())
    }
    fn dict(entries: Vec<(&str, Reference)>) -> Reference {
        Reference::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v))
                .collect(),
        )
    }
    let i = &m.info;
    let mut info = vec![
        ("name", s(&i.name)),
        ("piece length", Reference::Int(i.piece_length as i64)),
        ("pieces", Reference::Bytes(i.pieces.concat())),
    ];
    match &i.layout {
        Layout::Single { length } => info.push(("length", Reference::Int(*length as i64))),
        Layout::Multi { files } => info.push((
            "files",
            Reference::List(
                files
                    .iter()
                    .map(|f| {
                        dict(vec![
                            ("length", Reference::Int(f.length as i64)),
                            (
                                "path",
                                Reference::List(f.path.iter().map(|c| s(c)).collect()),
                            ),
                        ])
                    })
                    .collect(),
            ),
        )),
    }
    if i.private {
        info.push(("private", Reference::Int(1)));
    }
    if let Some(src) = &i.source {
        info.push(("source", s(src)));
    }
    let mut root = vec![("info", dict(info))];
    if let Some(a) = &m.announce {
        root.push(("announce", s(a)));
    }
    if !m.announce_list.is_empty() {
        let tiers = m
            .announce_list
            .iter()
            .map(|t| Reference::List(t.iter().map(|u| s(u)).collect()));
        root.push(("announce-list", Reference::List(tiers.collect())));
    }
    match m.url_list.as_slice() {
        [] => {}
        [one] => root.push(("url-list", s(one))),
        many => root.push((
            "url-list",
            Reference::List(many.iter().map(|u| s(u)).collect()),
        )),
    }
    for (key, v) in [("comment", &m.comment), ("created by", &m.created_by)] {
        if let Some(v) = v {
            root.push((key, s(v)));
        }
    }
    if let Some(d) = m.creation_date {
        root.push(("creation date", Reference::Int(d)));
    }
    dict(root)
}

proptest! {
    #[test]
    fn round_trip(m in metainfo()) {
        let bytes = m.to_bytes();
        let parsed = Metainfo::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&parsed.metainfo, &m);
        prop_assert_eq!(parsed.info_hash, m.info.info_hash());
    }

    #[test]
    fn encoding_matches_serde_bencode(m in metainfo()) {
        prop_assert_eq!(m.to_bytes(), serde_bencode::to_bytes(&reference(&m)).unwrap());
    }

    #[test]
    fn truncated_or_mangled_torrents_never_panic(
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = MKTORRENT.to_vec();
        let at = flip.index(bytes.len());
        bytes[at] = byte;
        let _ = Metainfo::from_bytes(&bytes);
        let _ = Metainfo::from_bytes(&MKTORRENT[..cut.index(MKTORRENT.len())]);
    }
}
