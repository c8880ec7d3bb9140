//! Untrusted `.torrent` files: `show` refuses them with a message naming the problem.

use std::fs;

use crate::util::make_torrent;

fn torrent_with_files(entries: &str) -> Vec<u8> {
    format!(
        "d4:infod5:filesl{entries}e4:name4:root12:piece lengthi16384e6:pieces20:{}ee",
        "a".repeat(20)
    )
    .into_bytes()
}

#[test]
fn hostile_torrents_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            torrent_with_files("d6:lengthi1e4:pathl2:..6:passwdee"),
            "would leave the torrent's directory",
        ),
        (
            torrent_with_files("d6:lengthi1e4:pathl4:/etcee"),
            "is an absolute path",
        ),
        (
            torrent_with_files("d6:lengthi1e4:pathl1:xeed6:lengthi1e4:pathl1:xee"),
            "appears twice",
        ),
        (torrent_with_files("d6:lengthi1e4:pathl0:ee"), "is empty"),
        (
            b"d4:infod6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces3:abcee".to_vec(),
            "not a multiple of 20",
        ),
        (
            b"d4:infod6:lengthi99999999999999999e4:name1:x12:piece lengthi16384e6:pieces0:ee"
                .to_vec(),
            "add up to more than",
        ),
        (b"d4:infod".to_vec(), "not valid bencode"),
        // Issue 13, finding 7: one path of 300 000 components (a 900 kB torrent) made
        // validation quadratic; it is refused as longer than any file system path.
        (
            torrent_with_files(&format!("d6:lengthi1e4:pathl{}ee", "1:a".repeat(300_000))),
            "more than the 4096 a file system path may have",
        ),
    ];
    for (i, (bytes, needle)) in cases.into_iter().enumerate() {
        let name = format!("{i}.torrent");
        fs::write(dir.path().join(&name), bytes).unwrap();
        let err = make_torrent(dir.path(), &["show", &name]).fails_with(1);
        assert!(
            err.contains(&format!("{name} is not a valid torrent")),
            "{err}"
        );
        assert!(err.contains(needle), "{err} does not say {needle:?}");
    }
}

#[test]
fn oversized_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = fs::File::create(dir.path().join("huge.torrent")).unwrap();
    f.set_len(65 << 20).unwrap();
    let err = make_torrent(dir.path(), &["show", "huge.torrent"]).fails_with(1);
    assert!(err.contains("larger than"), "{err}");
}
