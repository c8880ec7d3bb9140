//! The sending half of a connection: control messages first, then one requested block at
//! a time through the upload limits, read from disk into this connection's own buffer.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use seedline_common::wire::{write_piece_header, Bitfield, BlockRequest, Message, MAX_BLOCK_LEN};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use super::conn::{Conn, Work};
use crate::daemon::metrics::reason;
use crate::daemon::shared::Shared;

/// A keep-alive goes out after this long without sending anything (BEP 3 peers drop
/// connections silent for two minutes).
const KEEPALIVE: Duration = Duration::from_secs(90);
const HEADER: usize = 13;

/// Sends until the connection fails; returns the disconnect reason. `advertised` is what
/// the peer was told we have; pieces proven later are sent as `have`.
pub async fn run(
    conn: &Arc<Conn>,
    shared: &Shared,
    wr: &mut OwnedWriteHalf,
    mut advertised: Bitfield,
) -> &'static str {
    let t = conn.torrent.clone();
    let mut progress = t.progress.subscribe();
    let mut buf = Vec::with_capacity(HEADER + MAX_BLOCK_LEN as usize);
    loop {
        let result = match conn.next_work() {
            Work::Control(bytes) => {
                let r = wr.write_all(&bytes).await;
                conn.recycle(bytes);
                r
            }
            Work::Block(r) => match block(conn, shared, r, buf).await {
                Ok(b) => {
                    buf = b;
                    let r = wr.write_all(&buf).await;
                    if r.is_ok() {
                        count(conn, shared, buf.len() - HEADER);
                    }
                    r
                }
                Err((b, why)) => {
                    buf = b;
                    shared
                        .metrics
                        .requests_rejected
                        .with_label_values(&[why])
                        .inc();
                    if conn.fast {
                        conn.send(Message::Reject(r));
                    }
                    Ok(())
                }
            },
            Work::Idle => {
                tokio::select! {
                    () = conn.wait_for_work() => {}
                    Ok(()) = progress.changed() => {
                        for i in 0..t.piece_count() {
                            if !advertised.has(i) && t.advertised(i) {
                                advertised.set(i);
                                conn.send(Message::Have(i));
                            }
                        }
                    }
                    () = tokio::time::sleep(KEEPALIVE) => conn.send(Message::KeepAlive),
                }
                Ok(())
            }
        };
        if result.is_err() {
            return reason::IO;
        }
    }
}

fn count(conn: &Conn, shared: &Shared, n: usize) {
    let n = n as u64;
    shared.metrics.uploaded_bytes.inc_by(n);
    shared.metrics.blocks_served.inc();
    conn.torrent.uploaded.fetch_add(n, Ordering::Relaxed);
    conn.round_bytes.fetch_add(n, Ordering::Relaxed);
}

/// Reads the block into `buf` behind its `piece` header. A piece not yet proven is
/// hashed first; a bad one is refused. Errors carry the buffer back with a reason.
async fn block(
    conn: &Conn,
    shared: &Shared,
    r: BlockRequest,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, (Vec<u8>, &'static str)> {
    let t = conn.torrent.clone();
    shared.limiter.acquire(u64::from(r.length)).await;
    t.limiter.acquire(u64::from(r.length)).await;
    let permit = if t.is_verified(r.index) {
        None
    } else {
        Some(
            shared
                .verify_slots
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore never closed"),
        )
    };
    let metrics = shared.metrics.clone();
    let joined = tokio::task::spawn_blocking(move || {
        if permit.is_some() {
            match t.ensure_verified(r.index) {
                Ok(true) => {}
                Ok(false) => return (buf, Err(reason::NOT_AVAILABLE)),
                Err(e) => {
                    metrics.disk_read_errors.inc();
                    tracing::error!(torrent = %t.source.display(), error = %e, "cannot read piece");
                    return (buf, Err(reason::DISK));
                }
            }
        }
        buf.clear();
        write_piece_header(&mut buf, r.index, r.begin, r.length);
        buf.resize(HEADER + r.length as usize, 0);
        let offset = t.info.piece_range(u64::from(r.index)).start + u64::from(r.begin);
        match t.storage.read_at(offset, &mut buf[HEADER..]) {
            Ok(()) => (buf, Ok(())),
            Err(e) => {
                metrics.disk_read_errors.inc();
                tracing::error!(torrent = %t.source.display(), error = %e, "cannot read block");
                (buf, Err(reason::DISK))
            }
        }
    })
    .await;
    match joined {
        Ok((buf, Ok(()))) => Ok(buf),
        Ok((buf, Err(why))) => Err((buf, why)),
        Err(_) => Err((Vec::new(), reason::DISK)),
    }
}
