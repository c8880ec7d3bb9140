//! One request: its path to a file (`resolve`), its headers to a status and byte range
//! (`range`), and the response with its headers and body.
//!
//! The validators are the torrent's own, so every origin serving a release gives the
//! same ones: the entity tag is the info hash and the file's index (the bytes served are
//! proven against that torrent, so they cannot differ), `Last-Modified` the torrent's
//! `creation date` when it has one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};

use super::range::{self, Conditions, Outcome, Validators};
use super::resolve::{self, FileSpan, Found};
use crate::daemon::shared::Shared;
use crate::daemon::torrent::Torrent;

/// A response: its status, its headers (`Content-Length` included), and what follows.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
}

/// What follows a response head.
pub enum Body {
    /// Nothing (HEAD, 304, an empty file).
    Empty,
    Text(&'static str),
    /// These bytes of the torrent's concatenated files (within one file).
    File {
        torrent: Arc<Torrent>,
        range: std::ops::Range<u64>,
    },
}

impl Reply {
    fn new(status: StatusCode, body: Body) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }
}

/// How long a client should wait before asking again for a torrent not served yet.
const RETRY_AFTER_SECS: &str = "30";

pub fn handle<B>(shared: &Shared, req: &Request<B>) -> Reply {
    let reply = respond(shared, req);
    shared
        .metrics
        .http
        .requests
        .with_label_values(&[reply.status().as_str()])
        .inc();
    reply
}

fn respond<B>(shared: &Shared, req: &Request<B>) -> Reply {
    let get = match *req.method() {
        Method::GET => true,
        Method::HEAD => false,
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
    };
    let Ok(parts) = resolve::components(req.uri().path()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "malformed percent-encoding in the path\n",
        );
    };
    let (t, span) = match resolve::find(shared, &parts) {
        Found::File(t, span) => (t, span),
        Found::NotFound => {
            return text(
                StatusCode::NOT_FOUND,
                "no such file in any torrent served here\n",
            )
        }
        Found::NotServed(state) => {
            return unavailable(match state.label() {
                "checking" => "this torrent is being verified\n",
                "damaged" => "this torrent's content does not match it; not served\n",
                _ => "this torrent's content is missing\n",
            })
        }
        Found::Ambiguous => {
            return text(
                StatusCode::CONFLICT,
                "several torrents of this name serve different content here\n",
            )
        }
    };
    let v = validators(&t, span);
    let outcome = range::evaluate(&conditions(req.headers()), get, span.length, &v);
    let (status, bytes) = match outcome {
        Outcome::Whole => (StatusCode::OK, 0..span.length),
        Outcome::Part(r) => (StatusCode::PARTIAL_CONTENT, r),
        Outcome::NotModified => {
            let mut r = empty(StatusCode::NOT_MODIFIED);
            validator_headers(r.headers_mut(), &v);
            return r;
        }
        Outcome::PreconditionFailed => return text(StatusCode::PRECONDITION_FAILED, ""),
        Outcome::Unsatisfiable => {
            let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "");
            insert(
                r.headers_mut(),
                header::CONTENT_RANGE,
                format!("bytes */{}", span.length),
            );
            r.headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return r;
        }
    };
    let len = bytes.end - bytes.start;
    let body = if get && len > 0 {
        let start = span.offset + bytes.start;
        Body::File {
            torrent: t,
            range: start..start + len,
        }
    } else {
        Body::Empty
    };
    let mut r = Reply::new(status, body);
    let h = r.headers_mut();
    validator_headers(h, &v);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    insert(h, header::CONTENT_LENGTH, len.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {}-{}/{}", bytes.start, bytes.end - 1, span.length);
        insert(h, header::CONTENT_RANGE, range);
    }
    r
}

fn conditions(h: &HeaderMap) -> Conditions<'_> {
    let get = |name| h.get(name).map(HeaderValue::as_bytes);
    Conditions {
        range: get(header::RANGE),
        if_range: get(header::IF_RANGE),
        if_match: get(header::IF_MATCH),
        if_none_match: get(header::IF_NONE_MATCH),
        if_modified_since: get(header::IF_MODIFIED_SINCE),
        if_unmodified_since: get(header::IF_UNMODIFIED_SINCE),
    }
}

fn validators(t: &Torrent, span: FileSpan) -> Validators {
    Validators {
        etag: format!("\"{}-{}\"", t.info_hash.to_hex(), span.index),
        last_modified: t
            .created
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
    }
}

fn validator_headers(h: &mut HeaderMap, v: &Validators) {
    insert(h, header::ETAG, v.etag.clone());
    if let Some(m) = v.last_modified {
        insert(h, header::LAST_MODIFIED, httpdate::fmt_http_date(m));
    }
}

/// Header values built here are ASCII (numbers, hex, HTTP dates).
fn insert(h: &mut HeaderMap, name: header::HeaderName, value: String) {
    if let Ok(v) = HeaderValue::try_from(value) {
        h.insert(name, v);
    }
}

/// 503 with `Retry-After`: the content exists but cannot be served now.
pub fn unavailable(why: &'static str) -> Reply {
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    r
}

fn empty(status: StatusCode) -> Reply {
    Reply::new(status, Body::Empty)
}

/// A short text answer (errors); a HEAD gets its headers without it.
fn text(status: StatusCode, body: &'static str) -> Reply {
    let mut r = Reply::new(status, Body::Text(body));
    r.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    insert(
        &mut r.headers,
        header::CONTENT_LENGTH,
        body.len().to_string(),
    );
    r
}
