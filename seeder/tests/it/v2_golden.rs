//! v2 and hybrid torrents (BEP 52, BEP 47) from `make-torrent --v2` and `--hybrid`: both
//! info hashes equal those of the torrent python3-libtorrent 2.0 creates from the same
//! files with the same piece length, and libtorrent and our own parser read ours to the
//! same hashes.

use std::path::Path;

use serde_json::json;

use crate::util::{lt_command, make_torrent, parse, tool, write_tree};

/// A tree with what orders and pads differently: an empty file, a UTF-8 name, nested
/// directories, `a/x` against `a-b/y` (component order, not whole-path order), files
/// of exactly one piece, of one block and of several pieces.
fn tree(root: &Path) {
    write_tree(
        root,
        &[
            ("rel/a/x", 70_000),
            ("rel/a-b/y", 100),
            ("rel/a.txt", 16_384),
            ("rel/B.txt", 5),
            ("rel/empty", 0),
            ("rel/ü/é.bin", 150_001),
            ("rel/z/deep/er/f", 1),
        ],
    );
    write_tree(root, &[("single.iso", 300_000)]);
}

#[test]
fn v2_and_hybrid_info_hashes_equal_libtorrents() {
    tool("python3", "python3-libtorrent");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    let mut torrents = Vec::new();
    let mut trees = Vec::new();
    for input in ["rel", "single.iso"] {
        for piece in ["16K", "32K", "64K"] {
            for version in ["--v2", "--hybrid"] {
                let out = d.join(format!("{input}{piece}{version}.torrent"));
                make_torrent(
                    d,
                    &[input, version, "-l", piece, "-o", out.to_str().unwrap()],
                )
                .ok();
                torrents.push(out.to_str().unwrap().to_owned());
                let piece_length = piece.trim_end_matches('K').parse::<u64>().unwrap() * 1024;
                trees.push(json!({
                    "parent": d, "path": input, "piece_length": piece_length,
                    "v2_only": version == "--v2",
                }));
            }
        }
    }
    let lt = lt_command("check2", &json!({ "torrents": torrents, "trees": trees }));
    let (ours, theirs) = (
        lt["torrents"].as_array().unwrap(),
        lt["trees"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), torrents.len());
    for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(o, t, "{}: ours against libtorrent's (v1, v2)", torrents[i]);
        assert_ne!(t[1], "0".repeat(64), "{}: a v2 hash", torrents[i]);
        // Our own parser reads the same hashes back.
        let parsed = parse(Path::new(&torrents[i]));
        let v2 = parsed.v2.as_ref().expect("a v2 part");
        let v2_hex: String = v2.info_hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            v2_hex,
            t[1].as_str().unwrap(),
            "{}: v2 as we read it",
            torrents[i]
        );
        if t[0] != "0".repeat(40) {
            assert_eq!(
                parsed.info_hash.to_hex(),
                t[0].as_str().unwrap(),
                "{}: v1",
                torrents[i]
            );
        }
    }
}

#[test]
fn the_summary_gives_both_hashes_and_a_btmh_magnet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    let out = make_torrent(d, &["rel", "--hybrid", "--dry-run", "--json"]).ok();
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (v1, v2) = (
        s["info_hash"].as_str().unwrap(),
        s["info_hash_v2"].as_str().unwrap(),
    );
    assert_eq!((v1.len(), v2.len()), (40, 64));
    let magnet = s["magnet"].as_str().unwrap();
    assert!(
        magnet.starts_with(&format!(
            "magnet:?xt=urn:btih:{v1}&xt=urn:btmh:1220{v2}&dn=rel"
        )),
        "{magnet}"
    );
    assert_eq!(s["file_count"], 7, "pad files are not counted");

    let out = make_torrent(d, &["single.iso", "--v2", "--dry-run", "--json"]).ok();
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v2 = s["info_hash_v2"].as_str().unwrap();
    assert_eq!(
        s["info_hash"].as_str().unwrap(),
        &v2[..40],
        "the truncated v2 hash"
    );
    assert!(s["magnet"]
        .as_str()
        .unwrap()
        .starts_with(&format!("magnet:?xt=urn:btmh:1220{v2}&dn=single.iso")));
}

#[test]
fn verify_checks_every_file_against_its_tree_and_names_the_bad_piece() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    for version in ["--v2", "--hybrid"] {
        make_torrent(d, &["rel", version, "-l", "16K", "-o", "t.torrent", "-f"]).ok();
        let out = make_torrent(d, &["verify", "t.torrent", "rel"]).ok();
        assert!(
            out.starts_with("OK: all 7 files of rel match"),
            "{version}: {out}"
        );
    }
    // One byte of `ü/é.bin` changed in its third piece (bytes 32768 to 49151).
    let path = d.join("rel/ü/é.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40_000] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let out = make_torrent(d, &["verify", "t.torrent", "rel"])
        .exited(3)
        .stdout;
    assert!(
        out.contains("é.bin: piece 2 of 10 (counting from 0; bytes 32768 to 49151 of the file)"),
        "{out}"
    );
    assert!(out.contains("1 of 7 files do not match"), "{out}");
    assert!(
        out.contains("1 of the hybrid's 19 v1 pieces do not match"),
        "{out}"
    );
}

/// A directory holding one file of its own name (`foo/foo`): a v2 file tree cannot tell it
/// from the single file `foo` (libtorrent reads a single file), so `--v2` refuses it with
/// the way out; a hybrid's v1 `files` list says it is a directory, and libtorrent and we
/// both read it so, with libtorrent's hashes (a one-file torrent has no pad file).
#[test]
fn a_directory_holding_only_its_namesake_is_hybrid_or_nothing() {
    tool("python3", "python3-libtorrent");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(d, &[("foo/foo", 50_000)]);
    let err = make_torrent(d, &["foo", "--v2", "-o", "v2.torrent"]).fails_with(2);
    assert!(err.contains("cannot tell from the single file"), "{err}");
    assert!(err.contains("--hybrid"), "{err}");
    assert!(!d.join("v2.torrent").exists());
    // Hybrids of it, and of a directory holding one file of another name: libtorrent
    // pads no torrent of a single file, even one in a directory.
    write_tree(d, &[("solo/only.bin", 50_000)]);
    let mut torrents = Vec::new();
    let mut trees = Vec::new();
    for input in ["foo", "solo"] {
        let out = d.join(format!("{input}.torrent"));
        make_torrent(
            d,
            &[input, "--hybrid", "-l", "16K", "-o", out.to_str().unwrap()],
        )
        .ok();
        torrents.push(out);
        trees.push(json!({ "parent": d, "path": input, "piece_length": 16384, "v2_only": false }));
    }
    let lt = lt_command("check2", &json!({ "torrents": torrents, "trees": trees }));
    assert_eq!(lt["torrents"], lt["trees"], "ours against libtorrent's");
    let torrent = d.join("foo.torrent");
    let parsed = parse(&torrent);
    let files = parsed.metainfo.info.files();
    assert_eq!(files[0].path, ["foo"], "a file inside the directory foo");
    let shown = make_torrent(d, &["show", "foo.torrent"]).ok();
    assert!(shown.contains("foo/foo"), "{shown}");
}
