//! The floor without hyper: how much of an HTTP announce is TCP and tokio alone. One
//! thread, a single-threaded tokio runtime (as each of the tracker's HTTP workers), a
//! task per connection that reads requests, finds each head's end with `httparse` and
//! writes a fixed announce reply with the same headers hyper writes, keeping the
//! connection open unless asked to close. No limits but its 8 KiB buffer, no deadlines,
//! no drain: a measurement, not a server (`floor.rs` is the tracker's own connection
//! handling).
//!
//! `cargo run --release -p seedline-tracker --example bare_floor -- 127.0.0.1:6969 [PEERS]`
//! then `loadtest tracker --target http://127.0.0.1:6969/announce --target-pid PID ...`.
//! `/health` answers `ok`. It stops after 10 minutes whatever happens.

#[path = "shared/args.rs"]
mod args;

use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIFETIME: Duration = Duration::from_secs(600);

fn main() -> std::io::Result<()> {
    let (addr, peers) = args::address_and_peers(50);
    let body = seedline_common::sample::announce_reply(peers);
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         date: Mon, 07 Dec 2026 05:00:00 GMT\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body);
    let reply: Rc<[u8]> = reply.into();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(addr).await?;
            eprintln!("bare HTTP floor on {addr}, {peers} peers per announce reply");
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async move {
                    let accepting = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            let _ = stream.set_nodelay(true);
                            tokio::task::spawn_local(serve(stream, reply.clone()));
                        }
                    };
                    tokio::select! {
                        () = accepting => {}
                        () = tokio::time::sleep(LIFETIME) => {}
                    }
                })
                .await;
            Ok(())
        })
}

/// Answers each request head on `stream` with `reply` until the client closes or asks
/// to close.
async fn serve(mut stream: TcpStream, reply: Rc<[u8]>) {
    let mut buf = vec![0u8; 8192];
    let mut have = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        let Ok(n) = stream.read(&mut buf[have..]).await else {
            return;
        };
        if n == 0 {
            return;
        }
        have += n;
        let mut done = 0;
        let mut close = false;
        // Every complete head in what was read (pipelined requests), one write for all.
        while done < have {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[done..have]) {
                Ok(httparse::Status::Complete(len)) => {
                    close |= req.version == Some(0)
                        || req.headers.iter().any(|h| {
                            h.name.eq_ignore_ascii_case("connection")
                                && h.value.eq_ignore_ascii_case(b"close")
                        });
                    if req.path == Some("/health") {
                        out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n");
                    } else {
                        out.extend_from_slice(&reply);
                    }
                    done += len;
                }
                Ok(httparse::Status::Partial) => break,
                Err(_) => return,
            }
        }
        buf.copy_within(done..have, 0);
        have -= done;
        if have == buf.len() {
            return;
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
    }
}
