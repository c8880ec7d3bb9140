//! The first bytes of a connection: a plain BitTorrent handshake (it opens with 19) or
//! an encrypted one (MSE/PE), which is run here to its end with the sans-io responder
//! of `seedline_common::mse`, as `encryption` allows.

use std::net::IpAddr;

use bytes::BytesMut;
use rand::RngCore;
use seedline_common::mse::{Cipher, MseError, Responder, PRIVATE_LEN, RC4};
use seedline_process::rate_limit::Verdict;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::writer::write_within;
use crate::daemon::config::Encryption;
use crate::daemon::reason::Disconnect;
use crate::daemon::shared::Shared;

/// How a connection's stream is carried, as `connections_encrypted_total{method}`
/// labels.
pub const METHODS: [&str; 3] = ["none", "rc4", "plaintext"];

/// A connection past its first bytes: what was received of the plain stream so far, and
/// the ciphers of what is received and sent (RC4 only).
pub struct Opened {
    /// The torrent an encrypted handshake named: the BitTorrent handshake must name it
    /// too (the keys are that torrent's).
    pub info_hash: Option<seedline_common::InfoHash>,
    pub received: BytesMut,
    pub ciphers: Option<(Cipher, Cipher)>,
    /// One of [`METHODS`].
    pub method: &'static str,
}

/// Reads the first bytes; runs an encrypted handshake if that is what they are.
pub async fn open<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ip: IpAddr,
    shared: &Shared,
) -> Result<Opened, Disconnect> {
    let mut buf = BytesMut::with_capacity(4096);
    let plain = loop {
        read_some(stream, &mut buf).await?;
        if let Some(plain) = classify(&buf) {
            break plain;
        }
    };
    let methods = shared.cfg.encryption.methods();
    match (plain, methods) {
        (true, _) if shared.cfg.encryption == Encryption::Require => {
            Err(Disconnect::PlaintextRefused)
        }
        // Plain (or another protocol), or `off`: the handshake reader takes it, or
        // turns it away.
        (true, _) | (false, None) => Ok(Opened {
            info_hash: None,
            received: buf,
            ciphers: None,
            method: "none",
        }),
        (false, Some(methods)) => {
            if let Some(l) = &shared.mse_limiter {
                if let Verdict::Limited(_) = l.check(ip, l.now()) {
                    return Err(Disconnect::MseRateLimited);
                }
            }
            let mut private = [0u8; PRIVATE_LEN];
            let mut pad = vec![0u8; rand::rng().next_u32() as usize % 64];
            rand::rng().fill_bytes(&mut private);
            rand::rng().fill_bytes(&mut pad);
            let mut responder = Responder::new(&private, &pad, methods);
            let mut input = buf;
            loop {
                let mut out = Vec::new();
                let done = responder
                    .receive(&input, |r| shared.by_req2(r), &mut out)
                    .map_err(refused)?;
                if !out.is_empty() {
                    write_within(stream, &out, shared).await?;
                }
                if let Some(e) = done {
                    return Ok(Opened {
                        info_hash: Some(e.info_hash),
                        received: BytesMut::from(&e.received[..]),
                        method: if e.method == RC4 { "rc4" } else { "plaintext" },
                        ciphers: e.ciphers,
                    });
                }
                input = BytesMut::with_capacity(4096);
                read_some(stream, &mut input).await?;
            }
        }
    }
}

/// A plain handshake's first bytes.
const PLAIN: &[u8; 20] = b"\x13BitTorrent protocol";

/// Whether the first bytes are a plain handshake (`true`) or an encrypted one
/// (`false`), or `None` until more are read. A plain one opens with its 20-byte prefix.
/// Other protocols (an HTTP request, a scanner's probe) open with printable text and go
/// the plain way, to be turned away there; an encrypted one opens with a random 96-byte
/// key, whose first 16 bytes are all printable text about once in 5 million.
fn classify(buf: &[u8]) -> Option<bool> {
    const TEXT: usize = 16;
    let n = buf.len().min(PLAIN.len());
    if buf[..n] == PLAIN[..n] {
        return (n == PLAIN.len()).then_some(true);
    }
    let printable = |b: &u8| matches!(b, b' '..=b'~' | b'\r' | b'\n' | b'\t');
    if !buf.iter().take(TEXT).all(printable) {
        return Some(false);
    }
    (buf.len() >= TEXT).then_some(true)
}

async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<(), Disconnect> {
    match stream.read_buf(buf).await {
        Ok(0) => Err(Disconnect::Closed),
        Ok(_) => Ok(()),
        Err(_) => Err(Disconnect::Io),
    }
}

fn refused(e: MseError) -> Disconnect {
    match e {
        MseError::BadKey => Disconnect::MseBadKey,
        MseError::NoSync => Disconnect::MseNoSync,
        MseError::UnknownTorrent => Disconnect::UnknownTorrent,
        MseError::BadVerification => Disconnect::MseBadVerification,
        MseError::PadTooLong | MseError::PayloadTooLong => Disconnect::MseTooLong,
        MseError::NoCommonMethod => Disconnect::MseNoCommonMethod,
        MseError::BadSelect => Disconnect::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_plain_from_encrypted() {
        assert_eq!(classify(b"\x13Bit"), None, "a plain prefix so far");
        assert_eq!(classify(PLAIN), Some(true));
        assert_eq!(
            classify(&[0x13, 0x80, 1, 2]),
            Some(false),
            "a key opening with 19"
        );
        assert_eq!(classify(&[0x8f; 3]), Some(false));
        assert_eq!(
            classify(&[0x01, 0x41]),
            Some(false),
            "a key opening with control bytes"
        );
        assert_eq!(classify(b"GET / HTTP/1.1"), None, "text: wait for 16 bytes");
        assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Some(true));
    }
}
