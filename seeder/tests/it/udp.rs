//! UDP trackers (BEP 15) from the seeder's side: it announces to a `udp://` tracker, and
//! its embedded tracker answers UDP on the port of its HTTP listener.

use std::net::SocketAddr;
use std::sync::Arc;

use seedline_common::udp::{self, Announce, Reply, Request};
use seedline_common::{Event, PeerId};
use tokio::net::UdpSocket;

use crate::daemon_util::{eventually, scrape, DEADLINE};
use crate::seed::serve_release;

/// Sends `req` on the connected `sock`; the reply, within [`DEADLINE`].
async fn exchange(sock: &UdpSocket, req: Request<'_>) -> Vec<u8> {
    let mut b = Vec::new();
    req.write(&mut b);
    sock.send(&b).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(DEADLINE, sock.recv(&mut buf))
        .await
        .expect("a reply in time")
        .unwrap();
    buf.truncate(n);
    buf
}

/// Connect, then a leecher's `started` announce for `ih`; the peers of the reply.
async fn udp_leecher(tracker: SocketAddr, ih: seedline_common::InfoHash) -> Vec<SocketAddr> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.connect(tracker).await.unwrap();
    let b = exchange(&sock, Request::Connect { transaction_id: 1 }).await;
    let Ok(Reply::Connect { connection_id, .. }) = Reply::parse(&b, false) else {
        panic!("not a connect reply: {b:?}")
    };
    let announce = Announce {
        connection_id,
        transaction_id: 2,
        info_hash: ih,
        peer_id: PeerId([7; 20]),
        downloaded: 0,
        left: 1,
        uploaded: 0,
        event: Event::Started,
        ip: None,
        key: 0,
        num_want: None,
        port: 7000,
        url_data: b"/announce",
    };
    let b = exchange(&sock, Request::Announce(announce)).await;
    match Reply::parse(&b, false) {
        Ok(Reply::Announce { peers, .. }) => udp::peers(peers, false),
        r => panic!("not an announce reply: {r:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_tracker_answers_udp_on_its_port() {
    let r = serve_release(true, |_| {}).await;
    let tracker = r.s.tracker.expect("embedded tracker");
    let origin_seen = eventually(|| async {
        udp_leecher(tracker, r.ih).await == [SocketAddr::new(tracker.ip(), r.s.peer.port())]
    })
    .await;
    assert!(
        origin_seen,
        "a UDP leecher gets the origin from the embedded tracker"
    );
    r.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeder_announces_to_a_udp_tracker() {
    let tcfg = seedline_tracker::Config {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        udp_listen: vec!["127.0.0.1:0".parse().unwrap()],
        ..seedline_tracker::Config::default()
    };
    let listeners = seedline_tracker::Listeners::bind(&tcfg).unwrap();
    let http = listeners.public_addrs()[0];
    let udp_addr = listeners.udp_addrs()[0];
    let tracker = Arc::new(seedline_tracker::Tracker::new(
        &tcfg,
        seedline_tracker::metrics::Metrics::new(),
    ));
    let stop = tokio_util::sync::CancellationToken::new();
    let served = tokio::spawn(seedline_tracker::serve(
        tracker.clone(),
        listeners,
        stop.clone(),
    ));
    let r = serve_release(true, |c| {
        c.tracker = Some(format!("udp://{udp_addr}/announce"));
    })
    .await;
    let seen =
        eventually(|| async { scrape(http, r.ih).await.is_some_and(|st| st.complete == 1) }).await;
    assert!(seen, "the seeder's UDP announce reached the tracker");
    let m = String::from_utf8(tracker.metrics.render()).unwrap();
    assert!(
        m.contains(
            r#"seedline_tracker_requests_total{endpoint="announce",outcome="ok",protocol="udp"} 1"#
        ),
        "{m}"
    );
    // Its `stopped` goes over UDP too.
    r.s.stop().await;
    let gone = eventually(|| async { scrape(http, r.ih).await.is_none() }).await;
    assert!(gone, "stopped over UDP");
    stop.cancel();
    let _ = served.await;
}
