//! Reading an untrusted `.torrent`: strict bencode, typed fields, then [`Info::validate`].
//!
//! The info hash is SHA-1 of the `info` dictionary's bytes exactly as they appear in the
//! file, so a torrent with keys we do not model still gets the hash every client computes.

use sha1::{Digest, Sha1};

use super::error::{child, MetainfoError};
use super::model::{FileEntry, Info, Layout, Metainfo};
use crate::bencode::value::{self, Dict, Value};
use crate::id::InfoHash;

/// A parsed torrent and its info hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub metainfo: Metainfo,
    pub info_hash: InfoHash,
    /// The `info` dictionary exactly as it appears in the file: what BEP 9 hands to peers
    /// that resolve a magnet link, and what the info hash is taken over.
    pub info_bytes: Vec<u8>,
    /// The v2 part (BEP 52) of a v2 or hybrid torrent. A v2-only torrent's `metainfo`
    /// is only a view of its files (no `pieces`, `info_hash` the truncated v2 hash):
    /// nothing that needs v1 pieces may use it.
    pub v2: Option<super::parse_v2::V2Part>,
}

impl Metainfo {
    /// Parses and validates a whole `.torrent` file.
    pub fn from_bytes(buf: &[u8]) -> Result<Parsed, MetainfoError> {
        let root = value::decode(buf)?;
        let root = as_dict(&root, "the torrent")?;
        let info_dict = as_dict(require(root, "", "info")?, "info")?;
        let (info, v2, info_hash) = if info_dict.get(b"pieces").is_some() {
            let info = parse_info(info_dict)?;
            info.validate()?;
            let v2 = super::parse_v2::parse(root, info_dict, Some(&info))?;
            (info, v2, InfoHash(Sha1::digest(info_dict.raw()).into()))
        } else {
            // No v1 pieces: a v2-only torrent, or a v1 one that lacks them.
            let v2 = super::parse_v2::parse(root, info_dict, None)?
                .ok_or_else(|| MetainfoError::Missing("info -> pieces".into()))?;
            let hash = InfoHash(v2.info_hash[..20].try_into().expect("20 bytes"));
            (view_of(&v2.info), Some(v2), hash)
        };
        let metainfo = Metainfo {
            announce: opt_str(root, "", "announce")?,
            announce_list: announce_list(root)?,
            url_list: url_list(root)?,
            comment: opt_text(root, "comment")?,
            created_by: opt_text(root, "created by")?,
            creation_date: opt_int(root, "", "creation date")?,
            info,
        };
        Ok(Parsed {
            metainfo,
            info_hash,
            info_bytes: info_dict.raw().to_vec(),
            v2,
        })
    }
}

/// A v2-only torrent's files as a v1 `Info` without pieces: names and sizes, and the
/// piece space v2 peers share, in which every file starts a piece. That space is what a
/// hybrid's v1 part spells out with BEP 47 pad files, so the same pads stand after every
/// file that does not end on a piece boundary (see `V2Info::v1_files`).
fn view_of(v2: &super::v2::V2Info) -> Info {
    let layout = match v2.files.as_slice() {
        [one] if one.path.is_empty() => Layout::Single { length: one.length },
        _ => Layout::Multi {
            files: v2.v1_files(),
        },
    };
    Info {
        name: v2.name.clone(),
        piece_length: v2.piece_length,
        pieces: Vec::new(),
        layout,
        private: v2.private,
        source: None,
    }
}

fn parse_info(d: &Dict<'_>) -> Result<Info, MetainfoError> {
    const P: &str = "info";
    let pieces = as_bytes(require(d, P, "pieces")?, "info -> pieces")?;
    if pieces.len() % 20 != 0 {
        return Err(MetainfoError::PiecesLength(pieces.len()));
    }
    let layout = match (d.get(b"length"), d.get(b"files")) {
        (Some(_), Some(_)) => return Err(MetainfoError::BothLengthAndFiles),
        (None, None) => return Err(MetainfoError::NoLength),
        (Some(length), None) => Layout::Single {
            length: as_length(length, "info -> length")?,
        },
        (None, Some(files)) => Layout::Multi {
            files: parse_files(files)?,
        },
    };
    Ok(Info {
        name: req_str(d, P, "name")?,
        piece_length: as_length(require(d, P, "piece length")?, "info -> piece length")?,
        pieces: pieces
            .chunks_exact(20)
            .map(|c| c.try_into().expect("chunks are 20 bytes"))
            .collect(),
        layout,
        private: opt_int(d, P, "private")? == Some(1),
        source: opt_str(d, P, "source")?,
    })
}

