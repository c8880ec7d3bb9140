//! Two tracker instances sharing one real `redis-server` (`store = redis://...`): what
//! one instance is told, the other hands out; counts agree on both; an outage of Redis is
//! answered with failures, never a hang, and service comes back on its own.

use std::net::SocketAddr;

use seedline_common::failure::FailureResponse;
use seedline_common::{Event, InfoHash, ScrapeResponse, ScrapeStats};
use seedline_testkit::RedisServer;

use crate::api::{api_config, call};
use crate::udp::{ann, error_of, peers_of, Client};
use crate::util::*;

async fn instance(redis: &RedisServer) -> TestServer {
    instance_in(redis, test_config()).await
}

async fn instance_in(redis: &RedisServer, cfg: seedline_tracker::Config) -> TestServer {
    instance_at(&redis.url(), redis.ca_file(), cfg).await
}

/// An instance on the store at `url` (`ca`: the CA of its TLS certificate).
pub async fn instance_at(
    url: &str,
    ca: Option<std::path::PathBuf>,
    mut cfg: seedline_tracker::Config,
) -> TestServer {
    cfg.store = Some(url.into());
    cfg.store_ca_file = ca;
    if cfg.udp_listen.is_empty() {
        cfg.udp_listen = vec!["127.0.0.1:0".parse().unwrap()];
    }
    cfg.udp_sockets = 1;
    // Every test peer announces from 127.0.0.1.
    cfg.max_peers_per_address = 1000;
    TestServer::start(cfg).await
}

pub async fn announce_to(
    s: &TestServer,
    ih: u8,
    peer: u8,
    port: u16,
    left: u64,
    e: Event,
) -> Response {
    let r = get(
        s.addr(),
        &announce_target(&announce(ih, peer, port, left, e)),
    )
    .await;
    assert_eq!(r.status, 200);
    r
}

pub async fn scrape_of(s: &TestServer, ih: u8) -> Option<ScrapeStats> {
    let target = format!("/scrape?info_hash={}", format!("%{ih:02x}").repeat(20));
    let r = get(s.addr(), &target).await;
    ScrapeResponse::decode(&r.body)
        .unwrap()
        .files
        .get(&InfoHash([ih; 20]))
        .copied()
}

pub fn port_of(peers: &[SocketAddr]) -> Vec<u16> {
    let mut p: Vec<u16> = peers.iter().map(|a| a.port()).collect();
    p.sort_unstable();
    p
}

#[tokio::test]
async fn two_instances_serve_one_swarm() {
    let redis = RedisServer::start();
    two_instances_on(&redis.url(), None).await;
}

