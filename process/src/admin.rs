//! The admin listener every daemon has: `/metrics` (Prometheus text) and `/health`, and
//! whatever else a daemon routes there (the tracker's `/api`).
//!
//! It is meant for a private network, but is still bounded: a few connections at once,
//! a request head within seconds, each connection closed after a while, so a stuck
//! scraper (or anyone who reaches the port) cannot pile up tasks or descriptors. At
//! shutdown each connection may finish the request it is serving within a grace period,
//! and [`serve`] returns when the last one has closed.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The bounds of an admin listener.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once; Prometheus uses one, a person with curl another.
    pub max_connections: usize,
    /// Time to send a request head.
    pub head_timeout: Duration,
    /// Longest a connection lives (Prometheus reconnects as needed), a request body
    /// included.
    pub lifetime: Duration,
    /// Largest request head, in bytes.
    pub max_head: usize,
    /// At shutdown, how long a connection may take to finish its request.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            head_timeout: Duration::from_secs(5),
            lifetime: Duration::from_secs(60),
            max_head: 16 * 1024,
            grace: Duration::from_secs(5),
        }
    }
}

pub type Reply = Response<Full<Bytes>>;

/// Serves `handler` on `listener` until `shutdown` fires, then gives every connection
/// `grace` to finish its request and returns.
pub async fn serve<H, Fut>(
    listener: TcpListener,
    limits: Limits,
    handler: H,
    shutdown: CancellationToken,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let slots = std::sync::Arc::new(Semaphore::new(limits.max_connections));
    let conns = TaskTracker::new();
    loop {
        // Waiting for a slot first leaves excess clients in the kernel's backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
            () = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors, most often: back off instead of spinning.
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let handler = handler.clone();
        let stop = shutdown.clone();
        conns.spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let reply = handler(req);
                async move { Ok::<_, Infallible>(reply.await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .max_buf_size(limits.max_head);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let lifetime = tokio::time::sleep(limits.lifetime);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = lifetime.as_mut() => return,
                () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            tokio::select! {
                _ = conn.as_mut() => {}
                () = lifetime => {}
                () = tokio::time::sleep(limits.grace) => {}
            }
        });
    }
    conns.close();
    conns.wait().await;
}

/// The endpoints every admin listener has: `/metrics` with the `metrics` in Prometheus'
/// text format, `/health`, 404 for any other path and 405 for a method other than GET
/// and HEAD.
pub fn respond<B>(req: &Request<B>, metrics: &Registry) -> Reply {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed();
    }
    match req.uri().path() {
        "/metrics" => {
            let mut r = Response::new(Full::new(Bytes::from(render(metrics))));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        "/health" => text(StatusCode::OK, "ok\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The Prometheus text exposition of `metrics`.
pub fn render(metrics: &Registry) -> Vec<u8> {
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&metrics.gather(), &mut out)
        .expect("text encoding");
    out
}

/// A plain-text reply.
pub fn text(status: StatusCode, body: &'static str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// 405, naming the methods a read-only endpoint takes.
pub fn method_not_allowed() -> Reply {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    use super::*;
    use crate::metrics::Registrar;

    const WAIT: Duration = Duration::from_secs(10);

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut reply = String::new();
        timeout(WAIT, s.read_to_string(&mut reply))
            .await
            .expect("reply in time")
            .unwrap();
        reply
    }

    /// A server of `metrics` with `limits` on a port of its own: its address, its task
    /// and the token that stops it.
    fn start(
        limits: Limits,
        metrics: &Registrar,
    ) -> (SocketAddr, tokio::task::JoinHandle<()>, CancellationToken) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let registry = metrics.registry();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            limits,
            move |req| std::future::ready(respond(&req, &registry)),
            stop.clone(),
        ));
        (addr, server, stop)
    }

    /// Stops the server, which must return within [`WAIT`].
    async fn stop(server: tokio::task::JoinHandle<()>, stop: CancellationToken) {
        stop.cancel();
        timeout(WAIT, server)
            .await
            .expect("serve returns at shutdown")
            .unwrap();
    }

    /// One slot, held by a connection that never sends anything: the next client is
    /// served once the idle one's lifetime is over, and shutdown returns.
    #[tokio::test]
    async fn serves_the_endpoints_within_its_bounds() {
        let metrics = Registrar::new("demo");
        metrics.counter("hits_total", "Hits.").inc();
        let limits = Limits {
            max_connections: 1,
            lifetime: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, server, token) = start(limits, &metrics);
        let _idle = TcpStream::connect(addr).await.unwrap();
        let reply = get(addr, "/metrics").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("demo_hits_total 1"), "{reply}");
        assert!(get(addr, "/health").await.ends_with("ok\n"));
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        stop(server, token).await;
    }

    /// A client in the middle of a request cannot hold shutdown past the grace period
    /// (here far shorter than the connection's lifetime and the head timeout).
    #[tokio::test]
    async fn shutdown_waits_only_the_grace_period() {
        let limits = Limits {
            head_timeout: Duration::from_secs(600),
            lifetime: Duration::from_secs(600),
            grace: Duration::from_millis(200),
            ..Limits::default()
        };
        let (addr, server, token) = start(limits, &Registrar::new("demo"));
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
        // The connection is being served before shutdown starts.
        assert!(get(addr, "/health").await.ends_with("ok\n"));
        stop(server, token).await;
    }
}
