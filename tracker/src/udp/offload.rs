//! With a shared store (Redis) an announce or scrape waits for a round trip. The worker
//! thread must not: it hands the request, with a copy of the datagram, to a task on the
//! runtime and goes on receiving, and the task sends the reply itself. At most
//! `store_max_in_flight` requests wait at once (all sockets together); a datagram past
//! that is dropped and counted, as the kernel would drop it from a full queue.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use nix::sys::socket::{sendto, MsgFlags, SockaddrStorage};

use seedline_common::udp::Request;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::handle::Handled;
use crate::tracker::Tracker;

#[derive(Clone)]
pub(super) struct Offload {
    rt: Handle,
    permits: Arc<Semaphore>,
    tracker: Arc<Tracker>,
}

impl Offload {
    /// For a tracker with a shared store, `None` otherwise. Call on the runtime.
    pub(super) fn new(tracker: &Arc<Tracker>) -> Option<Self> {
        tracker.shared.as_ref()?;
        Some(Self {
            rt: Handle::current(),
            permits: Arc::new(Semaphore::new(tracker.config().store_max_in_flight)),
            tracker: tracker.clone(),
        })
    }

    /// Serves an admitted datagram from `src` in a task; its reply goes out on `socket`.
    pub(super) fn submit(
        &self,
        socket: &Arc<UdpSocket>,
        packet: &[u8],
        src: SocketAddr,
        started: Instant,
    ) {
        let m = &self.tracker.metrics;
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            m.udp_dropped.with_label_values(&["store_busy"]).inc();
            return;
        };
        let (t, socket, packet) = (self.tracker.clone(), socket.clone(), packet.to_vec());
        self.rt.spawn(async move {
            let _permit = permit;
            // The same bytes the worker admitted: they parse the same way.
            let Ok(req) = Request::parse(&packet) else {
                return;
            };
            let mut out = Vec::with_capacity(packet.len().max(256));
            if t.udp_serve(&req, src, &mut out, started).await == Handled::Reply {
                // The worker's socket is blocking (and that flag is shared by every
                // handle of it), so this send asks not to wait: a runtime thread must
                // never block on a full send buffer.
                let to = SockaddrStorage::from(src);
                if let Err(e) = sendto(socket.as_raw_fd(), &out, &to, MsgFlags::MSG_DONTWAIT) {
                    tracing::debug!(%src, error = %e, "UDP send failed");
                    t.metrics
                        .udp_dropped
                        .with_label_values(&["send_failed"])
                        .inc();
                }
            }
        });
    }
}
