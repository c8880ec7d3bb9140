//! One webseed connection: request heads in (pipelined or one after another on a
//! keep-alive connection), each answered in order with its head and then its body,
//! content sent straight from the page cache (`send.rs`).
//!
//! Deadlines, each counted by reason when it ends a connection: a request head must be
//! complete within `http_header_timeout` of its first byte (slowloris); a connection
//! waiting for its next request with nothing at all going on is closed after
//! `http_idle_timeout`; a write that makes no progress for `write_timeout` (a client
//! that stops reading) ends it. At shutdown a connection finishes the response it is
//! sending (within the grace period, which `serve` enforces) and takes no other.

use std::time::Duration;

use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::handler::{self, Body};
use super::head::{self, Parsed, MAX_HEAD};
use super::send::{self, Abort};
use crate::daemon::config::Config;
use crate::daemon::shared::Shared;

/// How a connection ended, when a limit or a fault ended it.
enum End {
    /// The client closed, or the connection ended normally.
    Done,
    Idle,
    SlowHead,
    Abort(Abort),
}

pub async fn serve(mut stream: TcpStream, shared: &Shared, stop: &CancellationToken) {
    let _ = stream.set_nodelay(true);
    let m = &shared.metrics.http;
    let end = requests(&mut stream, shared, stop).await;
    let label = match end {
        End::Done | End::Abort(Abort::Io) => None,
        End::Idle => Some(("closed", "idle")),
        End::SlowHead => Some(("closed", "slow_head")),
        End::Abort(Abort::Stalled) => Some(("closed", "write_stalled")),
        End::Abort(why) => Some(("aborted", why.label())),
    };
    match label {
        Some(("closed", l)) => m.closed.with_label_values(&[l]).inc(),
        Some((_, l)) => m.aborted.with_label_values(&[l]).inc(),
        None => {}
    }
}

async fn requests(stream: &mut TcpStream, shared: &Shared, stop: &CancellationToken) -> End {
    let cfg = &shared.cfg;
    let (idle, head_time, write_time) = (
        Config::secs(cfg.http_idle_timeout),
        Config::secs(cfg.http_header_timeout),
        Config::secs(cfg.write_timeout),
    );
    let mut buf = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(512);
    // A new connection has `http_header_timeout` for its first head, from accept: one
    // that sends nothing must not hold its slot for the idle time.
    let mut first = true;
    loop {
        // Read until a whole head is in `buf` (pipelined requests may already be).
        let mut started: Option<Instant> = (first || !buf.is_empty()).then(Instant::now);
        first = false;
        let waiting_since = Instant::now();
        let head = loop {
            match head::parse(&buf) {
                Parsed::Complete(h) => break h,
                Parsed::Invalid(status) => {
                    shared
                        .metrics
                        .http
                        .requests
                        .with_label_values(&[status.as_str()])
                        .inc();
                    let _ = reply_error(stream, status, &mut out, write_time).await;
                    return End::Done;
                }
                Parsed::Partial => {}
            }
            let deadline = match started {
                Some(t) => t + head_time,
                None => waiting_since + idle,
            };
            let mut chunk = [0u8; 4096];
            let want = chunk.len().min(MAX_HEAD + 1 - buf.len().min(MAX_HEAD));
            tokio::select! {
                r = tokio::time::timeout_at(deadline, stream.read(&mut chunk[..want])) => match r {
                    Err(_) if started.is_some() => return End::SlowHead,
                    Err(_) => return End::Idle,
                    Ok(Ok(0) | Err(_)) => return End::Done,
                    Ok(Ok(n)) => {
                        started.get_or_insert_with(Instant::now);
                        buf.extend_from_slice(&chunk[..n]);
                    }
                },
                // Between requests, shutdown closes at once.
                () = stop.cancelled(), if buf.is_empty() => return End::Done,
            }
        };
        buf.drain(..head.len);
        let mut reply = handler::handle(shared, &head.request);
        // The first chunk is proven before the head goes out, so content that turned out
        // bad or unreadable gets a 503, not a 200 cut short at its first byte.
        if let Body::File { torrent, range } = &reply.body {
            let first = range.start..range.end.min(range.start + send::CHUNK);
            let proven = send::prove(shared, torrent, first).await;
            if proven.is_err() || torrent.state() != crate::daemon::torrent::State::Seeding {
                reply = handler::unavailable("this content cannot be served now\n");
                let m = &shared.metrics.http;
                m.requests.with_label_values(&["503"]).inc();
            }
        }
        let keep_alive = head.keep_alive && !stop.is_cancelled();
        out.clear();
        head::write_response(&mut out, reply.status, &reply.headers, !keep_alive);
        let is_head = head.request.method() == Method::HEAD;
        let result = match reply.body {
            Body::Text(text) if !is_head => {
                out.extend_from_slice(text.as_bytes());
                write_all(stream, &out, write_time).await
            }
            Body::File { torrent, range } => {
                // Corked, the head goes out with the first content in full segments
                // (nginx's `tcp_nopush`); uncorking sends what is left at once.
                let _ = socket2::SockRef::from(&*stream).set_cork(true);
                let sent = match write_all(stream, &out, write_time).await {
                    Ok(()) => send::file(stream, shared, &torrent, range, write_time).await,
                    e => e,
                };
                let _ = socket2::SockRef::from(&*stream).set_cork(false);
                sent
            }
            _ => write_all(stream, &out, write_time).await,
        };
        if let Err(why) = result {
            return End::Abort(why);
        }
        if !keep_alive {
            linger_close(stream).await;
            return End::Done;
        }
        if buf.capacity() > 4 * MAX_HEAD {
            buf.shrink_to(1024);
        }
    }
}

/// Answers a head that could not be taken, and closes.
async fn reply_error(
    stream: &mut TcpStream,
    status: StatusCode,
    out: &mut Vec<u8>,
    write_time: Duration,
) -> Result<(), Abort> {
    out.clear();
    let mut h = hyper::HeaderMap::new();
    h.insert(
        hyper::header::CONTENT_LENGTH,
        hyper::header::HeaderValue::from_static("0"),
    );
    head::write_response(out, status, &h, true);
    write_all(stream, out, write_time).await?;
    linger_close(stream).await;
    Ok(())
}

/// Closes our side, then reads and drops what the client still sends for a moment: a
/// socket closed with unread data (a pipelined request, a body we do not read) answers
/// with a reset, which can make the client lose the end of our response.
async fn linger_close(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut left: usize = 64 * 1024;
    let drain = async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Writes all of `bytes`; a write that makes no progress for `limit` fails.
async fn write_all(stream: &mut TcpStream, mut bytes: &[u8], limit: Duration) -> Result<(), Abort> {
    while !bytes.is_empty() {
        match tokio::time::timeout(limit, stream.write(bytes)).await {
            Err(_) => return Err(Abort::Stalled),
            Ok(Ok(0) | Err(_)) => return Err(Abort::Io),
            Ok(Ok(n)) => bytes = &bytes[n..],
        }
    }
    Ok(())
}
