//! A one-shot connection's reply and its FIN in one segment.
//!
//! Most clients open a connection per announce: the reply is written, then the
//! connection closed. Sent at once (TCP_NODELAY), the reply is one segment and the FIN
//! another, and on loopback or a busy server each segment costs its own transmit and, in
//! the peer's receive path, its own processing and ACK. A listener set up with
//! [`cork_accepted`] hands out sockets corked (Linux copies the listener's setting):
//! writes queue until the FIN goes with them. Whoever reads the first request says
//! through [`KeepAlive`] when the connection will carry more; [`Corked`] then lifts the
//! cork before the reply is written, so a keep-alive client's reply is never held back
//! (one system call per kept-alive connection, not per reply).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Sets TCP_NODELAY and TCP_CORK on a listening socket, for its accepted sockets to
/// inherit (one system call fewer per connection than setting either on each).
pub fn cork_accepted(listener: &impl std::os::fd::AsFd) -> io::Result<()> {
    let s = socket2::SockRef::from(listener);
    s.set_nodelay(true)?;
    s.set_cork(true)
}

/// Told that the connection stays open after its reply: the cork must go.
#[derive(Clone, Default)]
pub struct KeepAlive(Arc<AtomicBool>);

impl KeepAlive {
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a request of `version` with these headers leaves the connection open
    /// after its reply, as HTTP/1.1 defaults to. Doubt counts as open: a reply wrongly
    /// corked would wait 200 ms for the kernel's timer, one wrongly uncorked only costs
    /// an extra segment.
    pub fn wanted(version: hyper::Version, headers: &hyper::HeaderMap) -> bool {
        let token = |t: &str| {
            headers
                .get_all(hyper::header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|v| v.trim().eq_ignore_ascii_case(t))
        };
        if token("close") {
            return false;
        }
        version != hyper::Version::HTTP_10 || token("keep-alive")
    }
}

/// An accepted socket, corked until [`KeepAlive`] says the connection stays open.
pub struct Corked {
    inner: TcpStream,
    corked: bool,
    keep_alive: KeepAlive,
}

impl Corked {
    pub fn new(inner: TcpStream) -> (Self, KeepAlive) {
        let keep_alive = KeepAlive::default();
        let c = Self {
            inner,
            corked: true,
            keep_alive: keep_alive.clone(),
        };
        (c, keep_alive)
    }

    /// Before a write: a connection that stays open sends at once from now on.
    fn before_write(&mut self) {
        if self.corked && self.keep_alive.0.load(Ordering::Relaxed) {
            self.corked = false;
            // Failing leaves the data for the kernel's 200 ms cork timer: late, not lost.
            let _ = socket2::SockRef::from(&self.inner).set_cork(false);
        }
    }
}

impl AsyncRead for Corked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Corked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.before_write();
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.before_write();
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// The FIN leaves with whatever is still queued.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (Corked, KeepAlive, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        cork_accepted(&l).unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let (c, k) = Corked::new(server);
        (c, k, client)
    }

    fn corked(c: &Corked) -> bool {
        socket2::SockRef::from(&c.inner).cork().unwrap()
    }

    #[tokio::test]
    async fn accepted_sockets_come_corked_and_without_nagle() {
        let (s, _, _c) = pair().await;
        assert!(corked(&s));
        assert!(s.inner.nodelay().unwrap());
    }

    #[tokio::test]
    async fn a_kept_alive_connection_is_uncorked_before_its_first_reply() {
        let (mut s, keep_alive, mut c) = pair().await;
        keep_alive.set();
        s.write_all(b"reply").await.unwrap();
        assert!(!corked(&s), "uncorked for good");
        // Gone out at once: the client reads it while the connection stays open.
        let mut got = [0u8; 5];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"reply");
    }

    #[tokio::test]
    async fn a_one_shot_reply_leaves_with_the_fin() {
        let (mut s, _, mut c) = pair().await;
        s.write_all(b"reply").await.unwrap();
        assert!(corked(&s));
        s.shutdown().await.unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"reply");
    }

    #[test]
    fn which_requests_keep_the_connection() {
        use hyper::header::{HeaderValue, CONNECTION};
        use hyper::{HeaderMap, Version};
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONNECTION, HeaderValue::from_str(v).unwrap());
            h
        };
        let none = HeaderMap::new();
        assert!(KeepAlive::wanted(Version::HTTP_11, &none));
        assert!(!KeepAlive::wanted(Version::HTTP_11, &with("close")));
        assert!(!KeepAlive::wanted(
            Version::HTTP_11,
            &with("Upgrade, Close")
        ));
        assert!(!KeepAlive::wanted(Version::HTTP_10, &none));
        assert!(KeepAlive::wanted(Version::HTTP_10, &with("keep-alive")));
    }
}