/// The conformance of two instances on one store at `url`: a peer told to one is
/// handed out by the other, counts agree, a completion counts once, `stopped` on one
/// removes what the other stored, 200 announces over both are counted by both.
pub async fn two_instances_on(url: &str, ca: Option<std::path::PathBuf>) {
    let (a, b) = (
        instance_at(url, ca.clone(), test_config()).await,
        instance_at(url, ca, test_config()).await,
    );

    // A seeder told to A is handed to a leecher that asks B.
    announce_to(&a, 1, 1, 7001, 0, Event::Started).await;
    let r = announce_to(&b, 1, 2, 7002, 100, Event::Started).await;
    assert_eq!(port_of(&reply_peers(&r.body)), [7001]);
    let both = ScrapeStats {
        complete: 1,
        incomplete: 1,
        downloaded: 0,
    };
    assert_eq!(scrape_of(&a, 1).await, Some(both));
    assert_eq!(scrape_of(&b, 1).await, Some(both));

    // A completion counts once, whichever instance hears it again.
    announce_to(&a, 1, 2, 7002, 0, Event::Completed).await;
    announce_to(&b, 1, 2, 7002, 0, Event::Completed).await;
    let done = ScrapeStats {
        complete: 2,
        incomplete: 0,
        downloaded: 1,
    };
    assert_eq!(scrape_of(&a, 1).await, Some(done));
    assert_eq!(scrape_of(&b, 1).await, Some(done));

    // `stopped` on B removes the peer that A stored.
    announce_to(&b, 1, 1, 7001, 0, Event::Stopped).await;
    let r = announce_to(&a, 1, 3, 7003, 100, Event::Started).await;
    assert_eq!(port_of(&reply_peers(&r.body)), [7002]);

    // 200 announces spread over both: both count them all.
    for i in 0..200u16 {
        let s = if i % 2 == 0 { &a } else { &b };
        announce_to(s, 2, (i % 250) as u8, 8000 + i, 100, Event::Started).await;
    }
    let many = scrape_of(&a, 2).await.unwrap();
    assert_eq!(many.incomplete, 200);
    assert_eq!(scrape_of(&b, 2).await, Some(many));
    assert_eq!(scrape_of(&a, 9).await, None, "a torrent nobody announced");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn udp_and_http_instances_share_peers() {
    let redis = RedisServer::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let c = Client::new(a.udp[0]).await;
    let cid = c.connect().await;
    let reply = c.announce(cid, ann(3, 1, 7100, 0)).await;
    assert_eq!(peers_of(&reply, false).1, 1, "one seeder, itself");
    let r = announce_to(&b, 3, 2, 7101, 100, Event::Started).await;
    assert_eq!(port_of(&reply_peers(&r.body)), [7100]);
    let reply = c.announce(cid, ann(3, 1, 7100, 0)).await;
    let (leechers, seeders, peers) = peers_of(&reply, false);
    assert_eq!((leechers, seeders), (1, 1));
    assert_eq!(port_of(&peers), [7101]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn both_families_are_counted_and_every_key_expires() {
    let redis = RedisServer::start();
    let mut cfg = test_config();
    cfg.udp_listen = vec!["[::1]:0".parse().unwrap()];
    let a = instance_in(&redis, cfg).await;
    let v6 = a.udp.iter().copied().find(SocketAddr::is_ipv6).unwrap();

    // A seeder over IPv4, a leecher over IPv6: each is counted in the other's family,
    // and handed out only to its own.
    announce_to(&a, 4, 1, 7201, 0, Event::Started).await;
    let c = Client::new(v6).await;
    let cid = c.connect().await;
    let reply = c.announce(cid, ann(4, 2, 7202, 100)).await;
    let (leechers, seeders, peers) = peers_of(&reply, true);
    assert_eq!((leechers, seeders), (1, 1));
    assert!(peers.is_empty(), "no IPv4 peer in an IPv6 reply: {peers:?}");
    let r = announce_to(&a, 4, 1, 7201, 0, Event::None).await;
    assert!(reply_peers(&r.body).is_empty());
    let both = ScrapeStats {
        complete: 1,
        incomplete: 1,
        downloaded: 0,
    };
    assert_eq!(scrape_of(&a, 4).await, Some(both));

    // Every key the swarm made has a lifetime: nothing outlives an abandoned swarm.
    let keys = redis.cli(&["--scan", "--pattern", "sl:{04*"]);
    let keys: Vec<&str> = keys.lines().collect();
    assert!(keys.len() >= 5, "the swarm's keys: {keys:?}");
    for k in keys {
        let ttl: i64 = redis.cli(&["pttl", k]).parse().unwrap();
        assert!(ttl > 0, "{k} has no lifetime ({ttl})");
    }
    a.stop().await;
}

#[tokio::test]
async fn a_reply_samples_the_swarm_in_proportion_and_never_names_the_asker() {
    let redis = RedisServer::start();
    let a = instance(&redis).await;
    // 30 seeders on ports 9000.., 30 leechers on 9100.. (leecher 0 is the asker).
    for i in 0..30u8 {
        announce_to(&a, 5, i, 9000 + u16::from(i), 0, Event::Started).await;
        announce_to(&a, 5, 100 + i, 9100 + u16::from(i), 100, Event::Started).await;
    }
    let ask = |peer: u8, port: u16, left: u64, numwant: u32| {
        let mut q = announce(5, peer, port, left, Event::None);
        q.numwant = Some(numwant);
        let a = &a;
        async move {
            port_of(&reply_peers(
                &get(a.addr(), &announce_target(&q)).await.body,
            ))
        }
    };
    for _ in 0..10 {
        // A leecher: numwant distinct peers, half seeders, half leechers, never itself.
        let got = ask(100, 9100, 100, 20).await;
        let mut distinct = got.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 20, "{got:?}");
        assert!(!got.contains(&9100), "the asker itself: {got:?}");
        let seeders = got.iter().filter(|p| **p < 9100).count();
        assert_eq!(seeders, 10, "{got:?}");
        // A seeder: leechers only while there are enough.
        let got = ask(0, 9000, 0, 20).await;
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|p| *p >= 9100), "{got:?}");
    }
    // Asking for more than there are: everyone else, once.
    let got = ask(100, 9100, 100, 200).await;
    let want: Vec<u16> = (9000..9030).chain(9101..9130).collect();
    assert_eq!(got, want);
    let got = ask(0, 9000, 0, 200).await;
    let want: Vec<u16> = (9001..9030).chain(9100..9130).collect();
    assert_eq!(got, want);
    a.stop().await;
}

