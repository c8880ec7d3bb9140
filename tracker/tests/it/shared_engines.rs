//! The shared store on every engine it supports, each a real server started by the test:
//! Valkey, Redis over TLS (`rediss://` with a private CA), and a Redis Cluster of three
//! primaries, where swarms spread over the nodes and the admin API's lists, pub/sub and
//! multi-hash scrapes still work.

use seedline_common::failure::FailureResponse;
use seedline_common::{Event, InfoHash, ScrapeResponse};
use seedline_testkit::{RedisCluster, RedisServer};

use crate::api::{api_config, call};
use crate::shared_store::{announce_to, instance_at, port_of, two_instances_on};
use crate::util::*;

#[tokio::test]
async fn valkey_serves_two_instances() {
    let valkey = RedisServer::start_valkey();
    two_instances_on(&valkey.url(), None).await;
}

#[tokio::test]
async fn redis_over_tls_serves_two_instances() {
    let redis = RedisServer::start_tls();
    assert!(redis.url().starts_with("rediss://"));
    two_instances_on(&redis.url(), redis.ca_file()).await;

    // Without the private CA the certificate is refused: the store is unavailable.
    let a = instance_at(&redis.url(), None, test_config()).await;
    let r = get(
        a.addr(),
        &announce_target(&announce(1, 1, 7001, 0, Event::Started)),
    )
    .await;
    let f = FailureResponse::decode(&r.body).expect("a failure reply");
    assert_eq!(f.reason, "tracker store unavailable");
    a.stop().await;
}

#[tokio::test]
async fn a_redis_cluster_spreads_swarms_over_its_nodes() {
    let cluster = RedisCluster::start(3);
    two_instances_on(&cluster.url(), None).await;

    let allow = || api_config(seedline_tracker::access::Mode::Allow);
    let a = instance_at(&cluster.url(), None, allow()).await;
    let b = instance_at(&cluster.url(), None, allow()).await;
    // Registered on A, through the lists' own slot and pub/sub: B serves them.
    for ih in 10..30u8 {
        let path = format!("/api/torrents/{}", InfoHash([ih; 20]).to_hex());
        assert_eq!(call(&a, "PUT", &path, "{}").await.0, 201);
    }
    let refused = |r: &Response| FailureResponse::decode(&r.body).is_some();
    let open_on_b =
        eventually(|| async { !refused(&announce_to(&b, 29, 1, 7029, 0, Event::Started).await) })
            .await;
    assert!(open_on_b, "B serves what A registered");

    // Twenty swarms, a seeder each told to A, a leecher each to B: each leecher gets
    // its seeder, wherever its swarm's slot is.
    for ih in 10..30u8 {
        announce_to(&a, ih, 1, 7000 + u16::from(ih), 0, Event::Started).await;
        let r = announce_to(&b, ih, 2, 8000, 100, Event::Started).await;
        assert_eq!(port_of(&reply_peers(&r.body)), [7000 + u16::from(ih)]);
    }
    let holding = cluster
        .nodes
        .iter()
        .filter(|n| n.cli(&["dbsize"]).parse::<u64>().unwrap() > 0)
        .count();
    assert!(holding >= 2, "swarms on {holding} node(s) of 3");

    // One scrape of hashes in several slots: every one answered.
    let target = format!(
        "/scrape?{}",
        (10..30u8)
            .map(|ih| format!("info_hash={}", format!("%{ih:02x}").repeat(20)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let files = ScrapeResponse::decode(&get(a.addr(), &target).await.body)
        .unwrap()
        .files;
    assert_eq!(files.len(), 20);
    assert!(files.values().all(|s| (s.complete, s.incomplete) == (1, 1)));
    a.stop().await;
    b.stop().await;
}
