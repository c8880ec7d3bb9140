//! Sending a byte range of a torrent's file to a client with `sendfile(2)`: the kernel
//! moves page-cache pages to the socket, with no copy through our memory. Measured
//! against reading into a buffer and writing it (BENCHMARKS.md, "Webseed"): on loopback
//! the copy cost five times the CPU per GiB that nginx's `sendfile on` spends.
//!
//! The range goes in chunks. Each is first taken from the global and the torrent's
//! upload budgets, which HTTP and peer-wire bytes share, and every piece it touches is
//! proven (hashed on the blocking pool if it never was, as the peer writer does). After
//! each chunk the file is looked at again (`fstat`): one that changed during the send
//! ends the response, since what the kernel sent may not be what was verified. A piece
//! that fails its hash ends the response where it begins. Either way the client sees the
//! response short (the connection closes before `Content-Length`), never wrong bytes
//! or zeros.

use std::io;
use std::ops::Range;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::daemon::shared::Shared;
use crate::daemon::torrent::{State, Torrent};

/// Bytes sent per chunk: a budget reservation, a verification check and an `fstat`.
pub const CHUNK: u64 = 1024 * 1024;

/// Why a response ended early; the `http_responses_aborted_total` label, or `Io` (the
/// client went away or stopped reading, counted where the connection ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    Disk,
    NotServable,
    Changed,
    Stalled,
    Io,
}

impl Abort {
    pub fn label(self) -> &'static str {
        match self {
            Abort::Disk => "disk",
            Abort::NotServable => "not_servable",
            Abort::Changed => "changed",
            Abort::Stalled => "write_stalled",
            Abort::Io => "io",
        }
    }
}

/// Sends `range` of `t`'s concatenated files (within one file) on `stream`; a write
/// that makes no progress for `write_timeout` ends it.
pub async fn file(
    stream: &TcpStream,
    shared: &Shared,
    t: &Arc<Torrent>,
    range: Range<u64>,
    write_timeout: Duration,
) -> Result<(), Abort> {
    let mut pos = range.start;
    while pos < range.end {
        let end = prove(shared, t, pos..range.end.min(pos + CHUNK)).await?;
        let n = end - pos;
        shared.limiter.acquire(n).await;
        t.limiter.acquire(n).await;
        let generation = t.content_generation();
        let open = t.open_at(pos).map_err(|e| disk_error(shared, t, &e))?;
        let n = n.min(open.len);
        let mut offset = i64::try_from(open.within).map_err(|_| Abort::Disk)?;
        let stop = offset + n as i64;
        while offset < stop {
            tokio::time::timeout(write_timeout, stream.writable())
                .await
                .map_err(|_| Abort::Stalled)?
                .map_err(|_| Abort::Io)?;
            let left = (stop - offset) as usize;
            let sent = stream.try_io(Interest::WRITABLE, || {
                nix::sys::sendfile::sendfile64(
                    stream.as_fd(),
                    open.file.as_fd(),
                    Some(&mut offset),
                    left,
                )
                .map_err(io::Error::from)
            });
            match sent {
                // The file ends before the torrent says it does: truncated under us.
                Ok(0) => {
                    return Err(disk_error(
                        shared,
                        t,
                        &io::Error::other("file shorter than the torrent says"),
                    ))
                }
                Ok(k) => shared.metrics.http.bytes.inc_by(k as u64),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Err(Abort::Io),
            }
        }
        if t.after_read(&open).is_err() || t.content_generation() != generation {
            return Err(Abort::Changed);
        }
        pos += n;
    }
    Ok(())
}

/// Proves the pieces `range` touches, in order, and returns where the range may be sent
/// up to: its end, or the start of the first piece that is bad or cannot be read (an
/// error if that is where it starts).
async fn prove(shared: &Shared, t: &Arc<Torrent>, range: Range<u64>) -> Result<u64, Abort> {
    if t.state() != State::Seeding || t.token.is_cancelled() {
        return Err(Abort::NotServable);
    }
    let plen = t.info.piece_length;
    let pieces = (range.start / plen) as u32..=((range.end - 1) / plen) as u32;
    if pieces.clone().all(|p| t.is_verified(p)) {
        return Ok(range.end);
    }
    let permit = shared
        .verify_slots
        .clone()
        .acquire_owned()
        .await
        .expect("semaphore never closed");
    let (t2, disk_errors) = (t.clone(), shared.metrics.disk_read_errors.clone());
    let proven = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        for p in pieces {
            let why = match t2.ensure_verified(p) {
                Ok(true) => continue,
                Ok(false) => Abort::NotServable,
                Err(e) => {
                    disk_errors.inc();
                    tracing::error!(torrent = %t2.source.display(), piece = p, error = %e, "cannot read piece");
                    Abort::Disk
                }
            };
            // The pieces before this one go out; the next chunk starts here and ends.
            let start = t2.piece_range(p).start;
            return if start <= range.start {
                Err(why)
            } else {
                Ok(start)
            };
        }
        Ok(range.end)
    });
    proven.await.unwrap_or(Err(Abort::Disk))
}

fn disk_error(shared: &Shared, t: &Torrent, e: &io::Error) -> Abort {
    shared.metrics.disk_read_errors.inc();
    tracing::error!(torrent = %t.source.display(), error = %e, "cannot read content");
    Abort::Disk
}
