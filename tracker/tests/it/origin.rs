//! Origin-first hand-out and per-client rate limiting.

use std::net::SocketAddr;

use seedline_common::failure::FailureResponse;
use seedline_common::{Event, PeerId};

use crate::client::*;
use crate::util::*;

/// 60 seeders, then the origin, then leechers asking for 5 peers: the origin is in every
/// reply, although a random 5 of 61 would miss it nine times in ten.
async fn origin_always_handed_out(s: &TestServer, origin: &seedline_common::AnnounceRequest) {
    for p in 1..=60u16 {
        send_announce(s, &announce(1, p as u8, 10_000 + p, 0, Event::Started)).await;
    }
    send_announce(s, origin).await;
    let origin_addr: SocketAddr = format!("127.0.0.1:{}", origin.port).parse().unwrap();
    for p in 0..20u16 {
        let mut l = announce(1, 100 + p as u8, 20_000 + p, 1, Event::Started);
        l.numwant = Some(5);
        let got = reply_peers(&send_announce(s, &l).await.body);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], origin_addr, "origin first in {got:?}");
    }
    assert_metrics(s, "seedline_tracker_origin_peers_sent_total 20").await;
}

#[tokio::test]
async fn origin_by_address() {
    let s = start_with(|c| c.origin_peers = vec!["127.0.0.1:7000".parse().unwrap()]).await;
    origin_always_handed_out(&s, &announce(1, 200, 7000, 0, Event::Started)).await;
    s.stop().await;
}

#[tokio::test]
async fn origin_by_peer_id_prefix() {
    let s = start_with(|c| c.origin_peer_id_prefixes = vec!["-SL0100-".into()]).await;
    let mut o = announce(1, 200, 7001, 0, Event::Started);
    let mut id = [b'x'; 20];
    id[..8].copy_from_slice(b"-SL0100-");
    o.peer_id = PeerId(id);
    origin_always_handed_out(&s, &o).await;
    s.stop().await;
}

#[tokio::test]
async fn rate_limit_refuses_with_a_reason_and_retry_in() {
    let s = start_with(|c| (c.rate_limit_per_minute, c.rate_limit_burst) = (6, 3)).await;
    let a = announce(1, 1, 6881, 1, Event::Started);
    for _ in 0..3 {
        announce_reply(&s, &a).await;
    }
    let f = announce_refused(&s, &a).await;
    assert!(
        f.reason.starts_with("rate limit exceeded; retry in "),
        "{}",
        f.reason
    );
    assert_eq!(f.retry_in, Some(1), "BEP 31 minutes");
    let r = get(s.addr(), &format!("/scrape?info_hash={}", "%01".repeat(20))).await;
    assert!(
        FailureResponse::decode(&r.body).is_some(),
        "scrapes share the bucket"
    );
    // Health checks are not limited.
    assert_eq!(get(s.addr(), "/health").await.status, 200);
    assert_metrics(
        &s,
        r#"
        seedline_tracker_rate_limited_total{endpoint="announce"} 1
        seedline_tracker_rate_limited_total{endpoint="scrape"} 1
        seedline_tracker_failures_total{reason="rate_limited"} 2
        "#,
    )
    .await;
    s.stop().await;
}
