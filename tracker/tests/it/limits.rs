use std::time::Duration;

use seedline_common::{Event, FailureResponse};

use crate::client::*;
use crate::util::*;

#[tokio::test]
async fn connection_close_is_honoured_without_a_reset() {
    let s = TestServer::start(test_config()).await;
    let mut c = Conn::open(s.addr()).await;
    c.send(
        &announce_target(&announce(1, 1, 1, 0, Event::Started)),
        &[("Connection", "close")],
    )
    .await;
    let r = c.read_response().await.expect("reply before close");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    let mut tmp = [0u8; 16];
    let n = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut c.stream, &mut tmp))
        .await
        .expect("closed in time")
        .expect("an orderly close (FIN), not a reset");
    assert_eq!(n, 0);
    s.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let s = TestServer::start(test_config()).await;
    let mut c = Conn::open(s.addr()).await;
    for i in 0..200u16 {
        c.send(
            &announce_target(&announce((i % 7) as u8, 1, i + 1, 1, Event::None)),
            &[],
        )
        .await;
        assert_eq!(c.read_response().await.expect("keep-alive").status, 200);
    }
    s.stop().await;
}

#[tokio::test]
async fn a_connection_reaches_the_tracker_with_its_first_request() {
    let s = start_with(|c| c.defer_accept = 5).await;
    let mut c = Conn::open(s.addr()).await;
    // Connected as far as the client knows; the kernel holds it (TCP_DEFER_ACCEPT).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_metrics(&s, "seedline_tracker_connections_total 0").await;
    c.send("/health", &[]).await;
    assert_eq!(c.read_response().await.expect("served").status, 200);
    assert_metrics(&s, "seedline_tracker_connections_total 1").await;
    s.stop().await;
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let s = start_with(|c| (c.header_read_timeout, c.idle_timeout) = (1, 2)).await;
    // Slowloris: a head that never ends.
    let mut slow = Conn::open(s.addr()).await;
    slow.send_raw(b"GET /announce?info_hash=").await;
    // Idle keep-alive after one request.
    let mut idle = Conn::open(s.addr()).await;
    idle.send("/health", &[]).await;
    assert_eq!(idle.read_response().await.unwrap().status, 200);
    // Connected but silent from the start: the kernel hands it over after defer_accept
    // (1 s), then the head timeout runs.
    let mut silent = Conn::open(s.addr()).await;
    assert!(slow.closed_by_server().await, "slow head closed");
    assert!(idle.closed_by_server().await, "idle keep-alive closed");
    assert!(silent.closed_by_server().await, "silent connection closed");
    assert!(
        eventually(|| async {
            metric(&s.metrics().await, "seedline_tracker_connections_open").unwrap_or(-1.0) == 0.0
        })
        .await,
        "connection gauge returns to zero"
    );
    assert_metrics(
        &s,
        "
        seedline_tracker_connections_idle_closed_total 1
        seedline_tracker_connections_slow_closed_total 2
        ",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn connection_cap_queues_extra_clients() {
    let s = start_with(|c| c.max_connections = 2).await;
    let mut a = Conn::open(s.addr()).await;
    a.send("/health", &[]).await;
    a.read_response().await.unwrap();
    let mut b = Conn::open(s.addr()).await;
    b.send("/health", &[]).await;
    b.read_response().await.unwrap();
    // The third waits in the backlog: no reply while both slots are held.
    let mut c = Conn::open(s.addr()).await;
    c.send("/health", &[]).await;
    let early = tokio::time::timeout(Duration::from_millis(300), c.read_response()).await;
    assert!(early.is_err(), "third connection was served past the cap");
    drop(a);
    assert_eq!(
        c.read_response()
            .await
            .expect("served once a slot frees")
            .status,
        200
    );
    drop(b);
    s.stop().await;
}

/// Three workers, each with its own socket on the one port, serve every connection, and
/// share one connection cap: a held slot in one worker holds back the others' clients.
#[tokio::test]
async fn http_workers_share_the_port_and_the_connection_cap() {
    let cfg = seedline_tracker::Config {
        http_workers: 3,
        max_connections: 4,
        ..test_config()
    };
    let listeners = seedline_tracker::Listeners::bind(&cfg).unwrap();
    assert_eq!(listeners.public[0].len(), 3);
    let port = listeners.public_addrs()[0].port();
    assert!(listeners.public[0]
        .iter()
        .all(|l| l.local_addr().unwrap().port() == port));
    // A second tracker on the same port is refused, as without SO_REUSEPORT: it would
    // otherwise take a share of the connections with a store of its own.
    let again = seedline_tracker::Config {
        listen: listeners.public_addrs(),
        ..cfg.clone()
    };
    let err = seedline_tracker::Listeners::bind(&again)
        .err()
        .expect("port in use");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    drop(listeners);
    let s = TestServer::start(cfg).await;
    for _ in 0..40 {
        let mut c = Conn::open(s.addr()).await;
        c.send("/health", &[]).await;
        assert_eq!(c.read_response().await.unwrap().status, 200);
    }
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = Conn::open(s.addr()).await;
        c.send("/health", &[]).await;
        c.read_response().await.unwrap();
        held.push(c);
    }
    let mut fifth = Conn::open(s.addr()).await;
    fifth.send("/health", &[]).await;
    let early = tokio::time::timeout(Duration::from_millis(300), fifth.read_response()).await;
    assert!(early.is_err(), "served past the shared cap");
    held.remove(0);
    assert_eq!(fifth.read_response().await.unwrap().status, 200);
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn random_info_hash_flood_stays_within_the_torrent_cap() {
    use rand::{Rng, SeedableRng};
    let s = start_with(|c| c.max_torrents = 100).await;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
    let mut c = Conn::open(s.addr()).await;
    let mut failures = 0;
    for i in 0..1000u16 {
        let mut a = announce(0, 1, i + 1, 1, Event::Started);
        a.info_hash = seedline_common::InfoHash(rng.random());
        c.send(&announce_target(&a), &[]).await;
        let r = c.read_response().await.unwrap();
        if FailureResponse::decode(&r.body).is_some() {
            failures += 1;
        }
    }
    assert_eq!(failures, 900);
    assert_metrics(
        &s,
        r#"
        seedline_tracker_torrents 100
        seedline_tracker_failures_total{reason="torrent_limit"} 900
        "#,
    )
    .await;
    assert_eq!(s.tracker.store.torrent_count(), 100);
    s.stop().await;
}

#[tokio::test]
async fn swarm_peer_cap_answers_but_does_not_store() {
    let s = start_with(|c| c.max_peers_per_torrent = 3).await;
    for port in 1..=10u16 {
        let r = announce_reply(&s, &announce(1, 1, port, 1, Event::Started)).await;
        assert!(r.head.incomplete <= 3);
    }
    assert_metrics(
        &s,
        r#"seedline_tracker_peers_not_stored_total{reason="torrent_full"} 7"#,
    )
    .await;
    s.stop().await;
}
