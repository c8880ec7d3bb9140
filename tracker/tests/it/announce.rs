use seedline_common::announce_response::{AnnounceResponse, Peers};
use seedline_common::Event;

use crate::client::*;
use crate::util::*;

async fn announce_ok(s: &TestServer, r: &seedline_common::AnnounceRequest) -> AnnounceResponse {
    let resp = send_announce(s, r).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    AnnounceResponse::decode(&resp.body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&resp.body)))
}

#[tokio::test]
async fn compact_swarm_semantics() {
    let s = TestServer::start(test_config()).await;
    // Three leechers and a seeder; every peer announces from 127.0.0.1 with its own port.
    for port in [1001, 1002, 1003] {
        announce_ok(&s, &announce(1, port as u8, port, 100, Event::Started)).await;
    }
    let r = announce_ok(&s, &announce(1, 9, 2000, 0, Event::Started)).await;
    assert_eq!(
        (r.head.complete, r.head.incomplete, r.head.downloaded),
        (1, 3, 0)
    );
    assert_eq!(r.head.interval, 1800);
    assert_eq!(r.head.min_interval, Some(900));
    assert_eq!(r.head.external_ip, Some("127.0.0.1".parse().unwrap()));
    let Peers::Compact { v4, v6 } = &r.peers else {
        panic!("compact requested")
    };
    assert_eq!(v4.len(), 3, "the seeder gets the three leechers");
    assert!(v6.is_empty());
    assert!(!v4.contains(&"127.0.0.1:2000".parse().unwrap()));

    // A leecher gets everyone but itself.
    let r = announce_ok(&s, &announce(1, 1, 1001, 50, Event::None)).await;
    let Peers::Compact { v4, .. } = &r.peers else {
        panic!()
    };
    assert_eq!(v4.len(), 3);
    assert!(!v4.contains(&"127.0.0.1:1001".parse().unwrap()));

    // numwant limits the reply.
    let mut q = announce(1, 1, 1001, 50, Event::None);
    q.numwant = Some(1);
    let r = announce_ok(&s, &q).await;
    let Peers::Compact { v4, .. } = &r.peers else {
        panic!()
    };
    assert_eq!(v4.len(), 1);

    // completed counts one download, once.
    announce_ok(&s, &announce(1, 1, 1001, 0, Event::Completed)).await;
    let r = announce_ok(&s, &announce(1, 1, 1001, 0, Event::Completed)).await;
    assert_eq!(
        (r.head.complete, r.head.incomplete, r.head.downloaded),
        (2, 2, 1)
    );

    // stopped removes the peer and returns no peers.
    let r = announce_ok(&s, &announce(1, 2, 1002, 100, Event::Stopped)).await;
    assert_eq!((r.head.complete, r.head.incomplete), (2, 1));
    assert_eq!(
        r.peers,
        Peers::Compact {
            v4: vec![],
            v6: vec![]
        }
    );

    assert_metrics(
        &s,
        r#"
        seedline_tracker_requests_total{endpoint="announce",outcome="ok",protocol="http"} 9
        seedline_tracker_peers{family="ipv4",role="seeder"} 2
        seedline_tracker_peers{family="ipv4",role="leecher"} 1
        seedline_tracker_torrents 1
        seedline_tracker_downloads_completed_total 1
        "#,
    )
    .await;
    s.stop().await;
}

/// The dictionary form for a `compact=0` request, as the tracker answers it with ids kept
/// or not, and with `no_peer_id`.
async fn dict_reply(keep_peer_ids: bool, no_peer_id: bool) -> Peers {
    let s = start_with(|c| c.keep_peer_ids = keep_peer_ids).await;
    announce_ok(&s, &announce(2, b'a', 1111, 10, Event::Started)).await;
    let mut q = announce(2, b'b', 2222, 10, Event::Started);
    q.compact = false;
    q.no_peer_id = no_peer_id;
    let r = announce_ok(&s, &q).await;
    s.stop().await;
    r.peers
}

#[tokio::test]
async fn dict_form_carries_peer_ids_only_when_kept_and_wanted() {
    let peer = "127.0.0.1:1111".parse().unwrap();
    let with_id = Peers::Dict(vec![(peer, Some(seedline_common::PeerId([b'a'; 20])))]);
    let without = Peers::Dict(vec![(peer, None)]);
    assert_eq!(dict_reply(true, false).await, with_id);
    assert_eq!(dict_reply(true, true).await, without);
    assert_eq!(dict_reply(false, false).await, without);
}

#[tokio::test]
async fn ipv6_peers_answered_in_peers6() {
    let mut cfg = test_config();
    cfg.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    let s = TestServer::start(cfg).await;
    let v6 = s.addrs[1];
    for (port, addr) in [(3001u16, s.addr()), (3002, v6), (3003, v6)] {
        let r = get(
            addr,
            &announce_target(&announce(3, port as u8, port, 5, Event::Started)),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let r = get(
        v6,
        &announce_target(&announce(3, 9, 3004, 5, Event::Started)),
    )
    .await;
    let r = AnnounceResponse::decode(&r.body).unwrap();
    assert_eq!(r.head.incomplete, 4, "counts cover both families");
    assert_eq!(r.head.external_ip, Some("::1".parse().unwrap()));
    let Peers::Compact { v4, v6 } = r.peers else {
        panic!()
    };
    assert!(v4.is_empty(), "an IPv6 announcer gets IPv6 peers only");
    let mut ports: Vec<u16> = v6.iter().map(|a| a.port()).collect();
    ports.sort();
    assert_eq!(ports, vec![3002, 3003]);
    assert_metrics(
        &s,
        r#"seedline_tracker_peers{family="ipv6",role="leecher"} 3"#,
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn interval_jitter_and_numwant_cap() {
    let s = start_with(|c| {
        (c.interval, c.min_interval, c.interval_jitter) = (100, 50, 20);
        (c.numwant_max, c.numwant_default) = (3, 3);
    })
    .await;
    for port in 1..=10u16 {
        announce_ok(&s, &announce(4, port as u8, port, 5, Event::Started)).await;
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..30 {
        let mut q = announce(4, 1, 1, 5, Event::None);
        q.numwant = Some(500);
        let r = announce_ok(&s, &q).await;
        assert!(
            (100..=120).contains(&r.head.interval),
            "{}",
            r.head.interval
        );
        seen.insert(r.head.interval);
        let Peers::Compact { v4, .. } = r.peers else {
            panic!()
        };
        assert_eq!(v4.len(), 3);
    }
    assert!(seen.len() > 1, "jitter varies the interval");
    s.stop().await;
}

#[tokio::test]
async fn torrent_cap_gives_a_failure_reason() {
    let s = start_with(|c| c.max_torrents = 2).await;
    for ih in 1..=2 {
        announce_ok(&s, &announce(ih, 1, 1, 5, Event::Started)).await;
    }
    let reason = announce_refused(&s, &announce(3, 1, 1, 5, Event::Started))
        .await
        .reason;
    assert!(reason.contains("maximum number of torrents"), "{reason}");
    // Known torrents keep working.
    announce_ok(&s, &announce(1, 2, 2, 5, Event::Started)).await;
    s.stop().await;
}
