//! One client connection slot: sends a request, reads one reply, and opens a new TCP
//! connection whenever the previous one is gone or must not be reused.
//!
//! When a connection is to end, the client waits for the server's FIN before dropping its
//! socket, so the server is the side left in TIME_WAIT. That is what happens with real
//! one-shot clients, and it keeps this host's ephemeral ports free for the next connects.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::http::{self, BodyLen, HttpError};
use super::validate::{ErrorKind, Problem};

/// Largest reply accepted; 200 compact IPv6 peers are under 4 KiB.
const MAX_RESPONSE: usize = 1 << 20;
const INITIAL_BUF: usize = 16 * 1024;

/// A reply that arrived in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The body, within [`Conn::buf`].
    pub body: Range<usize>,
    /// When the last byte of the reply was read (before any wait for the server's close).
    pub done: Instant,
}

/// Counters a connection keeps for the phase's stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct IoCounts {
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub connects: u64,
    pub reconnects: u64,
}

pub struct Conn {
    target: SocketAddr,
    source: Option<IpAddr>,
    /// Open one TCP connection per request.
    one_shot: bool,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    filled: usize,
    pub counts: IoCounts,
}

impl Conn {
    pub fn new(target: SocketAddr, source: Option<IpAddr>, one_shot: bool) -> Self {
        Self {
            target,
            source,
            one_shot,
            stream: None,
            buf: vec![0; INITIAL_BUF],
            filled: 0,
            counts: IoCounts::default(),
        }
    }

    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// Sends `req` and reads its reply, all within `timeout`. On any error the
    /// connection is dropped, so the next request starts clean.
    pub async fn exchange(&mut self, req: &[u8], timeout: Duration) -> Result<Reply, Problem> {
        let deadline = Instant::now() + timeout;
        let r = match tokio::time::timeout_at(deadline, self.exchange_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(Problem::new(
                ErrorKind::Timeout,
                "no complete reply in time",
            )),
        };
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    async fn exchange_inner(&mut self, req: &[u8]) -> Result<Reply, Problem> {
        let reused = self.stream.is_some();
        match self.try_once(req).await {
            // A server may close an idle keep-alive connection at any moment; a request
            // that got no byte back on a reused connection is retried once, as browsers do.
            Err(Attempt::Stale) if reused => {
                self.counts.reconnects += 1;
                self.stream = None;
                self.try_once(req).await.map_err(Attempt::into_problem)
            }
            r => r.map_err(Attempt::into_problem),
        }
    }

    async fn try_once(&mut self, req: &[u8]) -> Result<Reply, Attempt> {
        if self.stream.as_ref().is_some_and(closed_by_server) {
            self.counts.reconnects += 1;
            self.stream = None;
        }
        if self.stream.is_none() {
            self.stream = Some(self.connect().await.map_err(Attempt::Connect)?);
            self.counts.connects += 1;
        }
        let stream = self.stream.as_mut().expect("connected above");
        self.filled = 0;
        if let Err(e) = stream.write_all(req).await {
            return Err(Attempt::stale_or_io(e, true));
        }
        self.counts.bytes_out += req.len() as u64;
        let head = loop {
            match http::parse_head(&self.buf[..self.filled]) {
                Ok(Some(h)) => break h,
                Ok(None) => {}
                Err(e) => return Err(Attempt::Http(e)),
            }
            if self.read_more().await? == 0 {
                return Err(if self.filled == 0 {
                    Attempt::Stale
                } else {
                    Attempt::Io("connection closed inside the reply head".into())
                });
            }
        };
        let end = match head.body {
            BodyLen::Length(n) => {
                let end = head.len + n;
                if end > MAX_RESPONSE {
                    return Err(Attempt::Io(format!("reply of {end} bytes is too large")));
                }
                while self.filled < end {
                    if self.read_more().await? == 0 {
                        return Err(Attempt::Io(
                            "connection closed inside the reply body".into(),
                        ));
                    }
                }
                if self.filled > end {
                    return Err(Attempt::Http(HttpError::Malformed(
                        "bytes after the reply, none were asked for",
                    )));
                }
                end
            }
            BodyLen::UntilClose => {
                while self.read_more().await? != 0 {}
                self.stream = None;
                self.filled
            }
        };
        self.counts.bytes_in += end as u64;
        let close = head.close || self.one_shot;
        let reply = Reply {
            status: head.status,
            body: head.len..end,
            done: Instant::now(),
        };
        if close {
            self.await_close().await;
        }
        Ok(reply)
    }

    /// Reads into the buffer (growing it up to the cap); returns the bytes read, 0 at EOF.
    async fn read_more(&mut self) -> Result<usize, Attempt> {
        if self.filled == self.buf.len() {
            if self.buf.len() >= MAX_RESPONSE {
                return Err(Attempt::Io("reply larger than 1 MiB".into()));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let stream = self.stream.as_mut().ok_or(Attempt::Stale)?;
        let n = stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(|e| Attempt::stale_or_io(e, self.filled == 0))?;
        self.filled += n;
        Ok(n)
    }

    /// Waits for the server's FIN (see the module docs), then drops the socket.
    async fn await_close(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let mut scratch = [0u8; 512];
            // Bounded by the exchange's timeout; extra bytes or an error end it too.
            while let Ok(n) = s.read(&mut scratch).await {
                if n == 0 {
                    break;
                }
            }
        }
    }

    async fn connect(&self) -> io::Result<TcpStream> {
        let sock = match self.target {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = self.source {
            sock.bind(SocketAddr::new(ip, 0))?;
        }
        sock.set_nodelay(true)?;
        sock.connect(self.target).await
    }
}

/// Whether the server has already closed an idle connection (as opentracker does after
/// every reply without saying so). Costs no system call unless the socket has signalled
/// readability since the last read, so the keep-alive fast path stays cheap; a close that
/// is not noticed here is caught as a stale connection and retried.
fn closed_by_server(s: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match s.try_read(&mut probe) {
        Ok(0) => true,
        // Unasked-for bytes mean the connection is out of step; start afresh.
        Ok(_) => true,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    }
}

/// How one try failed; `Stale` may be retried on a new connection.
enum Attempt {
    Connect(io::Error),
    Stale,
    Io(String),
    Http(HttpError),
}

impl Attempt {
    /// A reset or broken pipe before any reply byte looks like a stale connection.
    fn stale_or_io(e: io::Error, nothing_read: bool) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted if nothing_read => {
                Self::Stale
            }
            _ => Self::Io(e.to_string()),
        }
    }

    fn into_problem(self) -> Problem {
        match self {
            Self::Connect(e) => Problem::new(ErrorKind::Connect, e.to_string()),
            Self::Stale => Problem::new(ErrorKind::Io, "connection closed before any reply byte"),
            Self::Io(m) => Problem::new(ErrorKind::Io, m),
            Self::Http(e) => Problem::new(ErrorKind::Http, e.to_string()),
        }
    }
}