fn parse_files(files: &Value<'_>) -> Result<Vec<FileEntry>, MetainfoError> {
    let list = as_list(files, "info -> files")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, file) in list.iter().enumerate() {
        let at = format!("info -> files -> {i}");
        let d = as_dict(file, &at)?;
        let length = as_length(require(d, &at, "length")?, &child(&at, "length"))?;
        let path_at = child(&at, "path");
        let path = as_list(require(d, &at, "path")?, &path_at)?
            .iter()
            .enumerate()
            .map(|(j, c)| as_str(c, &child(&path_at, j)))
            .collect::<Result<_, _>>()?;
        // BEP 47: `attr` is a string of flags; `p` marks a pad file.
        let pad = match d.get(b"attr") {
            Some(v) => as_bytes(v, &child(&at, "attr"))?.contains(&b'p'),
            None => false,
        };
        out.push(FileEntry { path, length, pad });
    }
    Ok(out)
}

fn announce_list(root: &Dict<'_>) -> Result<Vec<Vec<String>>, MetainfoError> {
    let Some(tiers) = root.get(b"announce-list") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, tier) in as_list(tiers, "announce-list")?.iter().enumerate() {
        let at = child("announce-list", i);
        let urls = as_list(tier, &at)?
            .iter()
            .enumerate()
            .map(|(j, u)| as_str(u, &child(&at, j)))
            .collect::<Result<Vec<_>, _>>()?;
        // An empty tier carries nothing; dropping it keeps tier numbers meaningful.
        if !urls.is_empty() {
            out.push(urls);
        }
    }
    Ok(out)
}

/// BEP 19 allows `url-list` to be one string or a list of strings.
fn url_list(root: &Dict<'_>) -> Result<Vec<String>, MetainfoError> {
    match root.get(b"url-list") {
        None => Ok(Vec::new()),
        Some(Value::Bytes([])) => Ok(Vec::new()),
        Some(v @ Value::Bytes(_)) => Ok(vec![as_str(v, "url-list")?]),
        Some(v) => as_list(v, "url-list")?
            .iter()
            .enumerate()
            .map(|(i, u)| as_str(u, &child("url-list", i)))
            .collect(),
    }
}

fn require<'v, 'a>(d: &'v Dict<'a>, at: &str, key: &str) -> Result<&'v Value<'a>, MetainfoError> {
    d.get(key.as_bytes())
        .ok_or_else(|| MetainfoError::Missing(child(at, key)))
}

fn wrong(at: &str, expected: &'static str) -> MetainfoError {
    MetainfoError::WrongType {
        path: at.to_owned(),
        expected,
    }
}

fn as_dict<'v, 'a>(v: &'v Value<'a>, at: &str) -> Result<&'v Dict<'a>, MetainfoError> {
    match v {
        Value::Dict(d) => Ok(d),
        _ => Err(wrong(at, "a dictionary")),
    }
}

fn as_list<'v, 'a>(v: &'v Value<'a>, at: &str) -> Result<&'v [Value<'a>], MetainfoError> {
    match v {
        Value::List(l) => Ok(l),
        _ => Err(wrong(at, "a list")),
    }
}

fn as_bytes<'a>(v: &Value<'a>, at: &str) -> Result<&'a [u8], MetainfoError> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(wrong(at, "a byte string")),
    }
}

fn as_str(v: &Value<'_>, at: &str) -> Result<String, MetainfoError> {
    let b = as_bytes(v, at)?;
    String::from_utf8(b.to_vec()).map_err(|_| MetainfoError::NotUtf8(at.to_owned()))
}

fn as_length(v: &Value<'_>, at: &str) -> Result<u64, MetainfoError> {
    match v {
        Value::Int(n) => u64::try_from(*n).map_err(|_| MetainfoError::OutOfRange {
            path: at.to_owned(),
            value: *n,
            rule: "must not be negative",
        }),
        _ => Err(wrong(at, "an integer")),
    }
}

fn req_str(d: &Dict<'_>, at: &str, key: &str) -> Result<String, MetainfoError> {
    as_str(require(d, at, key)?, &child(at, key))
}

fn opt_str(d: &Dict<'_>, at: &str, key: &str) -> Result<Option<String>, MetainfoError> {
    d.get(key.as_bytes())
        .map(|v| as_str(v, &child(at, key)))
        .transpose()
}

/// Free text outside `info` from old tools may be in a legacy encoding; showing it with
/// replacement characters is better than refusing a torrent over a comment.
fn opt_text(d: &Dict<'_>, key: &str) -> Result<Option<String>, MetainfoError> {
    d.get(key.as_bytes())
        .map(|v| as_bytes(v, key).map(|b| String::from_utf8_lossy(b).into_owned()))
        .transpose()
}

fn opt_int(d: &Dict<'_>, at: &str, key: &str) -> Result<Option<i64>, MetainfoError> {
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Int(n)) => Ok(Some(*n)),
        Some(_) => Err(wrong(&child(at, key), "an integer")),
    }
}

#[cfg(test)]
mod tests;
