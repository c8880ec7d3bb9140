//! The UDP front end (BEP 15): sockets sharing a port with SO_REUSEPORT, one worker task
//! each, every datagram served through the same core as HTTP (`core.rs`).

mod conn_id;
mod handle;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use conn_id::ConnectionIds;
use handle::Handled;

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
    let workers = TaskTracker::new();
    for socket in sockets {
        workers.spawn(worker(
            tracker.clone(),
            socket,
            ids.clone(),
            shutdown.clone(),
        ));
    }
    workers.close();
    let mut tick = seedline_process::shutdown::every(KEY_LIFETIME);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => ids.rotate(),
        }
    }
    workers.wait().await;
}

async fn worker(
    tracker: Arc<Tracker>,
    socket: UdpSocket,
    ids: Arc<ConnectionIds>,
    shutdown: CancellationToken,
) {
    let mut ids = ids.view();
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = Vec::with_capacity(RECV_BUF);
    loop {
        let (n, src) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // An ICMP error of an earlier send (Linux reports it on the next call),
                // or a transient failure: nothing to do for the next datagram.
                Err(e) => {
                    tracing::debug!(error = %e, "UDP receive failed");
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        out.clear();
        if tracker.handle_udp(&mut ids, &buf[..n], src, &mut out).await == Handled::Reply {
            if let Err(e) = socket.send_to(&out, src).await {
                tracing::debug!(%src, error = %e, "UDP send failed");
                tracker
                    .metrics
                    .udp_dropped
                    .with_label_values(&["send_failed"])
                    .inc();
            }
        }
    }
}
