//! A stand-in tracker that answers every request with the same valid announce reply
//! (50 compact peers), doing no other work: it measures the load generator itself.
//!
//! `cargo run --release -p seedline-loadtest --example canned_tracker -- 127.0.0.1:6969`
//! then `loadtest tracker --target http://127.0.0.1:6969` and compare the generator's CPU
//! per request with a real tracker's. It stops after 10 minutes whatever happens.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIFETIME: Duration = Duration::from_secs(600);
const MAX_HEAD: usize = 16 * 1024;

fn reply() -> (Vec<u8>, Vec<u8>) {
    let body = seedline_common::sample::announce_reply(50);
    let head = |close: bool| {
        let mut h = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        );
        if close {
            h.push_str("Connection: close\r\n");
        }
        h.push_str("\r\n");
        let mut out = h.into_bytes();
        out.extend_from_slice(&body);
        out
    };
    (head(false), head(true))
}

async fn serve(mut s: TcpStream, keep: &[u8], close: &[u8]) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    loop {
        let n = match s.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = &buf[..end];
            let wants_close = head
                .windows(17)
                .any(|w| w.eq_ignore_ascii_case(b"connection: close"));
            let out = if wants_close { close } else { keep };
            if s.write_all(out).await.is_err() || wants_close {
                return;
            }
            buf.copy_within(end + 4..filled, 0);
            filled -= end + 4;
        }
        if filled == buf.len() {
            return;
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6969".into())
        .parse()
        .expect("an address such as 127.0.0.1:6969");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("canned tracker on {addr}");
        let (keep, close) = reply();
        let (keep, close): (&'static [u8], &'static [u8]) = (keep.leak(), close.leak());
        let accept = async {
            loop {
                let (s, _) = listener.accept().await?;
                tokio::task::spawn_local(serve(s, keep, close));
            }
        };
        tokio::select! {
            r = accept => r,
            () = tokio::time::sleep(LIFETIME) => Ok(()),
        }
    })
}
