//! A connection's byte stream through its cipher: RC4 after an encrypted handshake that
//! chose it, nothing otherwise. The one place where peer bytes are encrypted and
//! decrypted; the reader and writer above see plain BitTorrent.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use seedline_common::mse::Cipher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Decrypts what `R` reads, in place.
pub struct CipherRead<R> {
    inner: R,
    cipher: Option<Cipher>,
}

impl<R> CipherRead<R> {
    pub fn new(inner: R, cipher: Option<Cipher>) -> Self {
        Self { inner, cipher }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for CipherRead<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Some(c) = &mut this.cipher {
            c.apply(&mut buf.filled_mut()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

/// The most bytes encrypted ahead of the socket: what a connection holds beyond its
/// own buffers while it sends (released by the flush that ends each send).
const CHUNK: usize = 64 * 1024;

/// Encrypts what is written to `W`. RC4 cannot take back keystream, so bytes are
/// encrypted once, [`CHUNK`] at a time, and held until the socket has taken them all;
/// a write reports them taken at once, and the next write or flush sends the rest.
pub struct CipherWrite<W> {
    inner: W,
    cipher: Option<Cipher>,
    pending: Vec<u8>,
    sent: usize,
}

impl<W> CipherWrite<W> {
    pub fn new(inner: W, cipher: Option<Cipher>) -> Self {
        Self {
            inner,
            cipher,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

impl<W: AsyncWrite + Unpin> CipherWrite<W> {
    /// Sends what is held; ready once all of it went.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CipherWrite<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        let Some(c) = &mut this.cipher else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        let n = buf.len().min(CHUNK);
        this.pending.extend_from_slice(&buf[..n]);
        c.apply(&mut this.pending);
        // Taken: encrypted, it must go out in this order. Try at once; the rest goes
        // with the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        // Idle connections hold nothing.
        this.pending = Vec::new();
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn what_one_side_encrypts_the_other_decrypts_whatever_the_sizes() {
        let (a, b) = tokio::io::duplex(1000);
        let key = [7u8; 20];
        let mut w = CipherWrite::new(a, Some(Cipher::for_test(&key)));
        let mut r = CipherRead::new(b, Some(Cipher::for_test(&key)));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for part in sent.chunks(7777) {
                w.write_all(part).await.unwrap();
            }
            w.flush().await.unwrap();
        });
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, data);
    }
}
