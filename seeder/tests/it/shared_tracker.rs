//! Two tracker instances sharing one real `redis-server`: the seeder announces to one,
//! a libtorrent leecher to the other, and the download completes byte-exact. The
//! leecher can only have found the origin through Redis.

use std::net::SocketAddr;

use seedline_testkit::RedisServer;
use tokio_util::sync::CancellationToken;

use crate::daemon_util::{eventually, one_off, scrape, test_config, Running};
use crate::real_clients::libtorrent;
use crate::seed::release;
use crate::util::{assert_same_tree, make_torrent, parse};

/// A tracker in this process on `redis`: its HTTP address, and how to stop it.
async fn instance(redis: &RedisServer) -> (SocketAddr, CancellationToken) {
    let cfg = seedline_tracker::Config {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        store: Some(redis.url()),
        ..seedline_tracker::Config::default()
    };
    let listeners = seedline_tracker::Listeners::bind(&cfg).unwrap();
    let http = listeners.public_addrs()[0];
    let tracker = std::sync::Arc::new(seedline_tracker::Tracker::new(
        &cfg,
        seedline_tracker::metrics::Metrics::new(),
    ));
    let stop = CancellationToken::new();
    tokio::spawn(seedline_tracker::serve(tracker, listeners, stop.clone()));
    (http, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_announced_to_one_instance_downloads_through_another() {
    let redis = RedisServer::start();
    let (a, stop_a) = instance(&redis).await;
    let (b, stop_b) = instance(&redis).await;

    // The torrent names B; the seeder is told to announce to A instead.
    let dir = tempfile::tempdir().unwrap();
    release(dir.path(), true);
    let to_b = format!("http://{b}/announce");
    make_torrent(
        dir.path(),
        &["rel", "-l", "64K", "-a", &to_b, "-o", "b.torrent"],
    )
    .ok();
    let torrent = dir.path().join("b.torrent");
    let ih = parse(&torrent).info_hash;
    let mut cfg = test_config();
    cfg.torrents = vec![one_off(&torrent, dir.path())];
    cfg.tracker = Some(format!("http://{a}/announce"));
    let seeder = Running::start(cfg).await;
    let on_b = eventually(|| async { scrape(b, ih).await.is_some_and(|s| s.complete == 1) }).await;
    assert!(on_b, "B counts the seeder that announced to A");

    let out = libtorrent(torrent.to_str().unwrap(), 1).await;
    assert_same_tree(&dir.path().join("rel"), &out.path().join("0/rel"));
    seeder.stop().await;
    stop_a.cancel();
    stop_b.cancel();
}
