//! Real BitTorrent clients from Debian announce to the tracker; our scrape must show them.

use std::path::Path;
use std::process::{Command, Stdio};

use seedline_common::{InfoHash, ScrapeRequest, ScrapeResponse, ScrapeStats};
use seedline_testkit::{aria2c, aria2c_udp, python, KillOnDrop};
use sha1::{Digest, Sha1};

use crate::util::*;

/// A one-file torrent announcing to `announce`, hand-encoded so the test does not depend
/// on the code under test for its input. Returns the info hash.
fn write_torrent(path: &Path, announce: &str, data: &[u8]) -> InfoHash {
    let piece_len = 16384;
    let mut pieces = Vec::new();
    for chunk in data.chunks(piece_len) {
        pieces.extend_from_slice(&Sha1::digest(chunk));
    }
    let mut info = format!(
        "d6:lengthi{}e4:name8:data.bin12:piece lengthi{piece_len}e6:pieces{}:",
        data.len(),
        pieces.len()
    )
    .into_bytes();
    info.extend_from_slice(&pieces);
    info.push(b'e');
    let mut t = format!("d8:announce{}:{announce}4:info", announce.len()).into_bytes();
    t.extend_from_slice(&info);
    t.push(b'e');
    std::fs::write(path, t).unwrap();
    InfoHash(Sha1::digest(&info).into())
}

async fn stats(s: &TestServer, ih: InfoHash) -> Option<ScrapeStats> {
    let mut q = Vec::new();
    ScrapeRequest {
        info_hashes: vec![ih],
    }
    .write_query(&mut q);
    let r = get(
        s.addr(),
        &format!("/scrape?{}", String::from_utf8(q).unwrap()),
    )
    .await;
    ScrapeResponse::decode(&r.body)
        .ok()?
        .files
        .get(&ih)
        .copied()
}

/// A running tracker and a torrent of `len` bytes in a temp dir that announces to it,
/// over UDP (BEP 15) when `udp`.
async fn tracker_and_torrent(
    len: usize,
    udp: bool,
) -> (TestServer, tempfile::TempDir, std::path::PathBuf, InfoHash) {
    let mut cfg = test_config();
    cfg.udp_listen = vec!["127.0.0.1:0".parse().unwrap()];
    let s = TestServer::start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let torrent = dir.path().join("t.torrent");
    let url = if udp {
        format!("udp://{}/announce", s.udp[0])
    } else {
        format!("http://{}/announce", s.addr())
    };
    let ih = write_torrent(&torrent, &url, &vec![7u8; len]);
    (s, dir, torrent, ih)
}

#[tokio::test]
async fn aria2_announces_and_stops() {
    aria2_announces_and_stops_over(false).await;
}

#[tokio::test]
async fn aria2_announces_and_stops_over_udp() {
    aria2_announces_and_stops_over(true).await;
}

async fn aria2_announces_and_stops_over(udp: bool) {
    let (s, dir, torrent, ih) = tracker_and_torrent(40_000, udp).await;
    let dl = dir.path().join("dl");
    let mut child = KillOnDrop::spawn(
        if udp { aria2c_udp(&dl) } else { aria2c(&dl) }
            .arg(&torrent)
            .stderr(Stdio::null()),
    );
    let seen =
        eventually(|| async { stats(&s, ih).await.is_some_and(|st| st.incomplete == 1) }).await;
    assert!(seen, "aria2c's announce did not show up in our scrape");
    let m = s.metrics().await;
    assert_eq!(
        metric(
            &m,
            "seedline_tracker_peers{family=\"ipv4\",role=\"leecher\"}"
        ),
        Some(1.0)
    );
    // A graceful stop sends event=stopped, which must empty the swarm.
    child.signal("INT");
    let gone = eventually(|| async { stats(&s, ih).await.is_none() }).await;
    assert!(gone, "aria2c's stopped announce did not remove it");
    let _ = child.wait_for(WAIT);
    s.stop().await;
}

const LT_SCRIPT: &str = r#"
import sys, libtorrent as lt
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                  'enable_upnp': False, 'enable_natpmp': False, 'announce_to_all_trackers': True})
h = ses.add_torrent({'ti': lt.torrent_info(sys.argv[1]), 'save_path': sys.argv[2]})
print('ready', flush=True)
sys.stdin.read()
"#;

#[tokio::test]
async fn libtorrent_announces() {
    libtorrent_announces_over(false).await;
}

#[tokio::test]
async fn libtorrent_announces_over_udp() {
    libtorrent_announces_over(true).await;
}

async fn libtorrent_announces_over(udp: bool) {
    let python = python();
    let (s, dir, torrent, ih) = tracker_and_torrent(20_000, udp).await;
    let _child = KillOnDrop::spawn(
        Command::new(python)
            .args(["-c", LT_SCRIPT])
            .arg(&torrent)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null()),
    );
    let seen =
        eventually(|| async { stats(&s, ih).await.is_some_and(|st| st.incomplete == 1) }).await;
    assert!(seen, "libtorrent's announce did not show up in our scrape");
    s.stop().await;
}
