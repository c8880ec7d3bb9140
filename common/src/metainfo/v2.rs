//! BitTorrent v2 and hybrid torrents (BEP 52, BEP 47) as we create them: the `info`
//! dictionary with its `file tree`, `meta version` 2 and, for a hybrid, the v1 `files`
//! (or `length`) and `pieces` over the same data with pad files, and the `piece layers`
//! beside `info`. Written the way libtorrent 2.0's `create_torrent` writes them, so the
//! info hashes are equal for the same files and piece length:
//!
//! - files in tree order: sorted component by component (`a/x` before `a-b/y`, unlike a
//!   v1 torrent's whole-path order), which is also the order of the `file tree`;
//! - in a hybrid's v1 list, after every file whose length is not a multiple of the piece
//!   length (the last one too), a pad file `.pad/<length>` with `attr` `p` that makes
//!   the next file start on a piece boundary, so v1 pieces and v2 trees cover the same
//!   bytes; a single-file hybrid has no pad;
//! - `piece layers` always present, holding the layer of every file longer than a piece.

use std::collections::BTreeMap;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::merkle::Hash32;
use super::model::{FileEntry, Metainfo};
use crate::bencode;
use crate::id::InfoHash;

/// Which torrent to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// v2 only: no `pieces`, no v1 file list; v1-only clients cannot use it.
    V2,
    /// v1 and v2 in one `info`: two info hashes, one set of data.
    Hybrid,
}

/// One file of a v2 torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2File {
    /// Components below the torrent's name; empty for a single-file torrent.
    pub path: Vec<String>,
    pub length: u64,
    /// `pieces root` and, for a file longer than a piece, its piece layer. `None` for an
    /// empty file.
    pub tree: Option<(Hash32, Option<Vec<Hash32>>)>,
}

/// What a v2 or hybrid `info` holds beyond its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Info {
    pub version: Version,
    pub name: String,
    pub piece_length: u64,
    /// In tree order (see [`sort_tree_order`]).
    pub files: Vec<V2File>,
    /// A hybrid's v1 piece hashes, over the files with their pad files.
    pub v1_pieces: Vec<[u8; 20]>,
    pub private: bool,
    pub source: Option<String>,
}

/// Sorts files the way the `file tree` orders them: component by component.
pub fn sort_tree_order<T>(files: &mut [T], path: impl Fn(&T) -> &[String]) {
    files.sort_by(|a, b| path(a).cmp(path(b)));
}

/// The length of the pad file a hybrid puts after a file of `length` bytes.
pub fn pad_after(length: u64, piece_length: u64) -> u64 {
    (piece_length - length % piece_length) % piece_length
}

impl V2Info {
    fn single(&self) -> bool {
        self.files.len() == 1 && self.files[0].path.is_empty()
    }

    /// The files as a hybrid's v1 `files` list holds them: a BEP 47 pad file (`.pad/N`,
    /// as libtorrent names them) after each that does not end on a piece boundary, but
    /// none in a torrent of one file (libtorrent pads only torrents of several files).
    pub fn v1_files(&self) -> Vec<FileEntry> {
        let several = self.files.len() > 1;
        let mut out = Vec::with_capacity(self.files.len() * 2);
        for f in &self.files {
            out.push(FileEntry {
                path: f.path.clone(),
                length: f.length,
                pad: false,
            });
            let pad = pad_after(f.length, self.piece_length);
            if several && pad > 0 {
                out.push(FileEntry {
                    path: vec![".pad".into(), pad.to_string()],
                    length: pad,
                    pad: true,
                });
            }
        }
        out
    }

