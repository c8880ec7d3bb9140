//! Torrents we create load in real clients and download byte-exact: python3-libtorrent
//! seeds our torrent (checking the data against our piece hashes first), then aria2 and a
//! second libtorrent session download it over loopback.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use seedline_testkit::aria2c;

use crate::util::{assert_same_tree, lt_helper, make_torrent, python, write_tree, KillOnDrop};

/// Long enough for a slow CI machine, short enough to fail a hung test in time.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A libtorrent session seeding `torrent` from `data_parent`, with a one-peer tracker.
struct Seeder {
    process: KillOnDrop,
    peer_port: u16,
    tracker_port: u16,
}

impl Seeder {
    fn start(torrent: &Path, data_parent: &Path) -> Self {
        let mut process = KillOnDrop::spawn(
            Command::new(python())
                .arg(lt_helper())
                .arg("seed")
                .arg(torrent)
                .arg(data_parent)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let line = process
            .stdout_lines()
            .recv_timeout(TIMEOUT)
            .expect("the libtorrent seeder reports READY (it exits if our hashes are wrong)");
        let ports: Vec<u16> = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected line from the seeder: {line}"))
            .split(' ')
            .map(|p| p.parse().unwrap())
            .collect();
        Self {
            process,
            peer_port: ports[0],
            tracker_port: ports[1],
        }
    }
}

impl Drop for Seeder {
    fn drop(&mut self) {
        // Closing stdin asks the helper to exit; KillOnDrop makes sure it does.
        drop(self.process.take_stdin());
    }
}

/// A release with files that straddle pieces, an empty file and a non-ASCII name.
fn release(root: &Path) -> std::path::PathBuf {
    let data = root.join("data");
    write_tree(
        &data.join("Release ü"),
        &[
            ("video.bin", 1_500_000),
            ("extras/notes.txt", 12_345),
            ("extras/empty", 0),
            ("one", 1),
        ],
    );
    data
}

#[test]
fn aria2_downloads_our_torrent_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let data = release(dir.path());
    make_torrent(
        dir.path(),
        &["-l", "64K", "-o", "r.torrent", "data/Release ü"],
    )
    .ok();
    let torrent = dir.path().join("r.torrent");
    let seeder = Seeder::start(&torrent, &data);

    let out = dir.path().join("aria2");
    let mut aria = KillOnDrop::spawn(
        aria2c(&out)
            .args(["--interface=127.0.0.1", "--seed-time=0"])
            .arg(format!(
                "--bt-tracker=http://127.0.0.1:{}/announce",
                seeder.tracker_port
            ))
            .arg(&torrent),
    );
    let status = aria.wait(TIMEOUT);
    assert!(status.success(), "aria2c failed: {status}");
    assert_same_tree(&data, &out);
}

#[test]
fn libtorrent_downloads_our_torrent_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let data = release(dir.path());
    make_torrent(dir.path(), &["-p", "-o", "r.torrent", "data/Release ü"]).ok();
    let torrent = dir.path().join("r.torrent");
    let seeder = Seeder::start(&torrent, &data);

    let out = dir.path().join("lt");
    std::fs::create_dir(&out).unwrap();
    let mut leecher = KillOnDrop::spawn(
        Command::new(python())
            .arg(lt_helper())
            .arg("download")
            .arg(&torrent)
            .arg(&out)
            .arg(seeder.peer_port.to_string())
            .arg(TIMEOUT.as_secs().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let status = leecher.wait(TIMEOUT + Duration::from_secs(10));
    assert!(status.success(), "the libtorrent download failed: {status}");
    assert_same_tree(&data, &out);
}
