//! Golden output of `show`, `show --json` and the creation summary.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite the files after an intended change, then review
//! the diff.

use std::fs;
use std::path::{Path, PathBuf};

use seedline_common::metainfo::{Info, Layout, Publication};

use crate::util::{make_torrent, write_tree};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden")
}

#[track_caller]
fn check(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from the golden file\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// Made by Debian's mktorrent; see `common/src/metainfo/testdata`.
fn mktorrent_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../common/src/metainfo/testdata/mktorrent-dir.torrent")
}

#[test]
fn show_a_mktorrent_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = mktorrent_fixture();
    let t = t.to_str().unwrap();
    check(
        "show-mktorrent.txt",
        &make_torrent(dir.path(), &["show", t]).ok(),
    );
    check(
        "show-mktorrent.json",
        &make_torrent(dir.path(), &["show", "--json", t]).ok(),
    );
}

#[test]
fn show_a_single_file_torrent_with_dates() {
    let dir = tempfile::tempdir().unwrap();
    let info = Info {
        name: "Film (2024).mkv".into(),
        piece_length: 4 << 20,
        pieces: (0..3u8).map(|i| [i; 20]).collect(),
        layout: Layout::Single { length: 10_000_000 },
        private: false,
        source: None,
    };
    let m = Publication {
        tiers: vec![vec!["http://tracker.example:6969/announce".into()]],
        webseeds: vec![],
        comment: None,
        created_by: Some("seedline make-torrent 0.1.0".into()),
        creation_date: Some(1_700_000_000),
    }
    .into_metainfo(info)
    .unwrap();
    let path = dir.path().join("film.torrent");
    fs::write(&path, m.to_bytes()).unwrap();
    check(
        "show-single.txt",
        &make_torrent(dir.path(), &["show", "film.torrent"]).ok(),
    );
    check(
        "show-single.json",
        &make_torrent(dir.path(), &["show", "--json", "film.torrent"]).ok(),
    );
}

#[test]
fn creation_summary() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        &dir.path().join("release"),
        &[("a b.txt", 40_000), ("empty", 0), ("ünï/x", 70_001)],
    );
    let args = [
        "--no-creation-date",
        "-a",
        "http://t.example/announce",
        "-w",
        "https://w.example/r/",
        "-l",
        "32K",
    ];
    let text = make_torrent(dir.path(), &[&args[..], &["release"]].concat()).ok();
    check("create.txt", &text);
    let json = make_torrent(
        dir.path(),
        &[&args[..], &["-f", "--json", "release"]].concat(),
    )
    .ok();
    check("create.json", &json);
}
