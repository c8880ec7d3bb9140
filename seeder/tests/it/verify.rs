//! `make-torrent verify` against good, corrupted, short and missing data.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::util::{make_torrent, write_tree};

const FILES: &[(&str, usize)] = &[("a", 40_000), ("b/c", 30_000), ("d", 20_000)];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("rel"), FILES);
    make_torrent(dir.path(), &["-l", "16K", "rel"]).ok();
    dir
}

/// `make-torrent verify` of the release in `dir`, asserting the exit status of finding
/// bad data (3); its report.
#[track_caller]
fn verify_mismatch(dir: &Path) -> String {
    make_torrent(dir, &["verify", "rel.torrent"])
        .exited(3)
        .stdout
}

#[test]
fn good_data_passes() {
    let dir = setup();
    let out = make_torrent(dir.path(), &["verify", "rel.torrent"]).ok();
    assert!(out.starts_with("OK: all 6 pieces of rel match"), "{out}");
    // PATH is the content itself: the directory that holds it is a usage error with a
    // hint, not "every file is missing" and exit 3 as if the data were bad (issue 14).
    let err = make_torrent(dir.path(), &["verify", "rel.torrent", "."]).fails_with(2);
    assert!(err.contains("holds none of the torrent's files"), "{err}");
    assert!(err.contains("did you mean ./rel?"), "{err}");
    // An explicit path, elsewhere.
    fs::rename(dir.path().join("rel"), dir.path().join("moved")).unwrap();
    let err = make_torrent(dir.path(), &["verify", "rel.torrent"]).fails_with(2);
    assert!(
        err.contains("rel holds none of the torrent's files"),
        "{err}"
    );
    make_torrent(dir.path(), &["verify", "rel.torrent", "moved"]).ok();
}

#[test]
fn a_flipped_byte_names_the_piece_and_files() {
    let dir = setup();
    // Byte 40 000 + 5 000 is in b/c, in piece 2 (32768..49152), which also covers a.
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join("rel/b/c"))
        .unwrap();
    f.write_all_at(b"\xff\xfe", 5_000).unwrap();
    drop(f);
    let out = verify_mismatch(dir.path());
    assert!(
        out.contains("MISMATCH: piece 2 of 6 (counting from 0; bytes 32768 to 49151)"),
        "{out}"
    );
    assert!(
        out.contains("rel/a\n") && out.contains("rel/b/c\n"),
        "{out}"
    );
    assert!(out.contains("1 of 6 pieces do not match"), "{out}");
}

#[test]
fn missing_and_short_files_are_reported() {
    let dir = setup();
    fs::remove_file(dir.path().join("rel/d")).unwrap();
    fs::write(dir.path().join("rel/a"), b"short").unwrap();
    let out = verify_mismatch(dir.path());
    assert!(
        out.contains("rel/a is 5 bytes, but the torrent says 40000"),
        "{out}"
    );
    assert!(out.contains("rel/d is missing"), "{out}");
}

#[test]
fn single_file_torrent() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("file.bin", 100_001)]);
    make_torrent(dir.path(), &["-o", "t/file.torrent", "file.bin"]).fails_with(1);
    fs::create_dir(dir.path().join("t")).unwrap();
    make_torrent(dir.path(), &["-o", "t/file.torrent", "file.bin"]).ok();
    make_torrent(dir.path(), &["verify", "t/file.torrent", "file.bin"]).ok();
    // By default the data is looked for next to the torrent.
    let err = make_torrent(dir.path(), &["verify", "t/file.torrent"]).fails_with(2);
    assert!(
        err.contains("t/file.bin holds none of the torrent's files"),
        "{err}"
    );
}

/// A v1 torrent with BEP 47 pad files, as libtorrent 2.0 writes one: the pads are zeros
/// in the piece stream, never looked for on disk, and never named as a bad piece's file.
#[test]
fn a_v1_torrent_with_pad_files_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(&dir.path().join("rel"), FILES);
    let torrent = dir.path().join("rel.torrent");
    crate::util::lt_command(
        "create_padded_v1",
        &serde_json::json!({
            "parent": dir.path(), "path": "rel", "piece_length": 16384, "output": torrent,
        }),
    );
    let parsed = crate::util::parse(&torrent);
    let pads = parsed
        .metainfo
        .info
        .files()
        .iter()
        .filter(|f| f.pad)
        .count();
    assert!(pads >= 2, "libtorrent padded the files: {pads} pads");
    let out = make_torrent(dir.path(), &["verify", "rel.torrent"]).ok();
    assert!(out.starts_with("OK: all "), "{out}");
    // A changed byte in `b/c`, whose last piece is followed by a pad.
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join("rel/b/c"))
        .unwrap();
    f.write_all_at(b"!", 29_999).unwrap();
    let out = verify_mismatch(dir.path());
    assert!(out.contains("rel/b/c"), "{out}");
    assert!(!out.contains(".pad"), "{out}");
}
