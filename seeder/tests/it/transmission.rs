//! Transmission downloads single- and multi-file torrents from our seeder, found through
//! the embedded tracker, byte-exact. Transmission refuses peers on 127.0.0.0/8, so the
//! seeder and transmission-cli run in a private network namespace (`unshare -rn`, see
//! `transmission_netns.sh`) on addresses of their own outside 127.0.0.0/8.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{assert_same_tree, make_torrent, tool, write_tree};

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn transmission_downloads_single_and_multi_file_torrents() {
    tool("transmission-cli", "transmission-cli");
    tool("ip", "iproute2");
    tool("unshare", "util-linux");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(&d.join("one"), &[("single.bin", 700_001)]);
    write_tree(
        &d.join("many"),
        &[
            ("album/a.bin", 200_000),
            ("album/sub/b.bin", 65_537),
            ("album/c.txt", 12),
        ],
    );
    let announce = "http://10.200.0.1:6969/announce";
    for (name, parent) in [("single.bin", "one"), ("album", "many")] {
        let content = d.join(parent).join(name);
        make_torrent(
            d,
            &[
                content.to_str().unwrap(),
                "-l",
                "32K",
                "-a",
                announce,
                "-o",
                &format!("{name}.torrent"),
            ],
        )
        .ok();
    }
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/transmission_netns.sh");
    let out = Command::new("timeout")
        .arg((TIMEOUT.as_secs() + 30).to_string())
        .args(["unshare", "-rn", "bash"])
        .arg(&script)
        .arg(&work)
        .arg(env!("CARGO_BIN_EXE_seeder"))
        .arg(TIMEOUT.as_secs().to_string())
        .arg(d.join("single.bin.torrent"))
        .arg(d.join("one"))
        .arg(d.join("album.torrent"))
        .arg(d.join("many"))
        .output()
        .expect("unshare runs");
    let logs = || {
        ["seeder.log", "transmission1.log", "transmission2.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(work.join(f)).unwrap_or_default();
                let tail: String = text
                    .chars()
                    .rev()
                    .take(3000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("---- {f} ----\n{tail}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        out.status.success(),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        logs()
    );
    assert_same_tree(&d.join("one"), &work.join("out1"));
    assert_same_tree(&d.join("many"), &work.join("out2"));
}
