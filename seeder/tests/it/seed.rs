//! The seeder end to end, in-process: `make-torrent` publishes, the seeder announces to
//! its embedded tracker, and a client built from `seedline-common` downloads byte-exact
//! (blocks and BEP 9 metadata).

use std::path::{Path, PathBuf};

use seedline_common::Metainfo;
use seedline_seeder::daemon::config::Config;
use sha1::{Digest, Sha1};

use crate::daemon_util::{eventually, one_off, test_config, Running};
use crate::peer_client::Client;
use crate::util::{content, make_torrent, write_tree};

/// A multi-file release whose files straddle 64 KiB pieces, with an empty file.
pub fn release(dir: &Path, ours: bool) -> (PathBuf, Vec<u8>) {
    let files = [
        ("rel/a.bin", 100_000),
        ("rel/empty", 0),
        ("rel/sub/b.bin", 300_001),
        ("rel/sub/c.bin", 7),
    ];
    write_tree(dir, &files);
    let mut args = vec![
        "rel",
        "-l",
        "64K",
        "--no-creation-date",
        "-o",
        "rel.torrent",
    ];
    if !ours {
        args.push("--no-created-by");
    }
    make_torrent(dir, &args).ok();
    let mut bytes = Vec::new();
    for (i, (_, len)) in files.iter().enumerate() {
        bytes.extend(content(*len, i));
    }
    (dir.join("rel.torrent"), bytes)
}

/// A running seeder of the test release (see [`release`]) with `tweak` applied to its
/// config: the seeder, the release's info hash, metainfo and bytes, and its directory.
pub struct Served {
    pub s: Running,
    pub ih: seedline_common::InfoHash,
    pub m: Metainfo,
    pub bytes: Vec<u8>,
    pub _dir: tempfile::TempDir,
}

pub async fn serve_release(ours: bool, tweak: impl FnOnce(&mut Config)) -> Served {
    serve_changed_release(ours, |_| {}, tweak).await
}

/// [`serve_release`], with `change` made to the release's files (in the directory it
/// is given) before the seeder starts.
async fn serve_changed_release(
    ours: bool,
    change: impl FnOnce(&Path),
    tweak: impl FnOnce(&mut Config),
) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let (torrent, bytes) = release(dir.path(), ours);
    let (ih, m) = parse(&torrent);
    change(dir.path());
    let mut cfg = test_config();
    cfg.torrents = vec![one_off(&torrent, dir.path())];
    tweak(&mut cfg);
    let s = Running::start(cfg).await;
    Served {
        s,
        ih,
        m,
        bytes,
        _dir: dir,
    }
}

/// A running seeder of a library, empty so far, with `tweak` applied to its config; and
/// the library.
async fn serve_library(tweak: impl FnOnce(&mut Config)) -> (Running, tempfile::TempDir) {
    let lib = tempfile::tempdir().unwrap();
    let mut cfg = test_config();
    cfg.library = Some(lib.path().to_owned());
    tweak(&mut cfg);
    (Running::start(cfg).await, lib)
}

/// A peer asking for `ih` is closed right after its handshake: the torrent is not served.
async fn expect_turned_away(s: &Running, ih: seedline_common::InfoHash) {
    let mut c = Client::connect(s.peer).await;
    c.send_raw(
        &seedline_common::wire::Handshake::new(ih, seedline_common::PeerId([1; 20])).encode(),
    )
    .await;
    c.expect_closed().await;
}

/// How many torrents are in `state`.
async fn torrents(s: &Running, state: &str) -> f64 {
    s.metric(&format!("seedline_seeder_torrents{{state=\"{state}\"}}"))
        .await
}

/// Waits until `n` torrents are being served.
async fn seeding(s: &Running, n: f64) -> bool {
    eventually(|| async { torrents(s, "seeding").await == n }).await
}

/// Waits until the embedded tracker lists the origin as the seed of `ih`.
async fn announced(s: &Running, ih: seedline_common::InfoHash) -> bool {
    eventually(|| async { s.scrape(ih).await.is_some_and(|st| st.complete == 1) }).await
}

/// A peer that has downloaded the whole of `m` (`ih`) from the seeder, `depth` requests
/// in flight, and the bytes it got.
async fn download(
    s: &Running,
    ih: seedline_common::InfoHash,
    m: &Metainfo,
    depth: usize,
) -> (Client, Vec<u8>) {
    let mut c = Client::handshake(s.peer, ih).await;
    let got = c
        .download(m.info.total_length(), m.info.piece_length, depth)
        .await;
    (c, got)
}

