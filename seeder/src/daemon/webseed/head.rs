//! HTTP/1.1 message heads, no I/O: a request head parsed from the bytes a client sent
//! (with httparse, the parser hyper itself uses), and a response head written.
//!
//! The webseed takes GET and HEAD without a body. A request that announces a body
//! (`Content-Length` other than 0, or any `Transfer-Encoding`) is answered and the
//! connection closed, rather than reading and skipping a body nobody needs.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, StatusCode};

/// Largest request head; BEP 19 clients send a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in one request.
const MAX_HEADERS: usize = 64;

/// One request head.
#[derive(Debug)]
pub struct Head {
    pub request: Request<()>,
    /// Bytes of the buffer it took.
    pub len: usize,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// It announces a body, which the webseed does not read.
    pub has_body: bool,
}

/// What the bytes so far hold.
#[derive(Debug)]
pub enum Parsed {
    Complete(Box<Head>),
    /// More bytes are needed (and may come: fewer than [`MAX_HEAD`] so far).
    Partial,
    /// Not a request head we take: answered with this status, then closed.
    Invalid(StatusCode),
}

pub fn parse(buf: &[u8]) -> Parsed {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Parsed::Partial,
        Ok(httparse::Status::Partial) => {
            return Parsed::Invalid(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Parsed::Invalid(StatusCode::BAD_REQUEST),
    };
    if len > MAX_HEAD {
        return Parsed::Invalid(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Parsed::Invalid(StatusCode::BAD_REQUEST);
    };
    let mut b = Request::builder().method(method).uri(target);
    let mut close = version == 0;
    let mut has_body = false;
    let mut length: Option<&[u8]> = None;
    for f in req.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(f.name.as_bytes()),
            HeaderValue::from_bytes(f.value),
        ) else {
            return Parsed::Invalid(StatusCode::BAD_REQUEST);
        };
        if name == hyper::header::CONNECTION {
            // HTTP/1.0 connections are closed after one response, keep-alive asked or
            // not: simpler than echoing `Connection: keep-alive`, and 1.0 clients are few.
            let mut tokens = f.value.split(|&c| c == b',');
            if tokens.any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close")) {
                close = true;
            }
        } else if name == hyper::header::TRANSFER_ENCODING {
            has_body = true;
        } else if name == hyper::header::CONTENT_LENGTH {
            // Two different lengths are a smuggling attempt, not a request.
            if length.is_some_and(|l| l != f.value) {
                return Parsed::Invalid(StatusCode::BAD_REQUEST);
            }
            length = Some(f.value);
            let digits = f.value.trim_ascii();
            let valid = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
            let parsed = std::str::from_utf8(digits)
                .ok()
                .and_then(|v| v.parse::<u64>().ok());
            match parsed.filter(|_| valid) {
                Some(0) => {}
                Some(_) => has_body = true,
                None => return Parsed::Invalid(StatusCode::BAD_REQUEST),
            }
        }
        b = b.header(name, value);
    }
    let Ok(request) = b.body(()) else {
        return Parsed::Invalid(StatusCode::BAD_REQUEST);
    };
    Parsed::Complete(Box::new(Head {
        request,
        len,
        keep_alive: !close && !has_body,
        has_body,
    }))
}

/// Appends `HTTP/1.1 <status>`, `headers`, `Date` and, when `close`, `Connection: close`.
pub fn write_response(out: &mut Vec<u8>, status: StatusCode, headers: &HeaderMap, close: bool) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"date: ");
    out.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    out.extend_from_slice(b"\r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(raw: &str) -> Head {
        match parse(raw.as_bytes()) {
            Parsed::Complete(h) => *h,
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    fn invalid(raw: &[u8]) -> StatusCode {
        match parse(raw) {
            Parsed::Invalid(s) => s,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn requests_and_keep_alive() {
        let h = complete("GET /a%20b/c HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\nGET /next");
        assert_eq!(h.request.uri().path(), "/a%20b/c");
        assert_eq!(h.request.headers()["range"], "bytes=0-1");
        assert_eq!(h.len, 52, "the pipelined request after it is left");
        assert!(h.keep_alive && !h.has_body);
        assert!(!complete("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(
            !complete("GET / HTTP/1.0\r\n\r\n").keep_alive,
            "HTTP/1.0 closes"
        );
        assert!(
            !complete("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive,
            "1.0 closes even when asked to keep alive"
        );
        assert!(!complete("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").keep_alive);
        let h = complete("GET http://origin.example/rel/a HTTP/1.1\r\n\r\n");
        assert_eq!(h.request.uri().path(), "/rel/a", "absolute form");
        assert!(complete("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").keep_alive);
    }

    #[test]
    fn bodies_are_not_read_and_close_the_connection() {
        for raw in [
            "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ] {
            let h = complete(raw);
            assert!(h.has_body && !h.keep_alive, "{raw}");
        }
        assert_eq!(
            invalid(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        for bad in ["-1", "+0", "", "1 2", "0x1"] {
            let raw = format!("GET / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(invalid(raw.as_bytes()), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn partial_oversized_and_garbage_heads() {
        assert!(matches!(parse(b"GET /a HTTP/1.1\r\nHost"), Parsed::Partial));
        assert!(matches!(parse(b""), Parsed::Partial));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert_eq!(invalid(&big), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            invalid(raw.as_bytes()),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        for raw in [
            &b"\x16\x03\x01\x02\x00garbage\r\n\r\n"[..],
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: \x01\r\n\r\n",
        ] {
            assert_eq!(
                invalid(raw),
                StatusCode::BAD_REQUEST,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn response_heads() {
        let mut h = HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("5"));
        let mut out = Vec::new();
        write_response(&mut out, StatusCode::PARTIAL_CONTENT, &h, true);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 206 Partial Content\r\ncontent-length: 5\r\ndate: "));
        assert!(
            text.ends_with(" GMT\r\nconnection: close\r\n\r\n"),
            "{text}"
        );
    }
}
