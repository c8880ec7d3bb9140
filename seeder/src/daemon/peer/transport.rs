//! What carries a peer connection: a TCP stream or a uTP (BEP 29) one. Everything above
//! the transport (MSE/PE, the handshake, the reader and writer) is the same for both.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use librqbit_utp::{UtpStream, UtpStreamReadHalf, UtpStreamWriteHalf};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// The transports, as metric labels.
pub const TRANSPORTS: [&str; 2] = ["tcp", "utp"];

/// A byte stream to a peer that splits into a read and a write half, each owned by its
/// own task.
pub trait PeerStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    /// One of [`TRANSPORTS`].
    const LABEL: &'static str;

    fn into_halves(self) -> (Self::Read, Self::Write);
}

impl PeerStream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;
    const LABEL: &'static str = "tcp";

    fn into_halves(self) -> (Self::Read, Self::Write) {
        // Small control messages (unchoke, reject) go out at once; blocks are written in
        // batches anyway.
        let _ = self.set_nodelay(true);
        self.into_split()
    }
}

impl PeerStream for UtpStream {
    type Read = UtpStreamReadHalf;
    type Write = UtpWrite;
    const LABEL: &'static str = "utp";

    fn into_halves(self) -> (Self::Read, Self::Write) {
        let (r, w) = self.split();
        (
            r,
            UtpWrite {
                inner: w,
                handshake_sent: false,
            },
        )
    }
}

/// A uTP write half whose flushes return at once, but for the first. The crate's flush
/// waits until the peer acknowledged every byte written, a round trip per batch of blocks
/// that would cap a connection at batch / RTT (256 KiB per 100 ms: 2.5 MB/s). Bytes in
/// the uTP send buffer are sent as surely as bytes in a kernel TCP buffer, which TCP's
/// flush does not wait for either; the buffer's own cap (`utp_send_buffer`) still holds
/// the writer back. The first flush, the one after our BitTorrent handshake, does wait:
/// so the handshake ends its packet, which Transmission 3.00 needs (see `accept.rs`).
pub struct UtpWrite {
    inner: UtpStreamWriteHalf,
    handshake_sent: bool,
}

impl AsyncWrite for UtpWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.handshake_sent {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        self.handshake_sent = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
