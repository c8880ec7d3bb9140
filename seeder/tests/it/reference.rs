//! Our info hashes against Debian's mktorrent and python3-libtorrent for the same files.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::util::{lt_check, make_torrent, parse, tool, write_tree};

/// An input: a single file (one entry with an empty path) or a directory of files.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, usize)],
}

const K32: usize = 32 << 10;

const CASES: &[Case] = &[
    Case {
        name: "single.bin",
        files: &[("", 100_000)],
    },
    Case {
        name: "one-byte",
        files: &[("", 1)],
    },
    Case {
        name: "exact multiple.bin",
        files: &[("", 4 * K32)],
    },
    Case {
        name: "release ünï",
        files: &[
            ("a b.txt", 40_000),
            ("empty", 0),
            ("one", 1),
            ("sub dir/deeper/x", 70_001),
            ("ünï/cödé.bin", K32),
            // `-` sorts below `/` and `.`: byte order of the whole path, not per component.
            ("a-b/c", 5),
            ("a.txt", 7),
            ("a/b", 2 * K32),
            ("z/empty too", 0),
        ],
    },
    Case {
        name: "exact-total",
        files: &[("x/first", 16_384), ("x/second", 16_384), ("y", K32)],
    },
    Case {
        name: "dir with one file",
        files: &[("only", 10)],
    },
];

/// Creates the case's input under `root` and returns its path.
fn build(root: &Path, case: &Case) -> std::path::PathBuf {
    let input = root.join(case.name);
    if case.files[0].0.is_empty() {
        write_tree(root, &[(case.name, case.files[0].1)]);
    } else {
        std::fs::create_dir_all(&input).unwrap();
        write_tree(&input, case.files);
    }
    input
}

/// `make-torrent` with no date and no creator, plus `extra` options; returns the hash.
fn ours(dir: &Path, input: &Path, piece_length: usize, extra: &[&str], out: &str) -> String {
    let pl = piece_length.to_string();
    let mut args = vec![
        "--no-creation-date",
        "--no-created-by",
        "-l",
        &pl,
        "-o",
        out,
    ];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    make_torrent(dir, &args).ok();
    parse(&dir.join(out)).info_hash.to_hex()
}

#[test]
fn info_hashes_equal_mktorrents() {
    let mktorrent = tool("mktorrent", "mktorrent");
    let dir = tempfile::tempdir().unwrap();
    let mut ours_files = Vec::new();
    let mut theirs_files = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let input = build(dir.path(), case);
        for log2 in [15u32, 16] {
            let extra: &[&str] = if i == 3 {
                &["-p", "-s", "SEEDLINE"]
            } else {
                &[]
            };
            let out = format!("ours-{i}-{log2}.torrent");
            let hash = ours(dir.path(), &input, 1 << log2, extra, &out);
            let theirs = dir.path().join(format!("mk-{i}-{log2}.torrent"));
            let status = Command::new(&mktorrent)
                .args(["-d", "-l", &log2.to_string(), "-o"])
                .arg(&theirs)
                .args(extra)
                .arg(&input)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "mktorrent failed on {}", case.name);
            assert_eq!(
                hash,
                parse(&theirs).info_hash.to_hex(),
                "{} with 2^{log2}-byte pieces",
                case.name
            );
            ours_files.push(dir.path().join(out));
            theirs_files.push(theirs);
        }
    }
    // libtorrent reads the same hash from both files, so neither side's parser is the judge.
    let all = [&ours_files[..], &theirs_files[..]].concat();
    let lt = lt_check(&json!({ "torrents": all, "specs": [] }));
    let hashes = lt["torrents"].as_array().unwrap();
    let (a, b) = hashes.split_at(ours_files.len());
    assert_eq!(a, b);
    for (path, hash) in ours_files.iter().zip(a) {
        assert_eq!(hash.as_str().unwrap(), parse(path).info_hash.to_hex());
    }
}

#[test]
fn info_hashes_equal_libtorrents() {
    let dir = tempfile::tempdir().unwrap();
    let mut specs = Vec::new();
    let mut expected = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let input = build(dir.path(), case);
        for piece_length in [16 << 10, 32 << 10, 64 << 10] {
            let out = format!("ours-{i}-{piece_length}.torrent");
            expected.push(ours(dir.path(), &input, piece_length, &[], &out));
            // libtorrent gets the files in our order; `mktorrent` above checks the order.
            let parsed = parse(&dir.path().join(&out));
            let info = &parsed.metainfo.info;
            let mut spec = json!({
                "parent": dir.path(),
                "name": info.name,
                "piece_length": piece_length,
                "files": null,
                "size": info.total_length(),
            });
            if let seedline_common::metainfo::Layout::Multi { files } = &info.layout {
                let list: Vec<_> = files
                    .iter()
                    .map(|f| json!([f.path.join("/"), f.length]))
                    .collect();
                spec["files"] = json!(list);
            }
            specs.push(spec);
        }
    }
    let lt = lt_check(&json!({ "torrents": [], "specs": specs }));
    let got: Vec<&str> = lt["specs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(got, expected);
}
