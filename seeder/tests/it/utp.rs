//! uTP (BEP 29) on the peer port: libtorrent with TCP turned off downloads byte-exact,
//! single- and multi-file, plain and RC4-encrypted; libtorrent on its defaults reaches
//! the origin over uTP; with `utp = false` it still downloads, over TCP. Hostile uTP
//! peers (too many from one address, not BitTorrent, silent, a SYN flood) are closed and
//! counted within bounded state.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use librqbit_utp::{UtpSocketUdp, UtpStream};
use seedline_common::wire::{Handshake, Message, HANDSHAKE_LEN};
use seedline_common::{InfoHash, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::daemon_util::{eventually, metric, test_config};
use crate::real_clients::{assert_file_same, libtorrent_with, multi_file, publish, publish_with};
use crate::seed::serve_release;
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

/// A uTP connection to `peer` over `sock` (which must live as long as the stream).
async fn utp_connect(sock: &Arc<UtpSocketUdp>, peer: SocketAddr) -> UtpStream {
    tokio::time::timeout(Duration::from_secs(10), sock.connect(peer))
        .await
        .expect("uTP connect in time")
        .expect("uTP connect")
}

/// Our handshake for `ih` over `c`, and the seeder's back (within 10 s).
async fn handshake(c: &mut UtpStream, ih: InfoHash) -> Handshake {
    c.write_all(&Handshake::new(ih, PeerId([7; 20])).encode())
        .await
        .unwrap();
    let mut back = [0u8; HANDSHAKE_LEN];
    tokio::time::timeout(Duration::from_secs(10), c.read_exact(&mut back))
        .await
        .expect("handshake in time")
        .unwrap();
    Handshake::decode(&back).unwrap().unwrap()
}

/// Whether the seeder closes `s` within 10 s (end of stream or an error).
async fn closed(s: &mut UtpStream) -> bool {
    let mut buf = [0u8; 256];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_utp_peers_are_capped_and_closed_and_others_still_served() {
    let r = serve_release(true, |c| {
        c.max_peers_per_address = 4;
        c.handshake_timeout = 2;
    })
    .await;
    let s = &r.s;
    let sock = UtpSocketUdp::new_udp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // More connections than one address may hold: the extra ones are closed at once.
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(utp_connect(&sock, s.peer).await);
    }
    let reason = |r: &str| format!("seedline_seeder_disconnects_total{{reason=\"{r}\"}}");
    assert!(eventually(|| async { s.metric(&reason("address_limit")).await >= 2.0 }).await);
    // Not BitTorrent: closed and counted.
    held[0]
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed(&mut held[0]).await);
    // Silent: closed, by the handshake timeout or first by the uTP layer, which gives up
    // on a connection whose initiator never sends a data packet after its SYN.
    assert!(closed(&mut held[1]).await);
    let m = s.metrics().await;
    assert!(metric(&m, &reason("not_bittorrent")) >= 1.0, "{m}");
    assert!(
        metric(&m, &reason("handshake_timeout")) + metric(&m, &reason("io_error")) >= 1.0,
        "{m}"
    );
    drop(held);
    assert!(
        eventually(|| async { s.metric("seedline_seeder_utp_connections").await == 0.0 }).await
    );

    // A well-behaved peer still gets its handshake back over uTP.
    let mut c = utp_connect(&sock, s.peer).await;
    assert_eq!(handshake(&mut c, r.ih).await.info_hash, r.ih);
}

/// uTP's SYN (BEP 29): type 4, version 1, the initiator's receive connection id.
fn syn(connection_id: u16) -> [u8; 20] {
    let mut p = [0u8; 20];
    p[0] = 0x41;
    p[2..4].copy_from_slice(&connection_id.to_be_bytes());
    p[12..16].copy_from_slice(&(1u32 << 20).to_be_bytes());
    p[16..18].copy_from_slice(&1u16.to_be_bytes());
    p
}

