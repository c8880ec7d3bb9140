//! A socket wrapper that ends connections which are idle, send a request too slowly, or
//! do not read their replies.
//!
//! hyper's own header timeout closes a connection without telling why, and does not
//! cover the wait between keep-alive requests. This wrapper does both, and counts each:
//! a request is "being read" from its first byte (or from accept) until the first byte
//! of the reply is written; it must finish within `head` (slowloris), and a connection
//! with no traffic at all for `idle` is closed. A reply that cannot be written for
//! `write` (a client pipelining requests and never reading) ends the connection too:
//! hyper stops reading while a write is pending, so the check sits on the write path.
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

/// How far ahead the timer driver's next wake is kept by [`keep_timers_ahead`].
const TIMER_HEARTBEAT: Duration = Duration::from_secs(1);

/// Keeps the runtime's timer driver waking at least every second, until `stop` fires.
///
/// Every new connection arms a deadline seconds away. tokio wakes its driver (an
/// `eventfd` write, then one more `epoll_wait`) whenever a timer is armed earlier than
/// the driver's next wake, which on a server whose only other timers are minutes away is
/// every connection. With this running, no deadline of a second or more is ever the
/// earliest, and arming one costs no system call.
pub async fn keep_timers_ahead(stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(TIMER_HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
    }
}

/// The three limits and the counters they feed.
#[derive(Clone)]
pub struct Deadlines {
    pub idle: Duration,
    pub head: Duration,
    pub write: Duration,
    pub idle_closed: IntCounter,
    pub slow_closed: IntCounter,
    pub write_stalled: IntCounter,
}

/// Which limit a connection ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expired {
    Idle,
    SlowHead,
    WriteStalled,
}

pub struct IdleIo<S> {
    inner: S,
    limits: Deadlines,
    last_activity: Instant,
    reading_since: Option<Instant>,
    /// Since when a write has been refused by a full socket buffer.
    blocked_since: Option<Instant>,
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
            blocked_since: None,
            sleep: Box::pin(tokio::time::sleep_until(now)),
        };
        io.rearm();
        io
    }

    fn deadline(&self) -> (Instant, Expired) {
        let mut at = (self.last_activity + self.limits.idle, Expired::Idle);
        if let Some(t) = self.reading_since {
            at = at.min((t + self.limits.head, Expired::SlowHead));
        }
        if let Some(t) = self.blocked_since {
            at = at.min((t + self.limits.write, Expired::WriteStalled));
        }
        at
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
        self.blocked_since = None;
    }

    /// Ready once the real deadline has passed; re-arms the timer when it fired early
    /// because of activity since it was set.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Expired> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let (at, why) = self.deadline();
            if at <= Instant::now() {
                return Poll::Ready(why);
            }
            self.sleep.as_mut().reset(at);
        }
    }

    /// The error that ends the connection, counted.
    fn expired(&self, why: Expired) -> io::Error {
        let (counter, msg) = match why {
            Expired::Idle => (&self.limits.idle_closed, "connection idle"),
            Expired::SlowHead => (&self.limits.slow_closed, "request head too slow"),
            Expired::WriteStalled => (&self.limits.write_stalled, "client does not read replies"),
        };
        counter.inc();
        io::Error::new(io::ErrorKind::TimedOut, msg)
    }

    /// A write the socket refused: starts the write clock (re-arming the timer if this
    /// deadline comes first), then checks every deadline.
    fn write_pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.blocked_since.is_none() {
            // The request was read in full; from here the write clock applies.
            self.reading_since = None;
            self.blocked_since = Some(Instant::now());
            self.rearm();
        }
        match self.poll_expired(cx) {
            Poll::Ready(why) => Poll::Ready(Err(self.expired(why))),
            Poll::Pending => Poll::Pending,
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
                Poll::Ready(why) => Poll::Ready(Err(self.expired(why))),
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
        match r {
            Poll::Ready(Ok(n)) if n > 0 => self.on_write(),
            Poll::Pending => return self.write_pending(cx),
            _ => {}
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        match r {
            Poll::Ready(Ok(n)) if n > 0 => self.on_write(),
            Poll::Pending => return self.write_pending(cx),
            _ => {}
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.write_pending(cx),
            r => r,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
