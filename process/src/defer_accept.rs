//! New connections handed out with their first request (TCP_DEFER_ACCEPT).
//!
//! Without it the kernel completes a connection on the client's handshake ACK: it builds
//! the socket, queues it and wakes the listener, and the request follows in a segment of
//! its own. With it the kernel drops that bare ACK, keeps the connection half-open, and
//! builds the socket when the request arrives, with the request already queued. The
//! server's system calls do not change; the kernel's work per connection shrinks.
//! Measured on a tracker answering a new connection per announce: 0.84x the CPU per
//! announce (median of four ABBA pairs, 0.74-1.02x; BENCHMARKS.md, "TCP_DEFER_ACCEPT").
//!
//! A client that connects and says nothing holds no task of the server's meanwhile: it
//! waits half-open in the listener's SYN queue (bounded by the listen backlog; past it
//! the kernel answers with SYN cookies, and such connections are not deferred). When
//! the deferral ends the kernel resends its SYN-ACK and accepts the connection on the
//! client's answer, and the server's own head timeout takes over; a client that never
//! answers stays half-open until the kernel gives up on it (`tcp_synack_retries`).
//!
//! Neither std, socket2 nor rustix sets this option, hence the module's one `unsafe`.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Sets TCP_DEFER_ACCEPT on a listening socket: accepted sockets come with data, or
/// after about `secs` seconds without (the kernel rounds up to its SYN-ACK retransmit
/// schedule: 1, 3, 7, 15 ... s). 0 turns deferral off.
#[allow(unsafe_code)]
pub fn defer_accept(listener: &impl AsFd, secs: u32) -> io::Result<()> {
    let value = libc::c_int::try_from(secs).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is borrowed for the call, so it is open; the option value
    // points at a live c_int and the length passed is exactly its size; setsockopt only
    // reads it.
    let r = unsafe {
        libc::setsockopt(
            listener.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    (r == 0).then_some(()).ok_or_else(io::Error::last_os_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// Polls a non-blocking listener for up to `wait`.
    fn accept_within(l: &TcpListener, wait: Duration) -> Option<TcpStream> {
        let end = Instant::now() + wait;
        loop {
            match l.accept() {
                Ok((s, _)) => return Some(s),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    fn listener(secs: u32) -> TcpListener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        defer_accept(&l, secs).unwrap();
        l.set_nonblocking(true).unwrap();
        l
    }

    #[test]
    fn a_connection_is_handed_out_with_its_first_bytes() {
        let l = listener(5);
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        // Connected as far as the client can tell, yet nothing to accept.
        assert!(accept_within(&l, Duration::from_millis(300)).is_none());
        c.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut s = accept_within(&l, Duration::from_secs(5)).expect("accepted with data");
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 3];
        // The request is there at once: no wait for another segment.
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"GET");
    }

    #[test]
    fn off_accepts_on_the_handshake() {
        let l = listener(0);
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(accept_within(&l, Duration::from_secs(5)).is_some());
    }
}