fn parse(path: &Path) -> (seedline_common::InfoHash, Metainfo) {
    let p = Metainfo::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    (p.info_hash, p.metainfo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_byte_exact_and_announces_to_the_embedded_tracker() {
    let Served {
        s,
        ih,
        m,
        bytes: expected,
        _dir,
    } = serve_release(true, |_| {}).await;
    assert!(
        announced(&s, ih).await,
        "the seeder announces itself as a seed"
    );
    let (c, got) = download(&s, ih, &m, 32).await;
    assert!(got == expected, "downloaded bytes differ");
    let metrics = s.metrics().await;
    assert_eq!(
        crate::daemon_util::metric(&metrics, "seedline_seeder_uploaded_bytes_total"),
        expected.len() as f64
    );
    assert_eq!(
        crate::daemon_util::metric(
            &metrics,
            "seedline_seeder_pieces_verified_total{result=\"good\"}"
        ),
        m.info.pieces.len() as f64,
        "every piece was hashed before its first upload"
    );
    drop(c);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magnet_metadata_resolves_against_the_seeder_alone() {
    let Served { s, ih, _dir, .. } = serve_release(true, |_| {}).await;
    let mut c = Client::handshake(s.peer, ih).await;
    let info = c.fetch_metadata().await;
    assert_eq!(<[u8; 20]>::from(Sha1::digest(&info)), *ih.as_bytes());
    assert_eq!(
        s.metric("seedline_seeder_metadata_pieces_served_total")
            .await,
        1.0
    );
    s.stop().await;
}

/// A torrent not made by our `make-torrent` is hashed whole before it is served. One
/// bad piece makes it damaged (issue 14, item 2: it used to be served without that
/// piece, and every client stalled at 99%): not served, shown as a state, and served
/// again, byte-exact, once the data is right, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_torrents_are_verified_before_they_are_served() {
    // Flips one byte of piece 3 (bytes 196608..262144, inside b.bin).
    let flip = |dir: &Path| {
        let b = dir.join("rel/sub/b.bin");
        let mut bytes = std::fs::read(&b).unwrap();
        bytes[200_000 - 100_000] ^= 0xff;
        std::fs::write(&b, &bytes).unwrap();
    };
    let Served {
        s,
        ih,
        m,
        bytes: expected,
        _dir: dir,
    } = serve_changed_release(false, flip, |_| {}).await;
    assert!(
        eventually(|| async { torrents(&s, "damaged").await == 1.0 }).await,
        "verification finds it damaged"
    );
    assert_eq!(
        s.metric("seedline_seeder_pieces_verified_total{result=\"bad\"}")
            .await,
        1.0
    );
    assert_eq!(torrents(&s, "seeding").await, 0.0);
    // Not served: a peer is turned away at its handshake.
    expect_turned_away(&s, ih).await;
    // Fix the data: the next library scan sees the change, hashes again, serves.
    flip(dir.path());
    assert!(
        seeding(&s, 1.0).await,
        "served again once the data is right"
    );
    assert_eq!(torrents(&s, "damaged").await, 0.0);
    assert!(announced(&s, ih).await, "announced again");
    let (_, got) = download(&s, ih, &m, 8).await;
    assert!(got == expected);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_picks_up_new_torrents_and_stops_removed_ones() {
    let (s, lib) = serve_library(|_| {}).await;
    let src = tempfile::tempdir().unwrap();
    assert_eq!(torrents(&s, "seeding").await, 0.0);
    // Publish: content in the library, then the torrent dropped in by make-torrent.
    write_tree(lib.path(), &[("rel/a.bin", 70_000)]);
    make_torrent(
        src.path(),
        &[
            lib.path().join("rel").to_str().unwrap(),
            "-l",
            "16K",
            "-o",
            "rel.torrent",
            "--publish",
            lib.path().to_str().unwrap(),
        ],
    )
    .ok();
    let (ih, m) = parse(&lib.path().join("rel.torrent"));
    assert!(seeding(&s, 1.0).await, "the published torrent is picked up");
    let (mut c, got) = download(&s, ih, &m, 4).await;
    assert!(got == content(70_000, 0));
    // Removing the torrent stops it: the open connection is closed, new ones refused.
    std::fs::remove_file(lib.path().join("rel.torrent")).unwrap();
    c.expect_closed().await;
    assert!(seeding(&s, 0.0).await);
    expect_turned_away(&s, ih).await;

    // A broken .torrent is a state with a metric (issue 14: it was only a log line), and
    // leaves it once the file is gone.
    std::fs::write(lib.path().join("broken.torrent"), b"d4:infod").unwrap();
    assert!(eventually(|| async { torrents(&s, "broken").await == 1.0 }).await);
    std::fs::remove_file(lib.path().join("broken.torrent")).unwrap();
    assert!(eventually(|| async { torrents(&s, "broken").await == 0.0 }).await);
    s.stop().await;
}

/// Issue 14 (the first hour, done again): aria2 started right after `make-torrent
/// --publish` was refused by the allow-mode tracker (the seeder had not read the library
/// yet) and did not ask again for minutes. The library directory is now read every
/// second, whatever `rescan_interval` (content checks) says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_torrent_starts_within_a_second_or_two() {
    let (s, lib) = serve_library(|c| c.rescan_interval = 3600).await;
    write_tree(lib.path(), &[("rel/a.bin", 20_000)]);
    let library = lib.path().to_str().unwrap();
    make_torrent(lib.path(), &["rel", "-l", "16K", "--publish", library]).ok();
    // Within the helper's deadline, far below the hour the content rescan waits.
    assert!(seeding(&s, 1.0).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_content_is_reported_and_served_once_it_appears() {
    let mut saved = Vec::new();
    let remove = |dir: &Path| {
        let c_bin = dir.join("rel/sub/c.bin");
        saved = std::fs::read(&c_bin).unwrap();
        std::fs::remove_file(&c_bin).unwrap();
    };
    let Served {
        s,
        ih,
        m,
        bytes: expected,
        _dir: dir,
    } = serve_changed_release(true, remove, |_| {}).await;
    assert_eq!(torrents(&s, "missing").await, 1.0);
    expect_turned_away(&s, ih).await;
    std::fs::write(dir.path().join("rel/sub/c.bin"), saved).unwrap();
    assert!(seeding(&s, 1.0).await, "the next scan finds the content");
    let (_, got) = download(&s, ih, &m, 8).await;
    assert!(got == expected);
    s.stop().await;
}

/// A leecher's `started` announce for `ih` to the seeder's embedded tracker: the body.
async fn leecher_announce(s: &Running, ih: seedline_common::InfoHash) -> Vec<u8> {
    use seedline_common::{AnnounceRequest, Event, PeerId};
    let req = AnnounceRequest {
        info_hash: ih,
        peer_id: PeerId([7; 20]),
        port: 7000,
        uploaded: 0,
        downloaded: 0,
        left: 1,
        event: Event::Started,
        compact: true,
        no_peer_id: true,
        numwant: None,
        key: None,
        ip: None,
    };
    let mut q = Vec::new();
    req.write_query(&mut q);
    let target = format!("/announce?{}", String::from_utf8(q).unwrap());
    crate::daemon_util::http_get(s.tracker.unwrap(), &target)
        .await
        .1
}

/// Issue 14, item 5: the embedded tracker of the README's first command tracked any
/// torrent for anyone. It now tracks the library's own torrents (allow mode, fed by the
/// library as torrents come and go), unless `embedded_tracker_open` says otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_tracker_tracks_only_the_library_unless_opened() {
    use seedline_common::{FailureResponse, InfoHash};
    for open in [false, true] {
        let (s, lib) = serve_library(|c| c.embedded_tracker_open = open).await;
        let src = tempfile::tempdir().unwrap();
        write_tree(lib.path(), &[("rel/a.bin", 30_000)]);
        let content = lib.path().join("rel");
        let library = lib.path().to_str().unwrap();
        make_torrent(
            src.path(),
            &[content.to_str().unwrap(), "-l", "16K", "--publish", library],
        )
        .ok();
        let (ih, _) = parse(&lib.path().join("rel.torrent"));
        assert!(
            announced(&s, ih).await,
            "the library's torrent is tracked, with the origin in it (open: {open})"
        );
        let stranger = leecher_announce(&s, InfoHash([0x5a; 20])).await;
        assert_eq!(
            FailureResponse::decode(&stranger).is_some(),
            !open,
            "a stranger's torrent (open: {open}): {}",
            String::from_utf8_lossy(&stranger)
        );
        // A torrent taken out of the library is no longer tracked (allow mode).
        std::fs::remove_file(lib.path().join("rel.torrent")).unwrap();
        if !open {
            assert!(
                eventually(|| async {
                    FailureResponse::decode(&leecher_announce(&s, ih).await).is_some()
                })
                .await
            );
        }
        s.stop().await;
    }
}

/// The embedded tracker hands out the seeder's `announce_ip`, not the loopback address it
/// announced from, so clients on other hosts can reach the origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_tracker_hands_out_the_announce_ip() {
    use seedline_common::announce_response::{AnnounceResponse, Peers};

    let Served { s, ih, _dir, .. } =
        serve_release(true, |c| c.announce_ip = Some("192.0.2.7".parse().unwrap())).await;
    assert!(announced(&s, ih).await);
    let body = leecher_announce(&s, ih).await;
    let reply = AnnounceResponse::decode(&body).unwrap();
    let Peers::Compact { v4, .. } = reply.peers else {
        panic!("compact reply expected: {reply:?}")
    };
    assert_eq!(
        v4,
        vec![std::net::SocketAddr::new(
            "192.0.2.7".parse().unwrap(),
            s.peer.port()
        )]
    );
    s.stop().await;
}

/// Content that resolves outside the data root through a symlink is not served, unless
/// the operator allows it (issue 13: data paths resolve beneath the data root).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_behind_a_symlink_out_of_the_root_is_refused_unless_allowed() {
    for allow in [false, true] {
        let outside = tempfile::tempdir().unwrap();
        let (torrent, _) = release(outside.path(), true);
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("rel"), root.path().join("rel")).unwrap();
        let mut cfg = test_config();
        cfg.torrents = vec![one_off(&torrent, root.path())];
        cfg.follow_symlinks_outside = allow;
        let s = Running::start(cfg).await;
        let state = if allow { "seeding" } else { "missing" };
        assert!(
            eventually(|| async { torrents(&s, state).await == 1.0 }).await,
            "{state} with follow_symlinks_outside = {allow}"
        );
        s.stop().await;
    }
}
