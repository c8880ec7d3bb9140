//! The receiving half of a connection: reads bytes into a buffer sized by what the next
//! frame needs and hands them to the session, within the idle timeout.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::conn::Conn;
use super::session::Received;
use crate::daemon::reason::Disconnect;
use crate::daemon::shared::Shared;

/// A read buffer left larger than this by one big frame (a bitfield of a torrent with
/// many pieces) is given back once it is empty, instead of kept for the connection's life.
const KEEP_READ_BUFFER: usize = 64 * 1024;

/// Reads until the peer leaves or misbehaves; returns the disconnect reason. `rd` is the
/// socket's read half (or, when fuzzing, a byte slice).
pub async fn run<R: AsyncRead + Unpin>(
    conn: &Arc<Conn>,
    shared: &Shared,
    rd: &mut R,
    mut buf: BytesMut,
) -> Disconnect {
    let idle = crate::daemon::config::Config::secs(shared.cfg.idle_timeout);
    let mut now = Instant::now();
    loop {
        let want = loop {
            match conn.update(shared, |s, c| s.receive(c, &mut buf, now)) {
                Ok(Received::Message) => {
                    if conn.over_budget() {
                        // Asking for replies (metadata, rejects) without reading them.
                        return Disconnect::MemoryBudget;
                    }
                }
                Ok(Received::Incomplete { want }) => break want,
                Err(why) => return why,
            }
        };
        if buf.is_empty() && buf.capacity() > KEEP_READ_BUFFER {
            buf = BytesMut::new();
        }
        buf.reserve(want);
        if conn.memory.set_read(buf.capacity()) {
            // A quiet peer sends no message to be counted after: count it here.
            conn.memory_held();
        }
        match tokio::time::timeout(idle, rd.read_buf(&mut buf)).await {
            Err(_) => return Disconnect::Idle,
            Ok(Ok(0)) => return Disconnect::Closed,
            Ok(Ok(_)) => now = Instant::now(),
            Ok(Err(_)) => return Disconnect::Io,
        }
    }
}