#[tokio::test]
async fn a_redis_outage_is_answered_and_outlived() {
    let mut redis = RedisServer::start();
    let a = instance(&redis).await;
    announce_to(&a, 4, 1, 7200, 0, Event::Started).await;
    let c = Client::new(a.udp[0]).await;
    let cid = c.connect().await;

    redis.kill();
    // Within the store timeout (500 ms), never a hang, even while the connection is
    // being re-established: HTTP gets a bencoded failure with BEP 31's `retry in`, UDP
    // an error packet.
    let asked = std::time::Instant::now();
    let r = tokio::time::timeout(
        WAIT,
        get(
            a.addr(),
            &announce_target(&announce(4, 2, 7201, 100, Event::Started)),
        ),
    )
    .await
    .expect("an answer, not a hang");
    let took = asked.elapsed();
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    let f = FailureResponse::decode(&r.body).expect("a failure reply");
    assert_eq!(f.reason, "tracker store unavailable");
    assert_eq!(f.retry_in, Some(1));
    let reply = c.announce(cid, ann(4, 3, 7202, 100)).await;
    assert_eq!(error_of(&reply), "tracker store unavailable");
    let m = a.metrics().await;
    assert!(
        m.contains(r#"seedline_tracker_failures_total{reason="store_unavailable"}"#),
        "{m}"
    );
    let errors = ["connection", "timeout"].map(|k| {
        metric(
            &m,
            &format!(r#"seedline_tracker_store_errors_total{{kind="{k}"}}"#),
        )
        .unwrap()
    });
    assert!(errors[0] + errors[1] >= 2.0, "{m}");

    // Redis back (empty: it kept nothing): service resumes without a restart.
    redis.resume();
    let back = eventually(|| async {
        let r = get(
            a.addr(),
            &announce_target(&announce(4, 2, 7201, 100, Event::Started)),
        )
        .await;
        FailureResponse::decode(&r.body).is_none()
    })
    .await;
    assert!(back, "announces succeed again once Redis is back");
    let reply = c.announce(cid, ann(4, 3, 7202, 100)).await;
    assert_eq!(peers_of(&reply, false).0, 2, "two leechers now");
    let m = a.metrics().await;
    assert_eq!(
        metric(&m, "seedline_tracker_store_connected"),
        Some(1.0),
        "{m}"
    );
    let again = metric(&m, "seedline_tracker_store_reconnects_total").unwrap();
    assert!(again >= 1.0, "{m}");
    a.stop().await;
}

/// The admin API of either instance changes what both serve (allow mode): the lists
/// live in Redis and every instance follows them.
#[tokio::test]
async fn a_slow_redis_is_waited_out_on_the_same_connection() {
    let redis = RedisServer::start();
    let a = instance(&redis).await;
    announce_to(&a, 6, 1, 7400, 0, Event::Started).await;
    // Redis stopped for two seconds: requests time out (500 ms each) with a failure,
    // but a slow server is not a dead socket, so the connection is kept.
    redis.signal("STOP");
    for i in 0..2u8 {
        let r = announce_to(&a, 6, 2 + i, 7401, 100, Event::Started).await;
        let f = FailureResponse::decode(&r.body).expect("a failure while Redis is stopped");
        assert_eq!(f.reason, "tracker store unavailable");
    }
    redis.signal("CONT");
    let back = eventually(|| async {
        FailureResponse::decode(&announce_to(&a, 6, 9, 7409, 100, Event::Started).await.body)
            .is_none()
    })
    .await;
    assert!(back);
    let m = a.metrics().await;
    assert_eq!(
        metric(&m, "seedline_tracker_store_reconnects_total"),
        Some(0.0),
        "{m}"
    );
    a.stop().await;
}

#[tokio::test]
async fn a_registration_on_one_instance_opens_the_torrent_on_all() {
    let redis = RedisServer::start();
    let allow = || api_config(seedline_tracker::access::Mode::Allow);
    let (a, b) = (
        instance_in(&redis, allow()).await,
        instance_in(&redis, allow()).await,
    );
    let refused = |r: &Response| FailureResponse::decode(&r.body).is_some();
    assert!(refused(
        &announce_to(&b, 5, 1, 7300, 0, Event::Started).await
    ));

    let (status, _) = call(
        &a,
        "PUT",
        &format!("/api/torrents/{}", InfoHash([5; 20]).to_hex()),
        r#"{"name":"r.iso"}"#,
    )
    .await;
    assert_eq!(status, 201);
    let open_on_b =
        eventually(|| async { !refused(&announce_to(&b, 5, 1, 7300, 0, Event::Started).await) })
            .await;
    assert!(open_on_b, "B serves the torrent A registered");
    let (status, v) = call(
        &b,
        "GET",
        &format!("/api/torrents/{}", InfoHash([5; 20]).to_hex()),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["registered"].as_bool(), v["name"].as_str()),
        (Some(true), Some("r.iso"))
    );
    assert_eq!(v["seeders"], 1, "{v}");
    // Registered, its count never expires; unregistered (below), it does again.
    let count_key = format!("sl:{{{}}}:n", InfoHash([5; 20]).to_hex());
    assert_eq!(redis.cli(&["pttl", &count_key]), "-1");
    // No totals from a store without an index, rather than this process's empty one.
    let (status, v) = call(&b, "GET", "/api/stats", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["store"].as_str(), v["registered"].as_u64()),
        (Some("redis"), Some(1))
    );
    assert!(v["torrents"].is_null() && v["seeders"].is_null(), "{v}");

    // Unregistered through B: A stops serving it.
    let (status, _) = call(
        &b,
        "DELETE",
        &format!("/api/torrents/{}", InfoHash([5; 20]).to_hex()),
        "",
    )
    .await;
    assert_eq!(status, 200);
    let ttl: i64 = redis.cli(&["pttl", &count_key]).parse().unwrap();
    assert!(ttl > 0, "an unregistered torrent's count expires ({ttl})");
    let closed_on_a =
        eventually(|| async { refused(&announce_to(&a, 5, 2, 7301, 100, Event::Started).await) })
            .await;
    assert!(closed_on_a, "A refuses the torrent B unregistered");
    let (status, _) = call(
        &a,
        "DELETE",
        &format!("/api/torrents/{}", InfoHash([5; 20]).to_hex()),
        "",
    )
    .await;
    assert_eq!(status, 404, "already gone");
    let (status, _) = call(&a, "GET", "/api/torrents", "").await;
    assert_eq!(status, 501, "no listing without a torrent index");
    a.stop().await;
    b.stop().await;
}

