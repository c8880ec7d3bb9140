//! Canonical bencode for the torrents we create.
//!
//! Keys are written in byte order and nothing optional is written unless set, so the same
//! model always gives the same bytes: that is what makes `make-torrent` reproducible and
//! its info hash equal to mktorrent's and libtorrent's for the same files.

use sha1::{Digest, Sha1};

use super::model::{Info, Layout, Metainfo};
use crate::bencode;
use crate::id::InfoHash;

impl Metainfo {
    /// The whole `.torrent` file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_around(&self.info.to_bytes(), None)
    }

    /// The `.torrent` file around an `info` dictionary already encoded (a v2 or hybrid
    /// one, see `v2.rs`), with `piece layers` when given.
    pub(crate) fn to_bytes_around(&self, info: &[u8], piece_layers: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(info.len() + 512);
        let mut d = DictWriter::open(&mut out);
        if let Some(a) = &self.announce {
            bencode::bytes(d.key(b"announce"), a.as_bytes());
        }
        if !self.announce_list.is_empty() {
            let buf = d.key(b"announce-list");
            buf.push(b'l');
            for tier in &self.announce_list {
                str_list(buf, tier);
            }
            buf.push(b'e');
        }
        if let Some(c) = &self.comment {
            bencode::bytes(d.key(b"comment"), c.as_bytes());
        }
        if let Some(c) = &self.created_by {
            bencode::bytes(d.key(b"created by"), c.as_bytes());
        }
        if let Some(t) = self.creation_date {
            bencode::int(d.key(b"creation date"), t);
        }
        d.key(b"info").extend_from_slice(info);
        if let Some(layers) = piece_layers {
            d.key(b"piece layers").extend_from_slice(layers);
        }
        // One web seed is written as a plain string, as mktorrent and libtorrent do
        // (BEP 19 allows both), so their torrents re-encode to the same bytes.
        match self.url_list.as_slice() {
            [] => {}
            [one] => bencode::bytes(d.key(b"url-list"), one.as_bytes()),
            many => str_list(d.key(b"url-list"), many),
        }
        d.close();
        out
    }
}

impl Info {
    /// The bencoded `info` dictionary.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pieces.len() * 20 + 256);
        let mut d = DictWriter::open(&mut out);
        match &self.layout {
            Layout::Single { length } => {
                bencode::int(d.key(b"length"), length_int(*length));
            }
            Layout::Multi { files } => {
                let buf = d.key(b"files");
                buf.push(b'l');
                for f in files {
                    let mut fd = DictWriter::open(buf);
                    if f.pad {
                        bencode::bytes(fd.key(b"attr"), b"p");
                    }
                    bencode::int(fd.key(b"length"), length_int(f.length));
                    str_list(fd.key(b"path"), &f.path);
                    fd.close();
                }
                buf.push(b'e');
            }
        }
        bencode::bytes(d.key(b"name"), self.name.as_bytes());
        bencode::int(d.key(b"piece length"), length_int(self.piece_length));
        let buf = d.key(b"pieces");
        bencode::len_prefix(buf, self.pieces.len() * 20);
        for p in &self.pieces {
            buf.extend_from_slice(p);
        }
        if self.private {
            bencode::int(d.key(b"private"), 1);
        }
        if let Some(s) = &self.source {
            bencode::bytes(d.key(b"source"), s.as_bytes());
        }
        d.close();
        out
    }

    /// SHA-1 of [`Info::to_bytes`]. For a parsed torrent use [`super::Parsed::info_hash`],
    /// which covers keys this model drops.
    pub fn info_hash(&self) -> InfoHash {
        InfoHash(Sha1::digest(self.to_bytes()).into())
    }
}

/// Lengths are capped far below `i64::MAX` by validation; saturate rather than wrap.
fn length_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn str_list(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'l');
    for s in items {
        bencode::bytes(out, s.as_bytes());
    }
    out.push(b'e');
}

/// Writes a dictionary and, in debug builds, checks its keys come in byte order.
struct DictWriter<'o> {
    out: &'o mut Vec<u8>,
    last: Option<&'static [u8]>,
}

impl<'o> DictWriter<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'd');
        Self { out, last: None }
    }

    /// Writes `key` and returns the buffer for its value.
    fn key(&mut self, key: &'static [u8]) -> &mut Vec<u8> {
        debug_assert!(self.last < Some(key), "bencode keys out of order");
        self.last = Some(key);
        bencode::bytes(self.out, key);
        self.out
    }

    fn close(self) {
        self.out.push(b'e');
    }
}
