//! The webseed listener (`http_listen`): every torrent being seeded, served over HTTP/1.1
//! as BEP 19 clients and plain downloaders ask for it, from the same verified content
//! and upload budgets as the peer wire.
//!
//! Not on hyper, unlike our other listeners: a hyper response body is bytes in our
//! memory, and copying the content through it cost five times the CPU per GiB of
//! nginx's `sendfile` (BENCHMARKS.md, "Webseed"). The webseed's HTTP is small (GET and
//! HEAD, no request bodies, one range per request), so heads are parsed with httparse
//! (hyper's own parser, `head.rs`) and content goes from the page cache to the socket
//! with `sendfile` (`send.rs`).
//!
//! Bounded like the peer port: `http_max_connections` at once (more wait in the kernel's
//! backlog), `http_max_connections_per_address`, and the deadlines in `conn.rs`.

pub mod conn;
pub mod handler;
pub mod head;
pub mod metrics;
pub mod range;
pub mod resolve;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use seedline_common::per_address::PerAddress;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use super::shared::Shared;

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
            let _open = Gauge::open(&shared.metrics.http.connections);
            let grace = Config::secs(shared.cfg.grace_period);
            let serving = conn::serve(stream, &shared, &stop);
            tokio::pin!(serving);
            // At shutdown, the response being sent may finish within the grace period.
            tokio::select! {
                () = serving.as_mut() => {}
                () = async { stop.cancelled().await; tokio::time::sleep(grace).await } => {}
            }
            drop((permit, slot, peer));
        });
    }
    drop(listener);
    conns.close();
    conns.wait().await;
}

/// One open connection on a gauge, taken off when dropped (a panicking task too).
struct Gauge(prometheus::IntGauge);

impl Gauge {
    fn open(g: &prometheus::IntGauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}
