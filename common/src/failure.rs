//! Request errors that a tracker reports to the client, and the failure reply itself.

use crate::bencode;
use crate::bencode::value::{self, Value};

/// A request the tracker understood as HTTP but cannot serve. Each one becomes a
/// `failure reason` the client shows its user, so the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0} is not valid percent-encoding")]
    BadEncoding(&'static str),
    #[error("{name} must be 20 bytes, got {got}")]
    BadIdLength { name: &'static str, got: usize },
    #[error("{0} must be a whole number")]
    BadNumber(&'static str),
    #[error("port must be between 1 and 65535")]
    BadPort,
    #[error("unknown event (expected started, stopped, completed, paused or empty)")]
    BadEvent,
    #[error("key must be at most {max} bytes")]
    KeyTooLong { max: usize },
}

impl RequestError {
    /// A stable, low-cardinality name for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing(_) => "missing_param",
            Self::BadEncoding(_) => "bad_encoding",
            Self::BadIdLength { .. } => "bad_id_length",
            Self::BadNumber(_) => "bad_number",
            Self::BadPort => "bad_port",
            Self::BadEvent => "bad_event",
            Self::KeyTooLong { .. } => "key_too_long",
        }
    }
}

/// `d14:failure reason<msg>e`, optionally with BEP 31 `retry in` minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureResponse {
    pub reason: String,
    pub retry_in: Option<u32>,
}

impl FailureResponse {
    /// Appends the bencoded reply to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_failure(out, &self.reason, self.retry_in);
    }

    /// Decodes a reply; `None` if it is not a failure. The reason is shown to people, so
    /// bytes that are not UTF-8 are replaced rather than refused; a `retry in` that is not
    /// a minute count is ignored.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let Ok(Value::Dict(d)) = value::decode_reply(buf) else {
            return None;
        };
        let Some(Value::Bytes(reason)) = d.get(b"failure reason") else {
            return None;
        };
        let retry_in = match d.get(b"retry in") {
            Some(Value::Int(m)) => u32::try_from(*m).ok(),
            _ => None,
        };
        Some(Self {
            reason: String::from_utf8_lossy(reason).into_owned(),
            retry_in,
        })
    }
}

/// Appends a failure reply without building a `FailureResponse`.
pub fn encode_failure(out: &mut Vec<u8>, reason: &str, retry_in: Option<u32>) {
    out.push(b'd');
    bencode::bytes(out, b"failure reason");
    bencode::bytes(out, reason.as_bytes());
    if let Some(m) = retry_in {
        bencode::key_int(out, b"retry in", i64::from(m));
    }
    out.push(b'e');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_and_round_trip() {
        let mut out = Vec::new();
        encode_failure(&mut out, "missing info_hash", None);
        assert_eq!(out, b"d14:failure reason17:missing info_hashe".to_vec());
        assert_eq!(
            FailureResponse::decode(&out).unwrap(),
            FailureResponse {
                reason: "missing info_hash".into(),
                retry_in: None
            }
        );
        let f = FailureResponse {
            reason: "slow down".into(),
            retry_in: Some(5),
        };
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out, b"d14:failure reason9:slow down8:retry ini5ee".to_vec());
        assert_eq!(FailureResponse::decode(&out).unwrap(), f);
        assert_eq!(FailureResponse::decode(b"d8:intervali5ee"), None);
    }
}
