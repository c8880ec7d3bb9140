//! The UDP front end (BEP 15): sockets sharing a port with SO_REUSEPORT, one worker
//! thread each, every datagram served through the same core as HTTP (`core.rs`).

mod batch;
mod conn_id;
mod handle;
mod offload;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

pub use batch::{Batch, BATCH};
pub use conn_id::ConnectionIds;
use handle::{Admitted, Handled};
use offload::Offload;

use crate::tracker::Tracker;

/// Larger than any request (a scrape of 74 hashes is 1 496 bytes, an announce 98 and
/// its options); a longer datagram is cut here and read as what fits.
const RECV_BUF: usize = 2048;

/// How often connection-id keys change: an id lives one to two of these.
const KEY_LIFETIME: Duration = Duration::from_secs(60);

/// Serves every socket until `shutdown`; returns when all workers have stopped.
pub async fn serve(tracker: Arc<Tracker>, sockets: Vec<UdpSocket>, shutdown: CancellationToken) {
    if sockets.is_empty() {
        return;
    }
    let ids = Arc::new(ConnectionIds::default());
    // The workers are threads: they stop at shutdown, and also when this future is
    // dropped without one (a runtime shutting down drops its tasks, then waits for its
    // blocking threads: they must not wait for a token nobody will cancel).
    let stop = shutdown.child_token();
    let _stop_on_drop = stop.clone().drop_guard();
    let offload = Offload::new(&tracker);
    let mut workers = Vec::new();
    for socket in sockets {
        let (t, ids, stop) = (tracker.clone(), ids.clone(), stop.clone());
        let offload = offload.clone();
        match socket.into_std() {
            Ok(s) => workers.push(tokio::task::spawn_blocking(move || {
                worker(&t, &Arc::new(s), &ids, offload.as_ref(), &stop)
            })),
            Err(e) => tracing::error!(error = %e, "UDP socket unusable"),
        }
    }
    let mut tick = seedline_process::shutdown::every(KEY_LIFETIME);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => ids.rotate(),
        }
    }
    for w in workers {
        let _ = w.await;
    }
}

/// How often a worker blocked in a receive looks at the shutdown token.
const SHUTDOWN_POLL: Duration = Duration::from_millis(200);

/// One socket's loop on a thread of its own: a blocking batched receive, every answer,
/// one batched send. A thread per socket (one per CPU, SO_REUSEPORT spreading the
/// clients) costs the datagram path no readiness bookkeeping or task wake-ups.
fn worker(
    tracker: &Tracker,
    socket: &Arc<std::net::UdpSocket>,
    ids: &Arc<ConnectionIds>,
    offload: Option<&Offload>,
    shutdown: &CancellationToken,
) {
    if let Err(e) = socket
        .set_nonblocking(false)
        .and_then(|()| socket.set_read_timeout(Some(SHUTDOWN_POLL)))
    {
        tracing::error!(error = %e, "UDP socket unusable");
        return;
    }
    let mut ids = ids.view();
    let mut batch = Batch::new(RECV_BUF);
    while !shutdown.is_cancelled() {
        let n = match batch.recv(socket) {
            Ok(n) => n,
            // The poll timeout; or a transient failure: nothing to do for the next one.
            Err(e) => {
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    tracing::debug!(error = %e, "UDP receive failed");
                }
                continue;
            }
        };
        for i in 0..n {
            let (packet, src, out) = batch.datagram_and_reply(i);
            let Some(src) = src else { continue };
            let handled = match tracker.udp_admit(&mut ids, packet, src, out) {
                Admitted::Done(h) => h,
                Admitted::Serve(req, started) => match offload {
                    None => {
                        crate::swarm_store::ready_now(tracker.udp_serve(&req, src, out, started))
                    }
                    Some(o) => {
                        o.submit(socket, packet, src, started);
                        continue;
                    }
                },
            };
            if handled == Handled::Reply {
                batch.reply(i, src);
            }
        }
        batch.send(socket, |e| {
            tracing::debug!(error = %e, "UDP send failed");
            tracker
                .metrics
                .udp_dropped
                .with_label_values(&["send_failed"])
                .inc();
        });
    }
}
