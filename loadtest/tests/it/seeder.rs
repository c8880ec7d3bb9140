//! `loadtest seeder` against our seeder, in-process on loopback: every leecher completes
//! with every piece checked, and the report adds up; a seeder serving corrupt data is
//! caught.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use seedline_common::metainfo::{Info, Layout, Publication};
use seedline_loadtest::cli::{Cli, Command};
use seedline_loadtest::seeder;
use seedline_seeder::daemon::config::OneOff;
use seedline_seeder::daemon::{self, Config, Listeners};
use sha1::{Digest, Sha1};
use tokio_util::sync::CancellationToken;

const PIECE: u64 = 64 * 1024;

/// Writes `data` as `dir/rel.bin` and its torrent (made outside `make-torrent`, so the
/// seeder verifies pieces itself) as `dir/rel.torrent`.
fn release(dir: &Path, data: &[u8]) {
    std::fs::write(dir.join("rel.bin"), data).unwrap();
    let info = Info {
        name: "rel.bin".into(),
        piece_length: PIECE,
        pieces: data
            .chunks(PIECE as usize)
            .map(|c| Sha1::digest(c).into())
            .collect(),
        layout: Layout::Single {
            length: data.len() as u64,
        },
        private: false,
        source: None,
    };
    let m = Publication {
        tiers: vec![vec!["http://127.0.0.1:9/announce".into()]],
        ..Publication::default()
    }
    .into_metainfo(info)
    .unwrap();
    std::fs::write(dir.join("rel.torrent"), m.to_bytes()).unwrap();
}

async fn start_seeder(dir: &Path) -> (SocketAddr, CancellationToken) {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let cfg = Config {
        listen: local,
        admin_listen: local,
        embedded_tracker_listen: local,
        embedded_tracker_admin_listen: local,
        torrents: vec![OneOff {
            torrent: dir.join("rel.torrent"),
            data: dir.to_owned(),
        }],
        upload_slots: 4,
        ..Config::default()
    };
    let listeners = Listeners::bind(&cfg).unwrap();
    let peer = listeners.peer.local_addr().unwrap();
    let token = CancellationToken::new();
    tokio::spawn(daemon::run(cfg, listeners, token.clone()));
    (peer, token)
}

fn args(target: SocketAddr, torrent: &Path, extra: &[&str]) -> seeder::SeederArgs {
    let mut argv = vec![
        "loadtest".to_string(),
        "seeder".into(),
        "--target".into(),
        target.to_string(),
        "--torrent".into(),
        torrent.to_str().unwrap().into(),
        "--timeout".into(),
        "60".into(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Seeder(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31) ^ (i >> 11)) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_leechers_download_everything_more_than_the_upload_slots() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * PIECE as usize + 12_345);
    release(dir.path(), &bytes);
    // More leechers than the seeder's per-address cap (8): each binds its own loopback
    // address, as different hosts would.
    let (peer, token) = start_seeder(dir.path()).await;
    let pid = std::process::id().to_string();
    let a = args(
        peer,
        &dir.path().join("rel.torrent"),
        &[
            "--peers",
            "12",
            "--pipeline",
            "16",
            "--stall-timeout",
            "10",
            "--target-pid",
            &pid,
        ],
    );
    let r = tokio::time::timeout(
        Duration::from_secs(90),
        seeder::run(&a, &CancellationToken::new()),
    )
    .await
    .expect("bounded")
    .unwrap();
    token.cancel();
    assert_eq!(r.errors.len(), 0, "{}", r.human());
    assert_eq!(r.completed, 12, "{}", r.human());
    assert_eq!(r.bytes_total, 12 * bytes.len() as u64);
    assert_eq!(r.pieces_bad, 0);
    assert!(r.fairness > 0.0 && r.fairness <= 1.0 + 1e-9);
    // The seeder's CPU over a ~10 ms download is often zero 10 ms ticks, so the figure is
    // checked for being sampled and consistent; `procfs::tests` shows the reader counts.
    let tp = r.target_process.as_ref().expect("--target-pid was sampled");
    assert!(
        tp.cpu_secs >= 0.0 && tp.cpu_secs.is_finite(),
        "{}",
        r.human()
    );
    let gib = r.bytes_total as f64 / (1u64 << 30) as f64;
    assert!((tp.cpu_secs_per_gib * gib - tp.cpu_secs).abs() < 1e-9);
    assert!(tp.rss_kib.is_some_and(|k| k > 0));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["completed"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_and_utp_leechers_download_everything() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2 * PIECE as usize + 777);
    release(dir.path(), &bytes);
    let (peer, token) = start_seeder(dir.path()).await;
    // Every block checked against its piece's hash: a byte decrypted wrongly fails it.
    // Over uTP (BEP 29) as well, plain and RC4.
    for (encryption, transport) in [
        ("rc4", "tcp"),
        ("plain", "tcp"),
        ("none", "utp"),
        ("rc4", "utp"),
    ] {
        let a = args(
            peer,
            &dir.path().join("rel.torrent"),
            &[
                "--peers",
                "4",
                "--stall-timeout",
                "10",
                "--encryption",
                encryption,
                "--transport",
                transport,
            ],
        );
        let r = tokio::time::timeout(
            Duration::from_secs(90),
            seeder::run(&a, &CancellationToken::new()),
        )
        .await
        .expect("bounded")
        .unwrap();
        assert_eq!(r.errors.len(), 0, "{encryption}/{transport}: {}", r.human());
        assert_eq!(r.completed, 4, "{encryption}/{transport}: {}", r.human());
        assert_eq!(r.pieces_bad, 0, "{encryption}/{transport}");
    }
    token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_data_and_bad_targets_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2 * PIECE as usize);
    release(dir.path(), &bytes);
    // The torrent promises other bytes than the seeder has: its own verification keeps
    // it from serving them, so leechers stall and say so instead of hanging.
    let mut other = bytes.clone();
    other[5] ^= 1;
    std::fs::write(dir.path().join("rel.bin"), &other).unwrap();
    let (peer, token) = start_seeder(dir.path()).await;
    let a = args(
        peer,
        &dir.path().join("rel.torrent"),
        &["--peers", "2", "--stall-timeout", "2"],
    );
    let r = seeder::run(&a, &CancellationToken::new()).await.unwrap();
    token.cancel();
    assert!(r.completed < 2, "{}", r.human());
    assert!(r.errors.values().sum::<u64>() >= 1, "{}", r.human());

    let remote = args(
        "192.0.2.1:6881".parse().unwrap(),
        &dir.path().join("rel.torrent"),
        &[],
    );
    let e = seeder::run(&remote, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
    let missing = args(peer, &dir.path().join("nope.torrent"), &[]);
    assert!(seeder::run(&missing, &CancellationToken::new())
        .await
        .is_err());
}
