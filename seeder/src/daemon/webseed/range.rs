//! What a GET or HEAD of one file gets, from its `Range` and conditional headers and the
//! file's length and validators (RFC 9110, sections 13 and 14). No I/O.
//!
//! Only single byte ranges are served as ranges. A request for several ranges gets the
//! whole file (RFC 9110 lets a server ignore `Range`), which every BEP 19 client takes:
//! they ask for one range at a time. Syntax this module does not understand is ignored
//! the same way, as the RFC asks, never answered with an error.

use std::ops::Range;
use std::time::SystemTime;

/// The request headers that decide the answer, raw as they came (first of each).
#[derive(Debug, Default, Clone, Copy)]
pub struct Conditions<'a> {
    pub range: Option<&'a [u8]>,
    pub if_range: Option<&'a [u8]>,
    pub if_match: Option<&'a [u8]>,
    pub if_none_match: Option<&'a [u8]>,
    pub if_modified_since: Option<&'a [u8]>,
    pub if_unmodified_since: Option<&'a [u8]>,
}

/// What identifies one version of the file.
#[derive(Debug, Clone)]
pub struct Validators {
    /// A strong entity tag with its quotes, e.g. `"0123...-2"`.
    pub etag: String,
    /// Whole seconds (HTTP dates have no finer resolution).
    pub last_modified: Option<SystemTime>,
}

/// The answer's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with the whole file.
    Whole,
    /// 206 with these bytes of the file.
    Part(Range<u64>),
    /// 416: the one range asked for starts past the end.
    Unsatisfiable,
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
}

/// Evaluates the preconditions in the order RFC 9110 section 13.2.2 gives, then the
/// range. `get` is false for HEAD, where `Range` does not apply.
pub fn evaluate(c: &Conditions<'_>, get: bool, len: u64, v: &Validators) -> Outcome {
    if let Some(h) = c.if_match {
        if !tags_match(h, &v.etag, true) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(since) = c.if_unmodified_since.and_then(date) {
        if v.last_modified.is_some_and(|m| m > since) {
            return Outcome::PreconditionFailed;
        }
    }
    if let Some(h) = c.if_none_match {
        if tags_match(h, &v.etag, false) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = c.if_modified_since.and_then(date) {
        if v.last_modified.is_some_and(|m| m <= since) {
            return Outcome::NotModified;
        }
    }
    let Some(range) = c.range.filter(|_| get) else {
        return Outcome::Whole;
    };
    if let Some(cond) = c.if_range {
        if !if_range_holds(cond, v) {
            return Outcome::Whole;
        }
    }
    parse_range(range, len)
}

/// One `bytes=` range against a file of `len` bytes; anything else is the whole file.
pub fn parse_range(header: &[u8], len: u64) -> Outcome {
    let Ok(s) = std::str::from_utf8(header) else {
        return Outcome::Whole;
    };
    let Some((unit, set)) = s.split_once('=') else {
        return Outcome::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return Outcome::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return Outcome::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last `n` bytes.
        return match number(last) {
            Some(0) => Outcome::Unsatisfiable,
            Some(_) if len == 0 => Outcome::Unsatisfiable,
            Some(n) => Outcome::Part(len - n.min(len)..len),
            None => Outcome::Whole,
        };
    }
    let Some(first) = number(first) else {
        return Outcome::Whole;
    };
    let end = if last.is_empty() {
        len
    } else {
        match number(last) {
            Some(l) if l >= first => l.saturating_add(1).min(len),
            _ => return Outcome::Whole,
        }
    };
    if first >= len {
        Outcome::Unsatisfiable
    } else {
        Outcome::Part(first..end)
    }
}

/// Decimal digits only; a number past `u64` saturates (it can only mean "to the end").
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// An `If-Range` holds when it names our (strong) tag, or is exactly our modification
/// date.
fn if_range_holds(cond: &[u8], v: &Validators) -> bool {
    let cond = trim(cond);
    if cond.first() == Some(&b'"') {
        return cond == v.etag.as_bytes();
    }
    if cond.starts_with(b"W/") {
        return false;
    }
    matches!((date(cond), v.last_modified), (Some(d), Some(m)) if d == m)
}

/// Whether the list in an `If-Match` (`strong`) or `If-None-Match` names `etag`: `*`
/// matches any, a weak tag never matches strongly.
fn tags_match(list: &[u8], etag: &str, strong: bool) -> bool {
    if trim(list) == b"*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = trim_start(rest);
        let weak = rest.starts_with(b"W/");
        if weak {
            rest = &rest[2..];
        }
        if rest.first() != Some(&b'"') {
            return false;
        }
        let Some(close) = rest[1..].iter().position(|&b| b == b'"') else {
            return false;
        };
        let tag = &rest[..close + 2];
        if tag == etag.as_bytes() && !(strong && weak) {
            return true;
        }
        rest = trim_start(&rest[close + 2..]);
        match rest.first() {
            Some(b',') => rest = &rest[1..],
            _ => return false,
        }
    }
}

fn date(h: &[u8]) -> Option<SystemTime> {
    httpdate::parse_http_date(std::str::from_utf8(trim(h)).ok()?).ok()
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    &b[n..]
}

fn trim(b: &[u8]) -> &[u8] {
    let b = trim_start(b);
    let n = b
        .iter()
        .rev()
        .take_while(|c| matches!(c, b' ' | b'\t'))
        .count();
    &b[..b.len() - n]
}

#[cfg(test)]
mod tests;
