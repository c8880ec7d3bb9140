//! Encrypted connections (MSE/PE) with real clients set to require them: libtorrent
//! (python3 bindings, RC4 forced both ways) and aria2 (`--bt-require-crypto`) download
//! byte-exact, single- and multi-file, and are counted as RC4; with `encryption =
//! require` a plain client is turned away, and with `off` an encrypted one.

use seedline_seeder::daemon::config::Encryption;

use crate::daemon_util::{metric, test_config};
use crate::peer_client::Client;
use crate::real_clients::{
    aria2_with, assert_file_same, libtorrent_with, multi_file, publish, publish_with,
};
use crate::util::assert_same_tree;

const ARIA2_RC4: [&str; 2] = ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_require_encryption_download_byte_exact() {
    let p = publish(&multi_file(), "Release ü").await;
    let out = libtorrent_with(p.torrent(), 1, &[("LT_ENCRYPTION", "rc4")]).await;
    assert_same_tree(&p.content, &out.path().join("0/Release ü"));
    let out = aria2_with(p.torrent(), &ARIA2_RC4).await;
    assert_same_tree(&p.content, &out.path().join("Release ü"));
    let m = p.seeder.metrics().await;
    assert!(
        metric(
            &m,
            "seedline_seeder_connections_encryption_total{method=\"rc4\"}"
        ) >= 2.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "seedline_seeder_connections_encryption_total{method=\"none\"}"
        ),
        0.0,
        "{m}"
    );
    p.seeder.stop().await;

    let p = publish(&[("one.iso", 700_001)], "one.iso").await;
    let out = libtorrent_with(p.torrent(), 1, &[("LT_ENCRYPTION", "rc4")]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    let out = aria2_with(p.torrent(), &ARIA2_RC4).await;
    assert_file_same(&p.content, &out.path().join("one.iso"));
    p.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_turns_plain_peers_away_and_off_encrypted_ones() {
    let mut cfg = test_config();
    cfg.encryption = Encryption::Require;
    let p = publish_with(&[("one.iso", 100_000)], "one.iso", cfg).await;
    let ih = crate::util::parse(&p.torrent.clone()).info_hash;
    let mut c = Client::connect(p.seeder.peer).await;
    c.send_raw(
        &seedline_common::wire::Handshake::new(ih, seedline_common::PeerId([1; 20])).encode(),
    )
    .await;
    c.expect_closed().await;
    // An encrypting client still downloads.
    let out = libtorrent_with(p.torrent(), 1, &[("LT_ENCRYPTION", "rc4")]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    let m = p.seeder.metrics().await;
    assert_eq!(
        metric(
            &m,
            "seedline_seeder_disconnects_total{reason=\"plaintext_refused\"}"
        ),
        1.0,
        "{m}"
    );
    p.seeder.stop().await;

    let mut cfg = test_config();
    cfg.encryption = Encryption::Off;
    let p = publish_with(&[("one.iso", 100_000)], "one.iso", cfg).await;
    // A plain client (libtorrent's defaults: it tries encrypted first, then plain).
    let out = libtorrent_with(p.torrent(), 1, &[]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    let m = p.seeder.metrics().await;
    assert_eq!(
        metric(
            &m,
            "seedline_seeder_connections_encryption_total{method=\"rc4\"}"
        ),
        0.0,
        "{m}"
    );
    p.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_handshakes_are_limited_per_address() {
    let mut cfg = test_config();
    cfg.encrypted_handshakes_per_minute = 2;
    let p = publish_with(&[("one.iso", 10_000)], "one.iso", cfg).await;
    // Each opens an encrypted handshake (a key above the prime, refused at once); the
    // third within the minute is refused before any Diffie-Hellman work.
    for _ in 0..3 {
        let mut c = Client::connect(p.seeder.peer).await;
        c.send_raw(&[0xff; 96]).await;
        c.expect_closed().await;
    }
    let m = p.seeder.metrics().await;
    let count = |r: &str| {
        metric(
            &m,
            &format!("seedline_seeder_disconnects_total{{reason=\"{r}\"}}"),
        )
    };
    assert_eq!(
        (count("mse_bad_key"), count("mse_rate_limited")),
        (2.0, 1.0),
        "{m}"
    );
    p.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_handshake_may_choose_plain_text() {
    let mut cfg = test_config();
    cfg.encryption = Encryption::Allow;
    let p = publish_with(&[("one.iso", 300_000)], "one.iso", cfg).await;
    let out = libtorrent_with(p.torrent(), 1, &[("LT_ENCRYPTION", "any")]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    let m = p.seeder.metrics().await;
    assert!(
        metric(
            &m,
            "seedline_seeder_connections_encryption_total{method=\"plaintext\"}"
        ) >= 1.0,
        "{m}"
    );
    p.seeder.stop().await;
}

/// An encrypted handshake for `keys` (its RC4 keys) whose initial payload is a plain
/// handshake for `named`; whether the seeder closed the connection.
async fn mixed_handshake(
    peer: std::net::SocketAddr,
    keys: seedline_common::InfoHash,
    named: seedline_common::InfoHash,
) -> bool {
    use seedline_common::mse::{Initiator, RC4};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hello =
        seedline_common::wire::Handshake::new(named, seedline_common::PeerId([4; 20])).encode();
    let mut out = Vec::new();
    let mut a = Initiator::new(&[5; 20], &[], keys, RC4, &hello, &mut out);
    let mut s = tokio::net::TcpStream::connect(peer).await.unwrap();
    s.write_all(&out).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let deadline = std::time::Duration::from_secs(10);
    loop {
        let n = tokio::time::timeout(deadline, s.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap_or(0);
        if n == 0 {
            return true;
        }
        let mut reply = Vec::new();
        if let Some(e) = a.receive(&buf[..n], &mut reply).unwrap() {
            // Established: the seeder answers a good handshake with its own (maybe in
            // the same read), and closes on a mismatched one.
            if !e.received.is_empty() {
                return false;
            }
            let n = tokio::time::timeout(deadline, s.read(&mut buf))
                .await
                .expect("an answer in time")
                .unwrap_or(0);
            return n == 0;
        }
        s.write_all(&reply).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_must_name_the_torrent_the_encryption_named() {
    let p = publish(&[("one.iso", 10_000)], "one.iso").await;
    let ih = crate::util::parse(&p.torrent.clone()).info_hash;
    let other = seedline_common::InfoHash([0x42; 20]);
    assert!(
        !mixed_handshake(p.seeder.peer, ih, ih).await,
        "a matching one is served"
    );
    assert!(mixed_handshake(p.seeder.peer, ih, other).await);
    let m = p.seeder.metrics().await;
    assert_eq!(
        metric(
            &m,
            "seedline_seeder_disconnects_total{reason=\"mse_info_hash_mismatch\"}"
        ),
        1.0,
        "{m}"
    );
    p.seeder.stop().await;
}
