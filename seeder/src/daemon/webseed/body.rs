//! A response body of content bytes, read from the torrent's verified pieces one chunk
//! ahead of the socket.
//!
//! A producer task reads each chunk on the blocking pool (hashing a piece first if it
//! was never proven, as the peer writer does) after taking it from the global and the
//! torrent's upload budgets, which HTTP and peer-wire bytes share. It waits for the
//! previous chunk to be taken before reading the next, so a response holds at most two
//! chunks however slowly the client reads. A piece that fails its hash, a read error or
//! a file changed under the read ends the body with an error: hyper then closes the
//! connection, and the client sees a short body, never wrong bytes or zeros.

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use prometheus::IntCounter;
use tokio::sync::mpsc;

use crate::daemon::shared::Shared;
use crate::daemon::torrent::{State, Torrent};

/// Bytes read and handed to hyper at a time.
pub const CHUNK: u64 = 256 * 1024;

/// Why a body ended early; the `http_responses_aborted_total` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    Disk,
    NotServable,
    Changed,
}

impl Abort {
    pub fn label(self) -> &'static str {
        match self {
            Abort::Disk => "disk",
            Abort::NotServable => "not_servable",
            Abort::Changed => "changed",
        }
    }
}

pub struct FileBody {
    rx: mpsc::Receiver<Result<Bytes, Abort>>,
    remaining: u64,
    sent: IntCounter,
}

impl FileBody {
    /// Streams `range` of `t`'s concatenated files (within one file).
    pub fn start(shared: &Arc<Shared>, t: Arc<Torrent>, range: Range<u64>) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let remaining = range.end - range.start;
        tokio::spawn(produce(shared.clone(), t, range, tx));
        Self {
            rx,
            remaining,
            sent: shared.metrics.http.bytes.clone(),
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match std::task::ready!(self.rx.poll_recv(cx)) {
            Some(Ok(b)) => {
                self.remaining -= b.len() as u64;
                self.sent.inc_by(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Some(Err(why)) => Poll::Ready(Some(Err(io::Error::other(why.label())))),
            None => Poll::Ready(Some(Err(io::Error::other("body ended early")))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

async fn produce(
    shared: Arc<Shared>,
    t: Arc<Torrent>,
    mut range: Range<u64>,
    tx: mpsc::Sender<Result<Bytes, Abort>>,
) {
    while range.start < range.end {
        // Waits until the previous chunk was taken; ends when the response is dropped.
        let Ok(permit) = tx.reserve().await else {
            return;
        };
        let n = (range.end - range.start).min(CHUNK);
        let budgets = async {
            shared.limiter.acquire(n).await;
            t.limiter.acquire(n).await;
        };
        tokio::select! {
            () = budgets => {}
            () = tx.closed() => return,
        }
        match read(&shared, &t, range.start..range.start + n).await {
            Ok(bytes) => {
                range.start += bytes.len() as u64;
                permit.send(Ok(bytes));
            }
            Err(why) => {
                let aborted = &shared.metrics.http.aborted;
                aborted.with_label_values(&[why.label()]).inc();
                permit.send(Err(why));
                return;
            }
        }
    }
}

/// Reads `range` once every piece it touches is proven, on the blocking pool; only up to
/// the first piece that is not, when that is not the first.
async fn read(shared: &Shared, t: &Arc<Torrent>, range: Range<u64>) -> Result<Bytes, Abort> {
    if t.state() != State::Seeding || t.token.is_cancelled() {
        return Err(Abort::NotServable);
    }
    let plen = t.info.piece_length;
    let pieces = (range.start / plen) as u32..=((range.end - 1) / plen) as u32;
    let permit = if pieces.clone().all(|p| t.is_verified(p)) {
        None
    } else {
        let slots = shared.verify_slots.clone();
        Some(slots.acquire_owned().await.expect("semaphore never closed"))
    };
    let t = t.clone();
    let disk_errors = shared.metrics.disk_read_errors.clone();
    let read = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let generation = t.content_generation();
        let mut range = range;
        let mut pieces = pieces;
        for p in pieces.clone() {
            let why = match t.ensure_verified(p) {
                Ok(true) => continue,
                Ok(false) => Abort::NotServable,
                Err(e) => {
                    disk_errors.inc();
                    tracing::error!(torrent = %t.source.display(), piece = p, error = %e, "cannot read piece");
                    Abort::Disk
                }
            };
            // The pieces before this one are good: they go out, and the next chunk
            // starts here and ends the response.
            let start = t.piece_range(p).start;
            if start <= range.start {
                return Err(why);
            }
            range.end = start;
            pieces = *pieces.start()..=p - 1;
            break;
        }
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        if let Err(e) = t.read_at(range.start, &mut buf) {
            disk_errors.inc();
            tracing::error!(torrent = %t.source.display(), error = %e, "cannot read content");
            return Err(Abort::Disk);
        }
        // A file that changed while it was read sends its pieces back to unproven first.
        if t.content_generation() != generation || !pieces.clone().all(|p| t.is_verified(p)) {
            return Err(Abort::Changed);
        }
        Ok(Bytes::from(buf))
    });
    read.await.unwrap_or(Err(Abort::Disk))
}
