//! Batched datagram I/O: every datagram waiting on the socket (up to `BATCH`) in one
//! `recvmmsg`, and their replies in one `sendmmsg`. Under load the queue is seldom
//! empty, and two system calls per batch replace two per datagram; when the tracker is
//! idle a batch is one datagram and costs what `recv_from`/`send_to` did.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{recvmmsg, sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};

/// Datagrams per system call. Past a few dozen the saving per datagram is gone, and a
/// batch must be served before its first reply leaves: 32 keeps that wait short.
pub const BATCH: usize = 32;

/// The receive and send buffers of one worker, allocated once.
pub struct Batch {
    /// `BATCH` receive buffers of `slot` bytes each, back to back.
    bufs: Box<[u8]>,
    slot: usize,
    received: [(usize, Option<SocketAddr>); BATCH],
    count: usize,
    /// Replies, by the index of the datagram they answer; `send` sends those marked.
    replies: Vec<Vec<u8>>,
    reply_to: [Option<SockaddrStorage>; BATCH],
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
}

impl Batch {
    /// Buffers for datagrams of up to `slot` bytes (longer ones are cut there).
    pub fn new(slot: usize) -> Self {
        Self {
            bufs: vec![0; slot * BATCH].into_boxed_slice(),
            slot,
            received: [(0, None); BATCH],
            count: 0,
            replies: (0..BATCH).map(|_| Vec::with_capacity(slot)).collect(),
            reply_to: [None; BATCH],
            recv_headers: MultiHeaders::preallocate(BATCH, None),
            send_headers: MultiHeaders::preallocate(BATCH, None),
        }
    }

    /// Waits for at least one datagram (as long as the socket's read timeout allows),
    /// then takes every one already queued, up to `BATCH`; how many.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        let mut chunks = self.bufs.chunks_mut(self.slot);
        let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] =
            std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or_default())]);
        let got = recvmmsg(
            socket.as_raw_fd(),
            &mut self.recv_headers,
            iovs.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        )?;
        for (slot, msg) in self.received.iter_mut().zip(got) {
            *slot = (msg.bytes, msg.address.and_then(|a| to_std(&a)));
            self.count += 1;
        }
        Ok(self.count)
    }

    /// The datagram `i` and the buffer for its reply, cleared.
    pub fn datagram_and_reply(&mut self, i: usize) -> (&[u8], Option<SocketAddr>, &mut Vec<u8>) {
        let (len, src) = self.received[i];
        let start = i * self.slot;
        let reply = &mut self.replies[i];
        reply.clear();
        (&self.bufs[start..start + len.min(self.slot)], src, reply)
    }

    /// Marks the reply to datagram `i` for sending to `to`.
    pub fn reply(&mut self, i: usize, to: SocketAddr) {
        self.reply_to[i] = Some(SockaddrStorage::from(to));
    }

    /// Sends every marked reply; calls `failed` once per reply the kernel refused
    /// (the others still go out).
    pub fn send(&mut self, socket: &UdpSocket, mut failed: impl FnMut(&io::Error)) {
        // Marked replies first, in order: sendmmsg takes a contiguous run.
        let mut n = 0;
        for i in 0..self.count {
            if self.reply_to[i].is_some() {
                self.replies.swap(n, i);
                self.reply_to.swap(n, i);
                n += 1;
            }
        }
        let mut sent = 0;
        while sent < n {
            let iovs: [[IoSlice<'_>; 1]; BATCH] = std::array::from_fn(|i| {
                [IoSlice::new(if sent + i < n {
                    &self.replies[sent + i]
                } else {
                    &[]
                })]
            });
            match sendmmsg(
                socket.as_raw_fd(),
                &mut self.send_headers,
                iovs[..n - sent].iter(),
                &self.reply_to[sent..n],
                [],
                MsgFlags::empty(),
            ) {
                // A blocking socket sends at least one unless the first fails.
                Ok(done) => sent += done.count().max(1),
                Err(e) => {
                    // The first of the rest was refused (an unroutable address, say):
                    // count it and go on with the next.
                    failed(&io::Error::from(e));
                    sent += 1;
                }
            }
        }
        // Unmarked for the next batch.
        self.reply_to[..n].fill(None);
    }
}

/// nix's address as std's; None for a family other than IPv4 and IPv6.
fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    a.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn socket() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Datagrams already queued come in one call, cut at the slot size; only the replies
    /// marked go out, each to its own address, whatever their place in the batch.
    #[test]
    fn one_call_takes_the_queue_and_sends_the_marked_replies() {
        let server = socket();
        let clients: Vec<UdpSocket> = (0..3).map(|_| socket()).collect();
        let to = server.local_addr().unwrap();
        for round in 0..(BATCH + 5) {
            let c = &clients[round % 3];
            let body = format!("{round:04} padding past the slot");
            c.send_to(body.as_bytes(), to).unwrap();
        }
        let mut b = Batch::new(8);
        assert_eq!(b.recv(&server).unwrap(), BATCH, "a full batch");
        for i in 0..BATCH {
            let (packet, src, out) = b.datagram_and_reply(i);
            assert_eq!(packet, format!("{i:04} pad").as_bytes(), "cut at 8 bytes");
            let src = src.unwrap();
            assert_eq!(src, clients[i % 3].local_addr().unwrap());
            // Every third datagram gets no reply (a dropped one).
            if i % 3 != 1 {
                out.extend_from_slice(packet);
                b.reply(i, src);
            }
        }
        b.send(&server, |e| panic!("{e}"));
        for (n, c) in clients.iter().enumerate() {
            let mut buf = [0u8; 64];
            for i in (0..BATCH).filter(|i| i % 3 == n && i % 3 != 1) {
                let (len, from) = c.recv_from(&mut buf).unwrap();
                assert_eq!(from, to);
                assert_eq!(&buf[..len], format!("{i:04} pad").as_bytes());
            }
        }
        clients[1].set_nonblocking(true).unwrap();
        assert!(clients[1].recv_from(&mut [0u8; 8]).is_err(), "no reply");
        // The rest of the queue, then an empty queue within the read timeout.
        assert_eq!(b.recv(&server).unwrap(), 5);
        server
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        assert_eq!(
            b.recv(&server).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
    }
}
