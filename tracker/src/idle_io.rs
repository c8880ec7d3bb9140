//! A socket wrapper that ends connections which are idle or send a request too slowly.
//!
//! hyper's own header timeout closes a connection without telling why, and does not
//! cover the wait between keep-alive requests. This wrapper does both, and counts each:
//! a request is "being read" from its first byte (or from accept) until the first byte
//! of the reply is written; it must finish within `head` (slowloris), and a connection
//! with no traffic at all for `idle` is closed.
//!
//! Activity only records a timestamp; the timer is re-armed when it fires early. Resetting
//! a tokio timer on every read and write cost more than the rest of this wrapper per
//! request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus::IntCounter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The two limits and the counters they feed.
#[derive(Clone)]
pub struct Deadlines {
    pub idle: Duration,
    pub head: Duration,
    pub idle_closed: IntCounter,
    pub slow_closed: IntCounter,
}

pub struct IdleIo<S> {
    inner: S,
    limits: Deadlines,
    last_activity: Instant,
    reading_since: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl<S> IdleIo<S> {
    pub fn new(inner: S, limits: Deadlines) -> Self {
        let now = Instant::now();
        let mut io = Self {
            inner,
            limits,
            last_activity: now,
            reading_since: Some(now),
            sleep: Box::pin(tokio::time::sleep_until(now)),
        };
        io.rearm();
        io
    }

    fn deadline(&self) -> (Instant, bool) {
        let idle = self.last_activity + self.limits.idle;
        match self.reading_since {
            Some(t) if t + self.limits.head < idle => (t + self.limits.head, true),
            _ => (idle, false),
        }
    }

    fn rearm(&mut self) {
        let (at, _) = self.deadline();
        self.sleep.as_mut().reset(at);
    }

    fn on_read(&mut self) {
        let now = Instant::now();
        self.last_activity = now;
        self.reading_since.get_or_insert(now);
    }

    fn on_write(&mut self) {
        self.last_activity = Instant::now();
        self.reading_since = None;
    }

    /// Ready once the real deadline has passed; re-arms the timer when it fired early
    /// because of activity since it was set.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let (at, slow) = self.deadline();
            if at <= Instant::now() {
                return Poll::Ready(slow);
            }
            self.sleep.as_mut().reset(at);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.on_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.poll_expired(cx) {
                Poll::Ready(slow) => {
                    let (counter, msg) = if slow {
                        (&self.limits.slow_closed, "request head too slow")
                    } else {
                        (&self.limits.idle_closed, "connection idle")
                    };
                    counter.inc();
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, msg)))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.on_write();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.on_write();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