    /// The bencoded `info` dictionary.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.files.len() * 96 + self.v1_pieces.len() * 20 + 256);
        out.push(b'd');
        bencode::bytes(&mut out, b"file tree");
        self.file_tree(&mut out);
        let hybrid = self.version == Version::Hybrid;
        if hybrid && !self.single() {
            bencode::bytes(&mut out, b"files");
            out.push(b'l');
            for f in self.v1_files() {
                out.push(b'd');
                if f.pad {
                    bencode::bytes(&mut out, b"attr");
                    bencode::bytes(&mut out, b"p");
                }
                bencode::bytes(&mut out, b"length");
                bencode::int(&mut out, int(f.length));
                bencode::bytes(&mut out, b"path");
                str_list(&mut out, f.path.iter().map(String::as_bytes));
                out.push(b'e');
            }
            out.push(b'e');
        }
        if hybrid && self.single() {
            bencode::bytes(&mut out, b"length");
            bencode::int(&mut out, int(self.files[0].length));
        }
        bencode::bytes(&mut out, b"meta version");
        bencode::int(&mut out, 2);
        bencode::bytes(&mut out, b"name");
        bencode::bytes(&mut out, self.name.as_bytes());
        bencode::bytes(&mut out, b"piece length");
        bencode::int(&mut out, int(self.piece_length));
        if hybrid {
            bencode::bytes(&mut out, b"pieces");
            bencode::len_prefix(&mut out, self.v1_pieces.len() * 20);
            for p in &self.v1_pieces {
                out.extend_from_slice(p);
            }
        }
        if self.private {
            bencode::bytes(&mut out, b"private");
            bencode::int(&mut out, 1);
        }
        if let Some(s) = &self.source {
            bencode::bytes(&mut out, b"source");
            bencode::bytes(&mut out, s.as_bytes());
        }
        out.push(b'e');
        out
    }

    /// `file tree`: nested dictionaries by path component, each file a dictionary under
    /// the empty key with its `length` and, unless empty, its `pieces root`.
    fn file_tree(&self, out: &mut Vec<u8>) {
        enum Node<'f> {
            Dir(BTreeMap<&'f [u8], Node<'f>>),
            File(&'f V2File),
        }
        let mut root: BTreeMap<&[u8], Node<'_>> = BTreeMap::new();
        for f in &self.files {
            // A single file sits under the torrent's name.
            let name = [self.name.as_bytes()];
            let parts: Vec<&[u8]> = if f.path.is_empty() {
                name.to_vec()
            } else {
                f.path.iter().map(String::as_bytes).collect()
            };
            let (last, dirs) = parts.split_last().expect("a path has a component");
            let mut level = &mut root;
            for d in dirs {
                let node = level.entry(d).or_insert_with(|| Node::Dir(BTreeMap::new()));
                level = match node {
                    Node::Dir(m) => m,
                    Node::File(_) => unreachable!("a file and a directory of one name"),
                };
            }
            level.insert(last, Node::File(f));
        }
        fn write(out: &mut Vec<u8>, level: &BTreeMap<&[u8], Node<'_>>) {
            out.push(b'd');
            for (k, node) in level {
                bencode::bytes(out, k);
                match node {
                    Node::Dir(m) => write(out, m),
                    Node::File(f) => {
                        out.extend_from_slice(b"d0:d");
                        bencode::bytes(out, b"length");
                        bencode::int(out, int(f.length));
                        if let Some((root, _)) = &f.tree {
                            bencode::bytes(out, b"pieces root");
                            bencode::bytes(out, root);
                        }
                        out.extend_from_slice(b"ee");
                    }
                }
            }
            out.push(b'e');
        }
        write(out, &root);
    }

    /// `piece layers`: each file longer than a piece, by its `pieces root`.
    pub fn piece_layers(&self) -> Vec<u8> {
        let layers: BTreeMap<&Hash32, &Vec<Hash32>> = self
            .files
            .iter()
            .filter_map(|f| match &f.tree {
                Some((root, Some(layer))) => Some((root, layer)),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        out.push(b'd');
        for (root, layer) in layers {
            bencode::bytes(&mut out, root);
            bencode::len_prefix(&mut out, layer.len() * 32);
            for h in layer {
                out.extend_from_slice(h);
            }
        }
        out.push(b'e');
        out
    }

    /// SHA-256 of the `info` dictionary, the v2 info hash.
    pub fn v2_hash(&self) -> Hash32 {
        Sha256::digest(self.to_bytes()).into()
    }

    /// SHA-1 of the `info` dictionary: a hybrid's v1 info hash.
    pub fn v1_hash(&self) -> InfoHash {
        InfoHash(Sha1::digest(self.to_bytes()).into())
    }

    /// The whole `.torrent`: `outer`'s trackers, comment, dates and web seeds (its
    /// `info` is not used) around this `info` and its `piece layers`.
    pub fn torrent_bytes(&self, outer: &Metainfo) -> Vec<u8> {
        outer.to_bytes_around(&self.to_bytes(), Some(&self.piece_layers()))
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn str_list<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    out.push(b'l');
    for s in items {
        bencode::bytes(out, s);
    }
    out.push(b'e');
}
