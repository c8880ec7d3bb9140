//! `loadtest tracker`'s exit code (issue 14, item 10): a run whose requests fail beyond
//! `--max-error-rate` exits 1 (through nginx, 99.9% of requests answered 429 used to exit
//! 0), a clean run exits 0.

use std::net::SocketAddr;
use std::process::Output;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::util::{TestTracker, WAIT};

/// A server that answers every request with 429, as a rate-limiting proxy does.
async fn always_429() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = s.read(&mut chunk).await {
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let reply = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n";
                        if s.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, h)
}

async fn loadtest(target: SocketAddr, extra: &[&str]) -> Output {
    let url = format!("http://{target}/announce");
    let mut args = vec![
        "tracker",
        "--target",
        &url,
        "--torrents",
        "5",
        "--peers",
        "50",
        "--connections",
        "2",
        "--requests",
        "300",
        "--timeout",
        "5",
    ];
    args.extend_from_slice(extra);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(&args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT, child)
        .await
        .expect("loadtest ends in time")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_requests_beyond_the_error_rate_fail_the_run() {
    let (addr, server) = always_429().await;
    let out = loadtest(addr, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("300 of 300 requests failed (100.00%), more than --max-error-rate 0.01"),
        "{stderr}"
    );
    // The operator may accept any share, up to all of them.
    let out = loadtest(addr, &["--max-error-rate", "1"]).await;
    assert_eq!(out.status.code(), Some(0));
    // A rate outside 0..=1 is a usage error.
    let out = loadtest(addr, &["--max-error-rate", "2"]).await;
    assert_eq!(out.status.code(), Some(64));
    // So is a way of spacing an open-loop rate with no rate to space.
    let out = loadtest(addr, &["--arrivals", "poisson"]).await;
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--arrivals needs --rate"));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_exits_zero() {
    let t = TestTracker::start("127.0.0.1:0").await;
    let out = loadtest(t.addr, &["--max-error-rate", "0"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.stop().await;
}
