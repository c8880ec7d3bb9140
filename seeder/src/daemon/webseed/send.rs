//! Sending a byte range of a torrent's file to a client with `sendfile(2)`: the kernel
//! moves page-cache pages to the socket, with no copy through our memory. Measured
//! against reading into a buffer and writing it (BENCHMARKS.md, "Webseed"): on loopback
//! the copy cost five times the CPU per GiB that nginx's `sendfile on` spends.
//!
//! The range goes in chunks whose pieces are proven first (hashed on the blocking pool
//! if they never were, as the peer writer does). Before each `sendfile` the file is
//! looked at (`fstat`) against what was verified, and after it again, with the pieces'
//! proof and the content generation: `sendfile` reads the file as it sends, so a change
//! that lands during the send is only seen after it. That is why the last byte of every
//! response is held back and sent from our memory once those checks pass: a response
//! whose content changed under it always ends short (the connection closes before
//! `Content-Length`), and a client never takes wrong bytes for a whole response. A piece
//! that fails its hash ends the response where it begins.
//!
//! With an upload rate set, bytes are taken from the global and the torrent's budgets
//! (which peer-wire bytes share) in small steps, once the socket can take them, and what
//! a send did not use is given back: a client that asks and goes away cannot leave the
//! budgets in debt.

use std::io;
use std::ops::Range;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::daemon::shared::Shared;
use crate::daemon::storage::OpenSpan;
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

/// Budget taken per step when an upload rate is set.
const BUDGET_STEP: u64 = 64 * 1024;

/// Sends `range` of `t`'s concatenated files (within one file) on `stream`; a write
/// that makes no progress for `write_timeout` ends it.
pub async fn file(
    stream: &TcpStream,
    shared: &Shared,
    t: &Arc<Torrent>,
    range: Range<u64>,
    write_timeout: Duration,
) -> Result<(), Abort> {
    // All but the last byte go by `sendfile`; see the module's comment.
    let last = range.end - 1;
    let mut pos = range.start;
    while pos < last {
        let generation = t.content_generation();
        let end = prove(shared, t, pos..last.min(pos + CHUNK)).await?;
        let open = t.open_at(pos).map_err(|e| disk_error(shared, t, &e))?;
        if t.after_read(&open).is_err() {
            return Err(Abort::Changed);
        }
        let n = (end - pos).min(open.len);
        let mut offset = i64::try_from(open.within).map_err(|_| Abort::Disk)?;
        let stop = offset + n as i64;
        while offset < stop {
            tokio::time::timeout(write_timeout, stream.writable())
                .await
                .map_err(|_| Abort::Stalled)?
                .map_err(|_| Abort::Io)?;
            let mut left = (stop - offset) as u64;
            let limited = shared.limiter.is_limited() || t.limiter.is_limited();
            if limited {
                left = left.min(BUDGET_STEP);
                shared.limiter.acquire(left).await;
                t.limiter.acquire(left).await;
            }
            let sent = stream.try_io(Interest::WRITABLE, || {
                let fd = open.file.as_fd();
                nix::sys::sendfile::sendfile64(stream.as_fd(), fd, Some(&mut offset), left as usize)
                    .map_err(io::Error::from)
            });
            let k = *sent.as_ref().unwrap_or(&0) as u64;
            if limited && k < left {
                shared.limiter.refund(left - k);
                t.limiter.refund(left - k);
            }
            match sent {
                // The file ends before the torrent says: truncated under us.
                Ok(0) => {
                    let _ = t.after_read(&open);
                    return Err(Abort::Changed);
                }
                Ok(k) => shared.metrics.http.bytes.inc_by(k as u64),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Err(Abort::Io),
            }
        }
        if !unchanged(t, &open, pos..pos + n, generation) {
            return Err(Abort::Changed);
        }
        pos += n;
    }
    last_byte(stream, shared, t, last, write_timeout).await
}

/// Reads the byte at `at` (proving its piece) and, once nothing sent before it changed,
/// writes it.
async fn last_byte(
    stream: &TcpStream,
    shared: &Shared,
    t: &Arc<Torrent>,
    at: u64,
    write_timeout: Duration,
) -> Result<(), Abort> {
    let generation = t.content_generation();
    prove(shared, t, at..at + 1).await?;
    shared.limiter.acquire(1).await;
    t.limiter.acquire(1).await;
    let t2 = t.clone();
    let byte = tokio::task::spawn_blocking(move || {
        let mut byte = [0u8; 1];
        t2.read_at(at, &mut byte).map(|()| byte)
    })
    .await
    .map_err(|_| Abort::Disk)?
    .map_err(|_| Abort::Changed)?;
    if t.content_generation() != generation || !t.is_verified((at / t.info.piece_length) as u32) {
        return Err(Abort::Changed);
    }
    loop {
        tokio::time::timeout(write_timeout, stream.writable())
            .await
            .map_err(|_| Abort::Stalled)?
            .map_err(|_| Abort::Io)?;
        match stream.try_write(&byte) {
            Ok(1) => break,
            Ok(_) => return Err(Abort::Io),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(Abort::Io),
        }
    }
    shared.metrics.http.bytes.inc();
    Ok(())
}

/// After a send of `bytes` from `open`: the file is the one verified, the pieces are
/// still proven, and no content changed since `generation`.
fn unchanged(t: &Torrent, open: &OpenSpan, bytes: Range<u64>, generation: u64) -> bool {
    let plen = t.info.piece_length;
    let pieces = (bytes.start / plen) as u32..=((bytes.end - 1) / plen) as u32;
    t.after_read(open).is_ok()
        && t.content_generation() == generation
        && pieces.into_iter().all(|p| t.is_verified(p))
}

/// Proves the pieces `range` touches, in order, and returns where the range may be sent
/// up to: its end, or the start of the first piece that is bad or cannot be read (an
/// error if that is where it starts).
pub async fn prove(shared: &Shared, t: &Arc<Torrent>, range: Range<u64>) -> Result<u64, Abort> {
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
