//! Scrape (BEP 48): request with repeated `info_hash` keys, reply with a `files` dict.

use std::collections::BTreeMap;

use crate::announce::id20;
use crate::bencode;
use crate::bencode::value::{self, Value};
use crate::failure::{FailureResponse, RequestError};
use crate::id::InfoHash;
use crate::query::{self, pairs};

/// A parsed `/scrape` query. No hashes means a full scrape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeRequest {
    pub info_hashes: Vec<InfoHash>,
}

impl ScrapeRequest {
    /// Parses the raw query. Hashes past `max` are ignored (not decoded, so they cost
    /// nothing); repeats are dropped; a malformed hash within the first `max` is an error.
    pub fn parse_query(q: &[u8], max: usize) -> Result<Self, RequestError> {
        let mut info_hashes = Vec::new();
        for (k, v) in pairs(q) {
            if k != b"info_hash" {
                continue;
            }
            if info_hashes.len() >= max {
                break;
            }
            let h = InfoHash(id20(v, "info_hash")?);
            if !info_hashes.contains(&h) {
                info_hashes.push(h);
            }
        }
        Ok(Self { info_hashes })
    }

    /// Appends the query string (without `?`).
    pub fn write_query(&self, out: &mut Vec<u8>) {
        for (i, h) in self.info_hashes.iter().enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            out.extend_from_slice(b"info_hash=");
            query::encode_into(h.as_bytes(), out);
        }
    }
}

/// The three numbers a scrape reports for one torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    pub complete: u32,
    pub downloaded: u32,
    pub incomplete: u32,
}

/// Appends `d5:filesd` and opens the reply.
pub fn begin(out: &mut Vec<u8>) {
    out.extend_from_slice(b"d5:filesd");
}

/// Appends one file entry. Bencode needs keys in order: callers add hashes ascending.
pub fn write_file(out: &mut Vec<u8>, h: &InfoHash, s: &ScrapeStats) {
    bencode::bytes(out, h.as_bytes());
    out.push(b'd');
    bencode::key_int(out, b"complete", i64::from(s.complete));
    bencode::key_int(out, b"downloaded", i64::from(s.downloaded));
    bencode::key_int(out, b"incomplete", i64::from(s.incomplete));
    out.push(b'e');
}

/// Closes what [`begin`] opened.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"ee");
}

/// An owned scrape reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeResponse {
    pub files: BTreeMap<InfoHash, ScrapeStats>,
}

impl ScrapeResponse {
    /// Appends the bencoded reply, keys in byte order.
    pub fn encode(&self, out: &mut Vec<u8>) {
        begin(out);
        for (h, s) in &self.files {
            write_file(out, h, s);
        }
        end(out);
    }

    /// Decodes a reply; `Err` carries the failure reason or the decoding error.
    pub fn decode(buf: &[u8]) -> Result<Self, String> {
        if let Some(f) = FailureResponse::decode(buf) {
            return Err(format!("tracker failure: {}", f.reason));
        }
        let root = value::decode_reply(buf).map_err(|e| e.to_string())?;
        let Some(Value::Dict(files)) = dict(&root)?.get(b"files") else {
            return Err("files is missing or not a dictionary".into());
        };
        let mut out = BTreeMap::new();
        for (k, v) in files.entries() {
            let h = InfoHash::from_slice(k).ok_or("scrape key is not 20 bytes")?;
            let stats = dict(v)?;
            let count = |key: &'static str| match stats.get(key.as_bytes()) {
                Some(Value::Int(n)) => {
                    u32::try_from(*n).map_err(|_| format!("files -> {key} is out of range"))
                }
                _ => Err(format!("files -> {key} is missing or not an integer")),
            };
            let s = ScrapeStats {
                complete: count("complete")?,
                downloaded: count("downloaded")?,
                incomplete: count("incomplete")?,
            };
            out.insert(h, s);
        }
        Ok(Self { files: out })
    }
}

fn dict<'v, 'a>(v: &'v Value<'a>) -> Result<&'v value::Dict<'a>, String> {
    match v {
        Value::Dict(d) => Ok(d),
        _ => Err("expected a dictionary".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_repeated_capped_and_deduplicated() {
        let a = format!("info_hash={}", "%aa".repeat(20));
        let b = format!("info_hash={}", "b".repeat(20));
        let q = format!("{a}&foo=1&{b}&{a}&info_hash=bad");
        let r = ScrapeRequest::parse_query(q.as_bytes(), 3).unwrap_err();
        assert_eq!(
            r,
            RequestError::BadIdLength {
                name: "info_hash",
                got: 3
            }
        );
        let r = ScrapeRequest::parse_query(q.as_bytes(), 2).unwrap();
        assert_eq!(
            r.info_hashes,
            vec![InfoHash([0xaa; 20]), InfoHash([b'b'; 20])]
        );
        assert!(ScrapeRequest::parse_query(b"", 10)
            .unwrap()
            .info_hashes
            .is_empty());
    }

    #[test]
    fn golden_reply() {
        let mut r = ScrapeResponse::default();
        r.files.insert(
            InfoHash([b'b'; 20]),
            ScrapeStats {
                complete: 1,
                downloaded: 2,
                incomplete: 3,
            },
        );
        r.files.insert(InfoHash([b'a'; 20]), ScrapeStats::default());
        let mut out = Vec::new();
        r.encode(&mut out);
        let want = format!(
            "d5:filesd20:{}d8:completei0e10:downloadedi0e10:incompletei0ee20:{}d8:completei1e10:downloadedi2e10:incompletei3eeee",
            "a".repeat(20),
            "b".repeat(20)
        );
        assert_eq!(out, want.as_bytes());
        assert_eq!(ScrapeResponse::decode(&out).unwrap(), r);
    }

    proptest! {
        #[test]
        fn round_trip(files in proptest::collection::btree_map(any::<[u8; 20]>().prop_map(InfoHash), (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(c, d, i)| ScrapeStats { complete: c, downloaded: d, incomplete: i }), 0..10)) {
            let r = ScrapeResponse { files };
            let mut out = Vec::new();
            r.encode(&mut out);
            prop_assert_eq!(ScrapeResponse::decode(&out).unwrap(), r.clone());
            let req = ScrapeRequest { info_hashes: r.files.keys().copied().collect() };
            let mut q = Vec::new();
            req.write_query(&mut q);
            prop_assert_eq!(ScrapeRequest::parse_query(&q, 100).unwrap(), req);
        }
    }
}
