//! Just enough HTTP/1.1 for a tracker client, without I/O: request heads are written into a
//! caller's buffer, response heads parsed from bytes read so far ("need more" is `Ok(None)`).
//!
//! A general client (hyper) would spend more CPU per request than the tracker under test
//! spends answering it; this one does only what tracker replies need: status, length,
//! and whether the connection stays open.

use seedline_common::{AnnounceRequest, ScrapeRequest};

use super::target::Target;

/// Longest response head accepted; trackers send a few short headers.
pub const MAX_HEAD: usize = 16 * 1024;

/// The fixed parts of every request to one target, written once.
#[derive(Debug, Clone)]
pub struct RequestWriter {
    announce_prefix: Vec<u8>,
    scrape_prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl RequestWriter {
    /// `close`: ask the server to close after replying, as one-shot clients do.
    pub fn new(target: &Target, close: bool) -> Self {
        let prefix = |path: &str| {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("GET {path}{sep}").into_bytes()
        };
        let mut suffix = format!(
            " HTTP/1.1\r\nHost: {}\r\nUser-Agent: seedline-loadtest/{}\r\nAccept-Encoding: gzip\r\n",
            target.host,
            env!("CARGO_PKG_VERSION")
        );
        if close {
            suffix.push_str("Connection: close\r\n");
        }
        suffix.push_str("\r\n");
        Self {
            announce_prefix: prefix(&target.announce_path),
            scrape_prefix: prefix(&target.scrape_path),
            suffix: suffix.into_bytes(),
        }
    }

    /// Replaces `out` with an announce request.
    pub fn announce(&self, r: &AnnounceRequest, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.announce_prefix);
        r.write_query(out);
        // Parameters libtorrent adds that trackers must ignore.
        out.extend_from_slice(b"&corrupt=0&supportcrypto=1&redundant=0");
        out.extend_from_slice(&self.suffix);
    }

    /// Replaces `out` with a scrape request.
    pub fn scrape(&self, r: &ScrapeRequest, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.scrape_prefix);
        r.write_query(out);
        out.extend_from_slice(&self.suffix);
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLen {
    Length(usize),
    /// HTTP/1.0 style: the body ends when the server closes.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Bytes of the head, including the blank line.
    pub len: usize,
    pub body: BodyLen,
    /// The server will close the connection after this response.
    pub close: bool,
}

/// Why bytes are not a response this client can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    #[error("chunked responses are not supported")]
    Chunked,
    #[error("response head longer than {MAX_HEAD} bytes")]
    HeadTooLong,
}

/// Parses a response head from the start of `buf`; `Ok(None)` until it is complete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let Some(end) = find_blank_line(buf) else {
        return if buf.len() > MAX_HEAD {
            Err(HttpError::HeadTooLong)
        } else {
            Ok(None)
        };
    };
    let head = &buf[..end];
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let status_line = lines.next().unwrap_or_default();
    let (http10, status) = parse_status_line(status_line)?;
    let mut length = None;
    let mut close = http10;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(HttpError::Malformed("header line without a colon"));
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or(HttpError::Malformed("content-length is not a number"))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"connection") {
            if value.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(HttpError::Chunked);
        }
    }
    let body = match length {
        Some(n) => BodyLen::Length(n),
        None => {
            close = true;
            BodyLen::UntilClose
        }
    };
    Ok(Some(Head {
        status,
        len: end + 4,
        body,
        close,
    }))
}

/// `HTTP/1.x NNN reason` -> (is 1.0, status).
fn parse_status_line(line: &[u8]) -> Result<(bool, u16), HttpError> {
    let http10 = if line.starts_with(b"HTTP/1.1 ") {
        false
    } else if line.starts_with(b"HTTP/1.0 ") {
        true
    } else {
        return Err(HttpError::Malformed("status line is not HTTP/1.x"));
    };
    let code = line
        .get(9..12)
        .filter(|c| c.iter().all(u8::is_ascii_digit))
        .ok_or(HttpError::Malformed("status code is not three digits"))?;
    let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    Ok((http10, status))
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use seedline_common::{Event, InfoHash, PeerId};

    #[test]
    fn heads() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 12\r\n\r\nd8:intervali";
        assert_eq!(
            parse_head(r).unwrap(),
            Some(Head {
                status: 200,
                len: r.len() - 12,
                body: BodyLen::Length(12),
                close: false
            })
        );
        let h = parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.close, "HTTP/1.0 closes unless told otherwise");
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.status, h.body, h.close),
            (404, BodyLen::UntilClose, true)
        );
    }

    #[test]
    fn every_split_point_needs_more_then_parses() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        for i in 0..r.len() {
            assert_eq!(parse_head(&r[..i]), Ok(None), "split at {i}");
        }
        assert!(parse_head(r).unwrap().is_some());
    }

    #[test]
    fn bad_heads() {
        assert_eq!(
            parse_head(b"HTTP/2 200\r\n\r\n"),
            Err(HttpError::Malformed("status line is not HTTP/1.x"))
        );
        assert!(parse_head(b"HTTP/1.1 2x0 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(HttpError::Chunked)
        );
        assert_eq!(
            parse_head(&vec![b'a'; MAX_HEAD + 1]),
            Err(HttpError::HeadTooLong)
        );
    }

    #[test]
    fn request_bytes() {
        let t = Target::parse("http://127.0.0.1:6969/announce", false).unwrap();
        let w = RequestWriter::new(&t, true);
        let r = AnnounceRequest {
            info_hash: InfoHash([b'a'; 20]),
            peer_id: PeerId([b'b'; 20]),
            port: 7,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: Event::Started,
            compact: true,
            no_peer_id: true,
            numwant: Some(50),
            key: None,
            ip: None,
        };
        let mut out = Vec::new();
        w.announce(&r, &mut out);
        let text = String::from_utf8(out).unwrap();
        let line = text.split("\r\n").next().unwrap();
        let query = line
            .strip_prefix("GET /announce?")
            .and_then(|l| l.strip_suffix(" HTTP/1.1"))
            .unwrap();
        assert_eq!(AnnounceRequest::parse_query(query.as_bytes()).unwrap(), r);
        assert!(text.contains("\r\nHost: 127.0.0.1:6969\r\n"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
        let mut out = Vec::new();
        let s = ScrapeRequest {
            info_hashes: vec![InfoHash([b'c'; 20])],
        };
        RequestWriter::new(&t, false).scrape(&s, &mut out);
        assert!(out.starts_with(
            format!("GET /scrape?info_hash={} HTTP/1.1\r\n", "c".repeat(20)).as_bytes()
        ));
        assert!(out.ends_with(b"gzip\r\n\r\n"));
    }
}
