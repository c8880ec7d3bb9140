//! v2-only torrents (BEP 52) from the origin: libtorrent downloads them byte-exact from a
//! `.torrent` file, proven piece by piece against the files' Merkle trees, and from a
//! magnet link resolved against the seeder alone, which gives the info dictionary over
//! BEP 9 and the piece layers through `hash request`s.

use crate::daemon_util::test_config;
use crate::real_clients::{
    assert_file_same, libtorrent, libtorrent_with, multi_file, publish_made_with,
};
use crate::util::assert_same_tree;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_v2_only_torrents_from_the_origin() {
    let p = publish_made_with(&multi_file(), "Release ü", test_config(), &["--v2"]).await;
    let out = libtorrent(p.torrent(), 1).await;
    assert_same_tree(&p.content, &out.path().join("0/Release ü"));
    let m = p.seeder.metrics().await;
    let swarm = |s: &str| {
        crate::daemon_util::metric(
            &m,
            &format!("seedline_seeder_connections_swarm_total{{swarm=\"{s}\"}}"),
        )
    };
    assert!(swarm("v2") >= 1.0 && swarm("v1") == 0.0, "{m}");
    p.seeder.stop().await;

    let p = publish_made_with(&[("one.iso", 700_001)], "one.iso", test_config(), &["--v2"]).await;
    let out = libtorrent(p.torrent(), 1).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    p.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_resolves_a_v2_magnet_link_against_the_origin() {
    let p = publish_made_with(&multi_file(), "Release ü", test_config(), &["--v2"]).await;
    assert!(p.magnet.contains("xt=urn:btmh:1220"), "{}", p.magnet);
    assert!(!p.magnet.contains("urn:btih"), "{}", p.magnet);
    let out = libtorrent(&p.magnet, 1).await;
    assert_same_tree(&p.content, &out.path().join("0/Release ü"));
    let m = p.seeder.metrics().await;
    let served = |k: &str| crate::daemon_util::metric(&m, k);
    assert!(
        served("seedline_seeder_metadata_pieces_served_total") >= 1.0,
        "{m}"
    );
    // `video.bin` is longer than a piece: its layer came from us.
    assert!(served("seedline_seeder_hashes_served_total") >= 1.0, "{m}");
    p.seeder.stop().await;
}

/// Encrypted handshakes name a v2 swarm by its truncated hash too: libtorrent requiring
/// RC4 downloads a hybrid and a v2-only torrent through their v2 swarms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_requiring_encryption_joins_v2_swarms() {
    for version in ["--hybrid", "--v2"] {
        let p = publish_made_with(&multi_file(), "Release ü", test_config(), &[version]).await;
        let out = libtorrent_with(p.torrent(), 1, &[("LT_ENCRYPTION", "rc4")]).await;
        assert_same_tree(&p.content, &out.path().join("0/Release ü"));
        let m = p.seeder.metrics().await;
        let count = |k: &str| crate::daemon_util::metric(&m, k);
        let key = "seedline_seeder_connections_encryption_total{method=\"rc4\"}";
        assert!(count(key) >= 1.0, "{version}: {m}");
        let key = "seedline_seeder_connections_swarm_total{swarm=\"v2\"}";
        assert!(count(key) >= 1.0, "{version}: {m}");
        p.seeder.stop().await;
    }
}
