//! The UDP tracker (BEP 15) over loopback, IPv4 and IPv6: every action, errors, wrong
//! and foreign connection ids, truncated packets, scrape limits, and the HTTP view of
//! the same swarms.

use std::net::SocketAddr;
use std::time::Duration;

use seedline_common::udp::{self, Announce, Reply, Request, Scrape};
use seedline_common::{Event, InfoHash, PeerId, ScrapeResponse};
use tokio::net::UdpSocket;

use crate::util::*;

/// How long a test waits to conclude that no reply is coming.
const SILENCE: Duration = Duration::from_millis(300);

pub struct Client {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

impl Client {
    pub async fn new(server: SocketAddr) -> Self {
        let local = if server.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        Self {
            sock: UdpSocket::bind(local).await.unwrap(),
            server,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// Sends `packet`; the reply, or `None` after `wait`.
    pub async fn exchange(&self, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
        self.sock.send_to(packet, self.server).await.unwrap();
        let mut buf = vec![0u8; 4096];
        match tokio::time::timeout(wait, self.sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    pub async fn request(&self, r: &Request<'_>) -> Vec<u8> {
        let mut b = Vec::new();
        r.write(&mut b);
        self.exchange(&b, WAIT).await.expect("a reply")
    }

    pub async fn connect(&self) -> u64 {
        let b = self.request(&Request::Connect { transaction_id: 7 }).await;
        match Reply::parse(&b, false).unwrap() {
            Reply::Connect {
                transaction_id: 7,
                connection_id,
            } => connection_id,
            r => panic!("not a connect reply: {r:?}"),
        }
    }

    pub async fn announce(&self, cid: u64, a: Announce<'_>) -> Vec<u8> {
        self.request(&Request::Announce(Announce {
            connection_id: cid,
            ..a
        }))
        .await
    }
}

pub fn ann(ih: u8, peer: u8, port: u16, left: u64) -> Announce<'static> {
    Announce {
        connection_id: 0,
        transaction_id: u32::from(peer) << 8 | u32::from(ih),
        info_hash: InfoHash([ih; 20]),
        peer_id: PeerId([peer; 20]),
        downloaded: 0,
        left,
        uploaded: 0,
        event: Event::Started,
        ip: None,
        key: 1,
        num_want: None,
        port,
        url_data: b"/announce",
    }
}

async fn udp_server() -> TestServer {
    let mut cfg = test_config();
    cfg.udp_listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    cfg.udp_sockets = 2;
    TestServer::start(cfg).await
}

pub fn peers_of(b: &[u8], v6: bool) -> (u32, u32, Vec<SocketAddr>) {
    match Reply::parse(b, v6).unwrap() {
        Reply::Announce {
            leechers,
            seeders,
            peers,
            ..
        } => (leechers, seeders, udp::peers(peers, v6)),
        r => panic!("not an announce reply: {r:?}"),
    }
}

pub fn error_of(b: &[u8]) -> String {
    match Reply::parse(b, false).unwrap() {
        Reply::Error { message, .. } => String::from_utf8_lossy(message).into_owned(),
        r => panic!("not an error: {r:?}"),
    }
}

#[tokio::test]
async fn connect_announce_scrape_and_the_http_view_agree() {
    let s = udp_server().await;
    assert_eq!(s.udp.len(), 2, "one address per family");
    for server in s.udp.clone() {
        let v6 = server.is_ipv6();
        let ih = if v6 { 6 } else { 4 };
        let seed = Client::new(server).await;
        let cid = seed.connect().await;
        let (leechers, seeders, peers) =
            peers_of(&seed.announce(cid, ann(ih, 1, 7001, 0)).await, v6);
        assert_eq!((leechers, seeders, peers.len()), (0, 1, 0));
        let leech = Client::new(server).await;
        let cid2 = leech.connect().await;
        let (leechers, seeders, peers) =
            peers_of(&leech.announce(cid2, ann(ih, 2, 7002, 100)).await, v6);
        assert_eq!((leechers, seeders), (1, 1));
        assert_eq!(
            peers,
            [SocketAddr::new(seed.addr().ip(), 7001)],
            "the seeder, {} bytes each",
            if v6 { 18 } else { 6 }
        );

        let hashes = [[ih; 20], [99; 20]].concat();
        let b = leech
            .request(&Request::Scrape(Scrape::of(cid2, 5, &hashes)))
            .await;
        let Reply::Scrape { entries, .. } = Reply::parse(&b, v6).unwrap() else {
            panic!("not a scrape reply")
        };
        let st = udp::scrape_entries(entries);
        assert_eq!(st.len(), 2);
        assert_eq!((st[0].complete, st[0].incomplete), (1, 1));
        assert_eq!(
            st[1],
            Default::default(),
            "an unknown torrent reads as zeros"
        );

        let http = get(
            s.addr(),
            &format!("/scrape?info_hash={}", format!("%{ih:02X}").repeat(20)),
        )
        .await;
        let files = ScrapeResponse::decode(&http.body).unwrap().files;
        assert_eq!(
            files[&InfoHash([ih; 20])],
            st[0],
            "HTTP and UDP see the same swarm"
        );
    }
    let m = s.metrics().await;
    for line in [
        r#"seedline_tracker_requests_total{endpoint="connect",outcome="ok",protocol="udp"} 4"#,
        r#"seedline_tracker_requests_total{endpoint="announce",outcome="ok",protocol="udp"} 4"#,
        r#"seedline_tracker_requests_total{endpoint="scrape",outcome="ok",protocol="udp"} 2"#,
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
    s.stop().await;
}

#[tokio::test]
async fn foreign_expired_and_forged_ids_get_an_error_never_data() {
    let s = udp_server().await;
    let server = s.udp[0];
    let a = Client::new(server).await;
    let b = Client::new(server).await;
    let cid = a.connect().await;
    a.announce(cid, ann(1, 1, 7001, 0)).await;
    for (who, id) in [(&b, cid), (&a, cid ^ 1), (&a, 0), (&a, udp::PROTOCOL_ID)] {
        let mut req = Vec::new();
        Request::Announce(Announce {
            connection_id: id,
            ..ann(1, 3, 7003, 5)
        })
        .write(&mut req);
        let reply = who.exchange(&req, WAIT).await.expect("an error reply");
        assert!(reply.len() <= req.len(), "never larger than the request");
        assert!(
            error_of(&reply).contains("connection id"),
            "{:?}",
            error_of(&reply)
        );
    }
    // Nothing was stored for those announces.
    assert_eq!(s.tracker.store.peer_count(), 1);
    s.stop().await;
}

#[tokio::test]
async fn malformed_datagrams_are_dropped_or_answered_small() {
    let s = udp_server().await;
    let c = Client::new(s.udp[0]).await;
    // Unauthenticated garbage: no answer at all.
    for junk in [&b""[..], b"hello", &[0u8; 15], &[0xff; 16]] {
        assert_eq!(c.exchange(junk, SILENCE).await, None, "{junk:?}");
    }
    let mut conn = Vec::new();
    Request::Connect { transaction_id: 1 }.write(&mut conn);
    conn[0] = 9;
    assert_eq!(c.exchange(&conn, SILENCE).await, None, "not BEP 15");
    // A connect with trailing bytes is a connect: 16 bytes back for more sent.
    let mut long = Vec::new();
    Request::Connect { transaction_id: 2 }.write(&mut long);
    long.extend_from_slice(&[0; 50]);
    assert_eq!(c.exchange(&long, WAIT).await.map(|r| r.len()), Some(16));
    // Truncated announces with a valid id: an error no larger than the datagram.
    let cid = c.connect().await;
    let mut full = Vec::new();
    Request::Announce(Announce {
        connection_id: cid,
        ..ann(1, 1, 7001, 0)
    })
    .write(&mut full);
    for cut in [16, 40, 97] {
        let reply = c.exchange(&full[..cut], WAIT).await.expect("an error");
        assert!(reply.len() <= cut);
        assert_eq!(
            Reply::parse(&reply, false).unwrap().transaction_id(),
            ann(1, 1, 7001, 0).transaction_id
        );
    }
    let m = s.metrics().await;
    assert!(
        m.contains(r#"seedline_tracker_udp_dropped_total{reason="too_short"} 3"#),
        "{m}"
    );
    assert!(
        m.contains(r#"seedline_tracker_udp_dropped_total{reason="not_bep15"} 1"#),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test]
async fn scrape_takes_at_most_seventy_four_hashes() {
    let s = udp_server().await;
    let c = Client::new(s.udp[0]).await;
    let cid = c.connect().await;
    let hashes = vec![3u8; 20 * 75];
    let b = c
        .request(&Request::Scrape(Scrape::of(cid, 1, &hashes[..20 * 74])))
        .await;
    let Reply::Scrape { entries, .. } = Reply::parse(&b, false).unwrap() else {
        panic!("a scrape reply")
    };
    assert_eq!(udp::scrape_entries(entries).len(), 74);
    let b = c
        .request(&Request::Scrape(Scrape::of(cid, 2, &hashes)))
        .await;
    assert!(error_of(&b).contains("74"), "{}", error_of(&b));
    s.stop().await;
}

#[tokio::test]
async fn access_and_numwant_come_from_the_shared_core() {
    let mut cfg = test_config();
    cfg.udp_listen = vec!["127.0.0.1:0".parse().unwrap()];
    cfg.mode = seedline_tracker::access::Mode::Allow;
    cfg.admin_token = Some("a-long-enough-admin-token".into());
    cfg.numwant_default = 2;
    let s = TestServer::start(cfg).await;
    let c = Client::new(s.udp[0]).await;
    let cid = c.connect().await;
    let refused = c.announce(cid, ann(5, 1, 7001, 0)).await;
    assert!(error_of(&refused).contains("not"), "{}", error_of(&refused));
    s.tracker
        .register_torrent(InfoHash([5; 20]), None, None)
        .unwrap();
    for p in 1..=4u8 {
        c.announce(cid, ann(5, p, 7000 + u16::from(p), 10)).await;
    }
    let (_, _, peers) = peers_of(&c.announce(cid, ann(5, 9, 7009, 10)).await, false);
    assert_eq!(peers.len(), 2, "numwant_default applies to UDP's -1");
    let (_, _, peers) = peers_of(
        &c.announce(
            cid,
            Announce {
                num_want: Some(3),
                ..ann(5, 9, 7009, 10)
            },
        )
        .await,
        false,
    );
    assert_eq!(peers.len(), 3);
    s.stop().await;
}

/// Datagrams that arrive together are served together (one receive and one send per
/// batch): a burst mixing connects, announces and junk gets exactly one reply to each
/// valid request, none to the junk, and every reply goes to the request it answers.
#[tokio::test]
async fn a_burst_gets_every_reply_and_only_those() {
    let s = udp_server().await;
    let c = Client::new(s.udp[0]).await;
    let cid = c.connect().await;
    let mut expected = std::collections::BTreeSet::new();
    for i in 0..150u32 {
        let mut b = Vec::new();
        match i % 3 {
            0 => b.extend_from_slice(b"too short junk!"),
            1 => Request::Connect { transaction_id: i }.write(&mut b),
            _ => Request::Announce(Announce {
                connection_id: cid,
                transaction_id: i,
                ..ann(9, (i % 250) as u8, 7000 + i as u16, 1)
            })
            .write(&mut b),
        }
        if i % 3 != 0 {
            expected.insert(i);
        }
        c.sock.send_to(&b, c.server).await.unwrap();
    }
    let mut got = std::collections::BTreeSet::new();
    let mut buf = vec![0u8; 4096];
    while got.len() < expected.len() {
        let (n, _) = tokio::time::timeout(WAIT, c.sock.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{} of {} replies came", got.len(), expected.len()))
            .unwrap();
        let reply = Reply::parse(&buf[..n], false).unwrap();
        let txn = reply.transaction_id();
        let right_kind = match reply {
            Reply::Connect { .. } => txn % 3 == 1,
            Reply::Announce { .. } => txn % 3 == 2,
            other => panic!("{other:?}"),
        };
        assert!(right_kind, "reply {txn} is of the wrong action");
        assert!(got.insert(txn), "two replies to {txn}");
    }
    assert_eq!(got, expected);
    assert_eq!(c.exchange(b"", SILENCE).await, None, "nothing more");
    let m = s.metrics().await;
    // The 50 pieces of junk and the empty datagram above.
    assert!(
        m.contains(r#"seedline_tracker_udp_dropped_total{reason="too_short"} 51"#),
        "{m}"
    );
    s.stop().await;
}