/// An instance that starts after the registration, or that lost its subscription,
/// reads the lists whole.
#[tokio::test]
async fn a_new_instance_starts_with_the_shared_lists() {
    let redis = RedisServer::start();
    let allow = || api_config(seedline_tracker::access::Mode::Allow);
    let a = instance_in(&redis, allow()).await;
    let (status, _) = call(
        &a,
        "PUT",
        &format!("/api/torrents/{}", InfoHash([6; 20]).to_hex()),
        "",
    )
    .await;
    assert_eq!(status, 201);
    let b = instance_in(&redis, allow()).await;
    let served = eventually(|| async {
        FailureResponse::decode(&announce_to(&b, 6, 1, 7400, 0, Event::Started).await.body)
            .is_none()
    })
    .await;
    assert!(served);
    a.stop().await;
    b.stop().await;
}

/// The per-swarm caps and the origin-first hand-out hold in the shared store as in
/// memory: the script applies them.
#[tokio::test]
async fn caps_and_origins_apply_in_the_shared_store() {
    let redis = RedisServer::start();
    let mut cfg = test_config();
    cfg.max_peers_per_torrent = 3;
    cfg.origin_peers = vec!["127.0.0.1:7500".parse().unwrap()];
    let a = instance_in(&redis, cfg).await;
    let b = instance(&redis).await;
    // Three leechers fill the swarm; a fourth is answered but not stored.
    for (peer, port) in [(1, 7501), (2, 7502), (3, 7503), (4, 7504)] {
        announce_to(&a, 7, peer, port, 100, Event::Started).await;
    }
    assert_eq!(scrape_of(&b, 7).await.map(|s| s.incomplete), Some(3));
    let m = a.metrics().await;
    assert!(
        m.contains(r#"seedline_tracker_peers_not_stored_total{reason="torrent_full"} 1"#),
        "{m}"
    );
    // The origin passes the cap and comes first in every leecher's reply.
    announce_to(&a, 7, 9, 7500, 0, Event::Started).await;
    let mut q = announce(7, 5, 7505, 100, Event::None);
    q.numwant = Some(1);
    let r = get(a.addr(), &announce_target(&q)).await;
    assert_eq!(port_of(&reply_peers(&r.body)), [7500]);
    // A seeder gets leechers first.
    let mut q = announce(7, 9, 7500, 0, Event::None);
    q.numwant = Some(2);
    let r = get(a.addr(), &announce_target(&q)).await;
    let ports = port_of(&reply_peers(&r.body));
    assert_eq!(ports.len(), 2, "{}", String::from_utf8_lossy(&r.body));
    assert!(ports.iter().all(|p| (7501..=7503).contains(p)), "{ports:?}");
    a.stop().await;
    b.stop().await;
}

/// Changes racing on two instances leave both with the same lists: each instance's copy
/// is written only by its follower, in the order Redis numbered the changes.
#[tokio::test]
async fn racing_changes_leave_every_instance_with_the_same_lists() {
    let redis = RedisServer::start();
    let allow = || api_config(seedline_tracker::access::Mode::Allow);
    let (a, b) = (
        instance_in(&redis, allow()).await,
        instance_in(&redis, allow()).await,
    );
    let path = format!("/api/torrents/{}", InfoHash([8; 20]).to_hex());
    for _ in 0..20 {
        let (put, del) = tokio::join!(call(&a, "PUT", &path, ""), call(&b, "DELETE", &path, ""));
        assert!([200, 201].contains(&put.0) && [200, 404].contains(&del.0));
    }
    let in_redis = redis_registered(&redis, 8);
    let agree = eventually(|| async {
        let on_a = call(&a, "GET", &path, "").await.1["registered"] == true;
        let on_b = call(&b, "GET", &path, "").await.1["registered"] == true;
        on_a == in_redis && on_b == in_redis
    })
    .await;
    assert!(agree, "both instances agree with Redis ({in_redis})");
    a.stop().await;
    b.stop().await;
}

/// Whether Redis's list holds the torrent `ih`, asked with a plain client.
fn redis_registered(redis: &RedisServer, ih: u8) -> bool {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    let field = InfoHash([ih; 20]).to_hex();
    let key = "sl:{api}:registered";
    let cmd = format!(
        "*3\r\n$7\r\nHEXISTS\r\n${}\r\n{key}\r\n${}\r\n{field}\r\n",
        key.len(),
        field.len()
    );
    std::io::Write::write_all(&mut s, cmd.as_bytes()).unwrap();
    let mut buf = [0u8; 16];
    let n = std::io::Read::read(&mut s, &mut buf).unwrap();
    &buf[..n] == b":1\r\n"
}
