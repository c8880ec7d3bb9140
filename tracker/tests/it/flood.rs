//! Floods against the real `tracker` binary (issue 13, finding 2): one host announcing
//! thousands of ports into a swarm, and random info hashes up to the torrent cap. The
//! caps hold, and the content provider's peers and torrents are still served.

use std::net::{IpAddr, SocketAddr};

use seedline_common::{AnnounceResponse, Event, FailureResponse, InfoHash};

use crate::process::Proc;
use crate::util::*;

const TOKEN: &str = "flood-test-token-0123456789";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn metrics(p: &Proc) -> String {
    String::from_utf8(get(p.admin, "/metrics").await.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_crowd_out_a_swarm() {
    let p = Proc::spawn(&["--max-peers-per-address", "16"]);
    // The real seeder of torrent 1.
    let mut seed = Conn::open_from(p.public, ip("127.0.0.10")).await;
    seed.get(&announce_target(&announce(1, 1, 6881, 0, Event::Started)))
        .await;
    // One host announces 3 000 ports into the same swarm on one keep-alive connection.
    let mut flood = Conn::open_from(p.public, ip("127.0.0.9")).await;
    for port in 1..=3_000u16 {
        let mut a = announce(1, 2, port, 100, Event::Started);
        a.peer_id.0[..2].copy_from_slice(&port.to_be_bytes());
        let r = flood.get(&announce_target(&a)).await;
        assert!(
            FailureResponse::decode(&r.body).is_none(),
            "answered normally"
        );
    }
    let m = metrics(&p).await;
    assert_eq!(
        metric(
            &m,
            "seedline_tracker_peers{family=\"ipv4\",role=\"leecher\"}"
        ),
        Some(16.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "seedline_tracker_peers_not_stored_total{reason=\"address_limit\"}"
        ),
        Some(2_984.0)
    );
    // A new leecher still gets the real seeder.
    let mut leech = Conn::open_from(p.public, ip("127.0.0.11")).await;
    let r = leech
        .get(&announce_target(&announce(1, 3, 7000, 100, Event::Started)))
        .await;
    let peers = reply_peers(&r.body);
    let seeder: SocketAddr = "127.0.0.10:6881".parse().unwrap();
    assert!(peers.contains(&seeder), "{peers:?}");
    assert_eq!(
        AnnounceResponse::decode(&r.body).unwrap().head.incomplete,
        17
    );
    assert!(p.stop().success());
}

/// One host spreading its ports over many swarms stops at `max_peers_per_address_total`
/// (the per-swarm cap alone lets it take 16 places in every torrent it can name); a
/// stop frees a place, and other hosts are stored as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_spread_over_every_swarm() {
    let p = Proc::spawn(&["--max-peers-per-address-total", "100"]);
    let mut flood = Conn::open_from(p.public, ip("127.0.0.14")).await;
    let flood_announce = |i: u32, event| {
        let mut a = announce(0, 2, 6881, 100, event);
        a.info_hash.0[..4].copy_from_slice(&i.to_be_bytes());
        a
    };
    for i in 0..300u32 {
        let r = flood
            .get(&announce_target(&flood_announce(i, Event::Started)))
            .await;
        assert!(FailureResponse::decode(&r.body).is_none(), "answered");
    }
    let m = metrics(&p).await;
    let leechers = "seedline_tracker_peers{family=\"ipv4\",role=\"leecher\"}";
    assert_eq!(metric(&m, leechers), Some(100.0), "{m}");
    assert_eq!(
        metric(
            &m,
            "seedline_tracker_peers_not_stored_total{reason=\"address_total\"}"
        ),
        Some(200.0)
    );
    assert_eq!(metric(&m, "seedline_tracker_peer_addresses"), Some(1.0));
    // A stop frees a place for the next new swarm of that host.
    flood
        .get(&announce_target(&flood_announce(0, Event::Stopped)))
        .await;
    flood
        .get(&announce_target(&flood_announce(1000, Event::Started)))
        .await;
    flood
        .get(&announce_target(&flood_announce(1001, Event::Started)))
        .await;
    // Another host is stored, and finds the flooder's peer in a shared swarm.
    let mut other = Conn::open_from(p.public, ip("127.0.0.15")).await;
    let r = other
        .get(&announce_target(&flood_announce(5, Event::Started)))
        .await;
    let flooder: SocketAddr = "127.0.0.14:6881".parse().unwrap();
    assert_eq!(reply_peers(&r.body), vec![flooder]);
    let m = metrics(&p).await;
    assert_eq!(metric(&m, leechers), Some(101.0), "{m}");
    assert_eq!(
        metric(
            &m,
            "seedline_tracker_peers_not_stored_total{reason=\"address_total\"}"
        ),
        Some(201.0)
    );
    assert_eq!(metric(&m, "seedline_tracker_peer_addresses"), Some(2.0));
    assert!(p.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_hash_flood_does_not_lock_out_a_registered_torrent() {
    let p = Proc::spawn(&["--max-torrents", "100", "--admin-token", TOKEN]);
    let mut flood = Conn::open_from(p.public, ip("127.0.0.12")).await;
    let mut refused = 0;
    for i in 0..300u32 {
        let mut a = announce(0, 2, 6881, 100, Event::Started);
        a.info_hash.0[..4].copy_from_slice(&i.to_be_bytes());
        a.info_hash.0[19] = 0xee;
        let r = flood.get(&announce_target(&a)).await;
        refused += usize::from(FailureResponse::decode(&r.body).is_some());
    }
    assert_eq!(refused, 200, "the cap holds for unregistered torrents");
    // The content provider publishes a release during the flood.
    let release = InfoHash([0x5e; 20]);
    let auth = format!("Bearer {TOKEN}");
    let path = format!("/api/torrents/{release}");
    let r = request(p.admin, "PUT", &path, &[("Authorization", &auth)], b"").await;
    assert!(r.status < 300, "registered: {}", r.status);
    let mut a = announce(0x5e, 3, 6881, 0, Event::Started);
    a.info_hash = release;
    let mut seed = Conn::open_from(p.public, ip("127.0.0.13")).await;
    let r = seed.get(&announce_target(&a)).await;
    assert!(
        FailureResponse::decode(&r.body).is_none(),
        "the release is tracked"
    );
    let m = metrics(&p).await;
    assert_eq!(metric(&m, "seedline_tracker_torrents"), Some(101.0), "{m}");
    assert!(p.stop().success());
}

/// Issue 13, finding 4: a client that pipelines requests and never reads its replies
/// held a connection forever (the deadlines were checked only while reading). It is now
/// closed once a reply has waited `write_timeout`, and others are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_never_read_are_closed_at_the_write_deadline() {
    use tokio::io::AsyncWriteExt;
    let p = Proc::spawn(&["--write-timeout", "2", "--idle-timeout", "600"]);
    let mut squatters = Vec::new();
    for n in 0..4u8 {
        // A small receive window, so the tracker's replies back up quickly.
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        sock.bind(SocketAddr::new(ip(&format!("127.0.0.{}", 20 + n)), 0))
            .unwrap();
        let stream = sock.connect(p.public).await.unwrap();
        let (_rd, mut wr) = stream.into_split();
        squatters.push(tokio::spawn(async move {
            let req = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n".repeat(256);
            // Writes until the tracker stops reading, then until it closes (the write
            // fails); bounded by the outer timeout. `_rd` is never read.
            let started = std::time::Instant::now();
            while wr.write_all(&req).await.is_ok() {}
            (_rd, started.elapsed())
        }));
    }
    // Others are served while the squatters hold their connections.
    for _ in 0..5 {
        let r = get(p.public, "/health").await;
        assert_eq!(r.status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for s in squatters {
        let (_, took) = tokio::time::timeout(WAIT, s)
            .await
            .expect("closed by the tracker")
            .unwrap();
        assert!(took < WAIT, "{took:?}");
    }
    let m = metrics(&p).await;
    assert_eq!(
        metric(&m, "seedline_tracker_connections_write_stalled_total"),
        Some(4.0),
        "{m}"
    );
    assert!(p.stop().success());
}

/// One address may hold at most `max_connections_per_address` connections (finding 4:
/// one IP could hold all of `max_connections`); the rest are closed at accept, and
/// other clients are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_connection() {
    use tokio::io::AsyncReadExt;
    let p = Proc::spawn(&[
        "--max-connections-per-address",
        "8",
        "--max-connections",
        "64",
    ]);
    let mut held = Vec::new();
    let mut closed = 0;
    for _ in 0..20 {
        let mut c = Conn::open_from(p.public, ip("127.0.0.40")).await;
        // The start of a head: a connection that sends nothing stays in the kernel
        // (defer_accept) and holds no slot of the tracker's.
        c.send_raw(b"GET /health HTTP/1.1\r\n").await;
        // A refused connection is closed by the tracker without a byte.
        let mut b = [0u8; 1];
        match tokio::time::timeout(std::time::Duration::from_millis(300), c.stream.read(&mut b))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            _ => held.push(c),
        }
    }
    assert_eq!((held.len(), closed), (8, 12));
    let r = Conn::open_from(p.public, ip("127.0.0.41"))
        .await
        .get("/health")
        .await;
    assert_eq!(r.status, 200);
    // The held ones still work: the head they began is answered once finished.
    held[0].send_raw(b"\r\n").await;
    assert_eq!(held[0].read_response().await.expect("a reply").status, 200);
    let m = metrics(&p).await;
    assert_eq!(
        metric(&m, "seedline_tracker_connections_address_limited_total"),
        Some(12.0)
    );
    drop(held);
    assert!(p.stop().success());
}