/// A flood of SYNs from 100 addresses (as spoofed ones would come) that never send a
/// byte more: the half-open connections stay within the handshake places, every one is
/// gone after the handshake timeout, and a real client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syn_flood_holds_bounded_state_and_a_client_still_downloads() {
    let mut cfg = test_config();
    cfg.max_handshakes = 16;
    cfg.max_utp_connections = 64;
    cfg.utp_backlog = 8;
    cfg.handshake_timeout = 2;
    let p = publish_with(&[("one.iso", 300_001)], "one.iso", cfg).await;
    let mut most = 0.0f64;
    for host in 2..=101u8 {
        let from = tokio::net::UdpSocket::bind((Ipv4Addr::new(127, 0, 0, host), 0))
            .await
            .unwrap();
        for i in 0..10u16 {
            // Connection ids two apart: a connection lives under its SYN's id plus one.
            from.send_to(&syn(u16::from(host) * 32 + 2 * i), p.seeder.peer)
                .await
                .unwrap();
        }
        if host % 20 == 0 {
            most = most.max(p.seeder.metric("seedline_seeder_utp_connections").await);
        }
    }
    // The handshake places (16) bound the half-open connections; a few more may be
    // between accept and their eviction.
    assert!(most <= 24.0, "{most} uTP connections during the flood");
    // Every SYN is either taken (a connection, however short) or, past the backlog of 8
    // while 64 connections are live, refused and counted; none is lost unaccounted.
    let accounted = || async {
        let m = p.seeder.metrics().await;
        let taken = metric(&m, "seedline_seeder_connections_total");
        let dropped = metric(&m, "seedline_seeder_utp_syns_dropped_total");
        dropped > 0.0 && taken + dropped == 1000.0
    };
    assert!(eventually(accounted).await, "{}", p.seeder.metrics().await);
    let out = libtorrent_with(p.torrent(), 1, &[("LT_UTP", "only")]).await;
    assert_file_same(&p.content, &out.path().join("0/one.iso"));
    assert!(
        eventually(|| async { p.seeder.metric("seedline_seeder_utp_connections").await == 0.0 })
            .await
    );
    // The flood did reach the handshake places (more SYNs than the crate's own caps
    // take are dropped there, never reaching us).
    let m = p.seeder.metrics().await;
    assert!(
        metric(
            &m,
            "seedline_seeder_disconnects_total{reason=\"handshake_evicted\"}"
        ) >= 16.0,
        "{m}"
    );
    p.seeder.stop().await;
}

/// A connection request that waits in the backlog longer than a client waits is
/// forgotten, and counted, rather than accepted later to hold a slot for nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syn_left_waiting_in_the_backlog_is_forgotten() {
    let r = serve_release(true, |c| {
        c.max_utp_connections = 2;
        c.idle_timeout = 60;
    })
    .await;
    // Two connected peers fill the table (a half-open one the crate drops by itself
    // after a few seconds); a third request waits in the backlog.
    let sock = UtpSocketUdp::new_udp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = utp_connect(&sock, r.s.peer).await;
        handshake(&mut c, r.ih).await;
        held.push(c);
    }
    let from = tokio::net::UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 2), 0))
        .await
        .unwrap();
    from.send_to(&syn(300), r.s.peer).await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Any datagram makes the dispatcher look at its backlog again.
    from.send_to(&syn(400), r.s.peer).await.unwrap();
    let forgotten = || async { r.s.metric("seedline_seeder_utp_syns_dropped_total").await >= 1.0 };
    assert!(eventually(forgotten).await, "{}", r.s.metrics().await);
    // Neither waiting request became a connection while the two peers stayed.
    assert_eq!(r.s.metric("seedline_seeder_connections_total").await, 2.0);
    drop(held);
}

/// A peer that sends one message and waits (as Transmission does) gets its answer: the
/// uTP layer must send what the session writes while no packet of the peer's comes in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_peer_gets_its_unchoke_over_utp() {
    let r = serve_release(true, |_| {}).await;
    let sock = UtpSocketUdp::new_udp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut c = utp_connect(&sock, r.s.peer).await;
    handshake(&mut c, r.ih).await;
    // A new peer is unchoked while slots are free; not interested, it is choked again.
    let mut not_interested = Vec::new();
    Message::NotInterested.encode(&mut not_interested);
    c.write_all(&not_interested).await.unwrap();
    // Whatever the seeder says meanwhile (bitfield, extended handshake, unchoke, choke).
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(500), c.read(&mut buf)).await {
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.ends_with(&[0, 0, 0, 1, 0]), "choked last: {got:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut interested = Vec::new();
    Message::Interested.encode(&mut interested);
    c.write_all(&interested).await.unwrap();
    let mut unchoke = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(5), c.read_exact(&mut unchoke))
        .await
        .expect("unchoke within 5 s")
        .unwrap();
    assert_eq!(unchoke, [0, 0, 0, 1, 1]);
}

/// uTP on an IPv6 peer listener, as on IPv4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utp_works_on_an_ipv6_listener() {
    let r = serve_release(true, |c| c.listen = "[::1]:0".parse().unwrap()).await;
    let sock = UtpSocketUdp::new_udp("[::1]:0".parse().unwrap())
        .await
        .unwrap();
    let mut c = utp_connect(&sock, r.s.peer).await;
    assert_eq!(handshake(&mut c, r.ih).await.info_hash, r.ih);
}
