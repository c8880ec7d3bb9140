//! New connections handed out with their first request (TCP_DEFER_ACCEPT).
//!
//! Without it the kernel completes a connection on the client's handshake ACK: the
//! listener wakes, the server accepts, registers the socket and reads, and the request
//! follows in a segment of its own. With it the kernel holds the half-open connection
//! until data arrives and hands out the socket with its request already queued: one
//! wake-up and one pass through the receive path less per connection. Measured on a
//! tracker answering a new connection per announce, 6-14% less CPU per announce
//! (BENCHMARKS.md, "TCP_DEFER_ACCEPT").
//!
//! A client that connects and says nothing costs the server nothing meanwhile: it sits
//! in the kernel's SYN queue (bounded by `tcp_max_syn_backlog`, with SYN cookies past
//! it), not in a task with a deadline. After the deferral the kernel accepts it on the
//! client's next ACK anyway, and the server's own head timeout takes over.
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
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
