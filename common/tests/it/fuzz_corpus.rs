//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same entry
//! points the fuzzer calls, so a regression on any input the fuzzer once found
//! interesting fails the ordinary stable test suite; no nightly, no cargo-fuzz.

use seedline_common::fuzz;

/// Runs `f` on every file of `fuzz/corpus/<target>/`, reporting each file that panics.
/// A missing or empty directory fails, so a renamed target cannot pass vacuously.
fn replay(target: &str, f: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut files = 0;
    let mut failed = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        files += 1;
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(files > 0, "corpus {} is empty", dir.display());
    assert!(
        failed.is_empty(),
        "{} of {files} inputs panic: {failed:#?}",
        failed.len()
    );
}

#[test]
fn bencode() {
    replay("bencode", fuzz::bencode);
}

#[test]
fn metainfo() {
    replay("metainfo", fuzz::metainfo);
}

#[test]
fn announce_query() {
    replay("announce_query", fuzz::announce_query);
}

#[test]
fn scrape_query() {
    replay("scrape_query", fuzz::scrape_query);
}

#[test]
fn announce_reply() {
    replay("announce_reply", fuzz::announce_reply);
}

#[test]
fn peer_wire() {
    replay("peer_wire", fuzz::peer_wire);
}

#[test]
fn ut_metadata() {
    replay("ut_metadata", fuzz::ut_metadata);
}
