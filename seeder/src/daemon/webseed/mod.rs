//! The webseed listener (`http_listen`): every torrent being seeded, served over HTTP/1.1
//! as BEP 19 clients and plain downloaders ask for it, from the same verified content
//! and upload budgets as the peer wire.
//!
//! Bounded like the peer port: `http_max_connections` at once (more wait in the kernel's
//! backlog), `http_max_connections_per_address`, a request head within
//! `http_header_timeout` of its first byte, no traffic for `http_idle_timeout`, or a
//! reply the client stops reading for `write_timeout`, and the connection is closed
//! (counted by reason). Each response holds at most two chunks of content.

pub mod body;
pub mod handler;
pub mod metrics;
pub mod range;
pub mod resolve;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use seedline_common::per_address::PerAddress;
use seedline_process::idle_io::{Deadlines, IdleIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use super::shared::Shared;

/// Largest request head. BEP 19 clients send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// Checks a `public_http_url`: `http://` or `https://`, a host, and a path ending in `/`
/// (BEP 19 clients append the torrent's name to a URL that ends in `/`).
pub fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("public_http_url {url:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("public_http_url {url:?} has no host"));
    }
    if !url.ends_with('/') || url.contains(['?', '#']) {
        return Err(format!(
            "public_http_url {url:?} must end in `/` (clients append the torrent's name) and have no query"
        ));
    }
    Ok(())
}

/// Serves until `shutdown`; then each connection may finish its response within the
/// grace period.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let cfg = &shared.cfg;
    let slots = Arc::new(Semaphore::new(cfg.http_max_connections));
    let per_address = PerAddress::new(cfg.http_max_connections_per_address);
    let conns = TaskTracker::new();
    let m = &shared.metrics.http;
    loop {
        // Waiting for a slot before accepting leaves excess clients in the kernel's
        // backlog rather than holding descriptors we cannot serve.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, most often: back off instead of spinning.
                    tracing::warn!(error = %e, "webseed accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        m.connections_total.inc();
        let Some(slot) = per_address.try_open(peer.ip()) else {
            m.refused.with_label_values(&["per_address"]).inc();
            continue;
        };
        let (shared, stop) = (shared.clone(), shutdown.clone());
        conns.spawn(async move {
            connection(stream, peer, &shared, stop).await;
            drop((permit, slot));
        });
    }
    drop(listener);
    conns.close();
    conns.wait().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let m = &shared.metrics.http;
    m.connections.inc();
    let io = TokioIo::new(IdleIo::new(stream, deadlines(shared)));
    let s = shared.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        std::future::ready(Ok::<_, Infallible>(handler::handle(&s, &req)))
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // IdleIo enforces (and counts) the head timeout.
        .header_read_timeout(None)
        .keep_alive(true)
        .max_buf_size(MAX_HEAD);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let grace = Config::secs(shared.cfg.grace_period);
            tokio::time::timeout(grace, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "webseed connection ended with an error");
    }
    m.connections.dec();
}

fn deadlines(shared: &Shared) -> Deadlines {
    let (cfg, closed) = (&shared.cfg, &shared.metrics.http.closed);
    Deadlines {
        idle: Config::secs(cfg.http_idle_timeout),
        head: Config::secs(cfg.http_header_timeout),
        write: Config::secs(cfg.write_timeout),
        idle_closed: closed.with_label_values(&["idle"]),
        slow_closed: closed.with_label_values(&["slow_head"]),
        write_stalled: closed.with_label_values(&["write_stalled"]),
    }
}
