//! uTP (BEP 29) on the peer port: libtorrent with TCP turned off downloads byte-exact,
//! single- and multi-file, plain and RC4-encrypted; libtorrent on its defaults reaches
//! the origin over uTP; with `utp = false` it still downloads, over TCP.

use crate::daemon_util::{metric, test_config};
use crate::real_clients::{assert_file_same, libtorrent_with, multi_file, publish, publish_with};
use crate::util::assert_same_tree;

const UTP: &str = "seedline_seeder_connections_transport_total{transport=\"utp\"}";
const TCP: &str = "seedline_seeder_connections_transport_total{transport=\"tcp\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_over_utp_alone() {
    let only = [("LT_UTP", "only")];
    let p = publish(&multi_file(), "Release ü").await;
    let out = libtorrent_with(p.torrent(), 1, &only).await;
    assert_same_tree(&p.content, &out.path().join("0/Release ü"));
    let m = p.seeder.metrics().await;
    assert!(metric(&m, UTP) >= 1.0, "{m}");
    assert_eq!(metric(&m, TCP), 0.0, "{m}");
    p.seeder.stop().await;

    let p = publish(&[("one.iso", 2_000_001)], "one.iso").await;
    let out = libtorrent_with(p.torrent(), 1, &only).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    // RC4 over uTP: the cipher sits above the transport as over TCP.
    let out = libtorrent_with(p.torrent(), 1, &[only[0], ("LT_ENCRYPTION", "rc4")]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    let m = p.seeder.metrics().await;
    assert!(metric(&m, UTP) >= 2.0, "{m}");
    assert_eq!(metric(&m, TCP), 0.0, "{m}");
    assert!(
        metric(
            &m,
            "seedline_seeder_connections_encryption_total{method=\"rc4\"}"
        ) >= 1.0,
        "{m}"
    );
    p.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_on_its_defaults_comes_over_utp_and_falls_back_without_it() {
    let defaults = [("LT_UTP", "default")];
    let p = publish(&multi_file(), "Release ü").await;
    let out = libtorrent_with(p.torrent(), 2, &defaults).await;
    for i in 0..2 {
        assert_same_tree(&p.content, &out.path().join(format!("{i}/Release ü")));
    }
    let m = p.seeder.metrics().await;
    assert!(metric(&m, UTP) >= 2.0, "{m}");
    p.seeder.stop().await;

    let mut cfg = test_config();
    cfg.utp = false;
    let p = publish_with(&multi_file(), "Release ü", cfg).await;
    let out = libtorrent_with(p.torrent(), 1, &defaults).await;
    assert_same_tree(&p.content, &out.path().join("0/Release ü"));
    let m = p.seeder.metrics().await;
    assert_eq!(metric(&m, UTP), 0.0, "{m}");
    assert!(metric(&m, TCP) >= 1.0, "{m}");
    p.seeder.stop().await;
}
