use std::process::{Command, Stdio};
use std::time::Duration;

use seedline_common::Event;
use seedline_testkit::{KillOnDrop, Run};

use crate::client::*;
use crate::util::*;

#[tokio::test]
async fn silent_peers_and_empty_swarms_expire() {
    let s = start_with(|c| {
        c.interval = 1;
        c.min_interval = 1;
        c.peer_timeout = 2;
        c.sweep_interval = 1;
    })
    .await;
    send_announce(&s, &announce(1, 1, 1, 1, Event::Started)).await;
    send_announce(&s, &announce(2, 1, 1, 0, Event::Started)).await;
    assert_eq!(s.tracker.store.torrent_count(), 2);
    let gone = eventually(|| async { s.tracker.store.torrent_count() == 0 }).await;
    assert!(gone, "peers expired within {WAIT:?}");
    assert_metrics(
        &s,
        r#"
        seedline_tracker_peers_expired_total 2
        seedline_tracker_peers{family="ipv4",role="leecher"} 0
        seedline_tracker_torrents 0
        "#,
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn health_everywhere_metrics_only_on_admin() {
    let s = TestServer::start(test_config()).await;
    assert_eq!(get(s.addr(), "/health").await.status, 200);
    assert_eq!(get(s.admin, "/health").await.status, 200);
    assert_eq!(get(s.addr(), "/metrics").await.status, 404);
    let m = s.metrics().await;
    for name in [
        "seedline_tracker_requests_total",
        "seedline_tracker_request_duration_seconds_bucket",
        "seedline_tracker_torrents",
        "seedline_tracker_peers",
        "seedline_tracker_connections_open",
        "seedline_tracker_peers_expired_total",
    ] {
        assert!(m.contains(name), "{name} missing from /metrics");
    }
    s.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let s = TestServer::start(test_config()).await;
    let addr = s.addr();
    let mut c = Conn::open(addr).await;
    // Half a request head is in flight when the signal comes.
    c.send_raw(b"GET /health HTTP/1.1\r\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.task.token.cancel();
    c.send_raw(b"Host: x\r\n\r\n").await;
    let r = c.read_response().await.expect("in-flight request answered");
    assert_eq!(r.status, 200);
    tokio::time::timeout(WAIT, s.task.handle)
        .await
        .expect("server drained in time")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
}

/// The real binary: config errors exit 64 before binding, SIGTERM exits 0.
#[tokio::test]
async fn binary_config_errors_and_signals() {
    let bin = env!("CARGO_BIN_EXE_tracker");
    let stderr = Run::of(Command::new(bin).args(["--interval", "0"])).fails_with(64);
    assert!(stderr.contains("interval must be at least 1"));

    // `ip=` believed from a proxy's network would let every client behind it set any
    // address (issue 13, finding 3): refused before binding.
    let stderr = Run::of(Command::new(bin).args([
        "--trusted-proxy",
        "127.0.0.1/32",
        "--ip-param-from",
        "127.0.0.0/8",
    ]))
    .fails_with(64);
    assert!(
        stderr.contains("ip_param_from 127.0.0.0/8 overlaps trusted proxy network 127.0.0.1/32"),
        "{stderr}"
    );

    let printed = Run::of(Command::new(bin).args([
        "--print-config",
        "--interval",
        "99",
        "--min-interval",
        "60",
    ]))
    .ok();
    assert!(printed.contains("interval = 99"), "{printed}");

    let out = Run::of(
        Command::new(bin)
            .env("TRACKER_NUMWANT_MAX", "77")
            .arg("--print-config"),
    );
    assert!(out.stdout.contains("numwant_max = 77"));

    let mut child = KillOnDrop::spawn(
        Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // Wait for the listening line, bounded.
    let rx = child.stderr_lines();
    let deadline = std::time::Instant::now() + WAIT;
    let mut ready = false;
    while std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            if l.contains("admin listening") {
                ready = true;
                break;
            }
        }
    }
    assert!(ready, "tracker did not start");
    child.signal("TERM");
    let status = child
        .wait_for(WAIT)
        .expect("tracker did not exit after SIGTERM");
    assert!(status.success(), "{status}");
}
