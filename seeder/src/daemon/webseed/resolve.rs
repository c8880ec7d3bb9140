//! From a request path to one file of a torrent being served, through the torrent's own
//! file list: `/<name>` is a single-file torrent, `/<name>/<path...>` a file of a
//! multi-file one, each component percent-decoded (the URLs BEP 19 clients build from a
//! `url-list` entry ending in `/`).
//!
//! No filesystem path is ever built from the URL: a component is compared with the names
//! the torrent lists, which the metainfo parser already refused to hold `..`, `.`,
//! separators or NUL. So `/../`, `%2e%2e` and `%2f` can only fail to match.

use std::collections::HashMap;
use std::sync::Arc;

use seedline_common::metainfo::Info;

use crate::daemon::shared::Shared;
use crate::daemon::torrent::{State, Torrent};

/// Where one file sits in its torrent's concatenated piece stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpan {
    /// Its place in the torrent's file list (part of its entity tag).
    pub index: usize,
    pub offset: u64,
    pub length: u64,
}

/// A multi-file torrent's files by path, built on its first HTTP request: a lookup is
/// one hash, whatever the number of files.
pub struct FileIndex {
    by_path: HashMap<Vec<String>, FileSpan>,
}

impl FileIndex {
    pub fn new(info: &Info) -> Self {
        let by_path = info
            .files()
            .iter()
            .enumerate()
            // Pad files are not content: no URL names them.
            .filter(|(_, f)| !f.pad)
            .map(|(index, f)| {
                let span = FileSpan {
                    index,
                    offset: f.offset,
                    length: f.length,
                };
                (f.path.to_vec(), span)
            })
            .collect();
        Self { by_path }
    }

    /// The file at `path` below the torrent's name (empty: a single-file torrent).
    pub fn get(&self, path: &[String]) -> Option<FileSpan> {
        self.by_path.get(path).copied()
    }
}

/// What a path names.
pub enum Found {
    File(Arc<Torrent>, FileSpan),
    /// A file of a torrent that is not being served now (checking, missing, damaged).
    NotServed(State),
    /// Torrents of this name being seeded from different data directories: which one's
    /// bytes a client expects cannot be told from the URL.
    Ambiguous,
    NotFound,
}

/// Why a path cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct BadPath;

/// The percent-decoded components of `path` (which starts with `/`). A malformed escape
/// or a component that is not UTF-8 is a bad path; empty components (`//`, a trailing
/// `/`) are kept, so they match nothing.
pub fn components(path: &str) -> Result<Vec<String>, BadPath> {
    let rest = path.strip_prefix('/').ok_or(BadPath)?;
    rest.split('/').map(decode).collect()
}

fn decode(s: &str) -> Result<String, BadPath> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(BadPath)?;
            // Two hex digits exactly (`from_str_radix` alone would take `+f`).
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(BadPath);
            }
            let hex = std::str::from_utf8(hex).map_err(|_| BadPath)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| BadPath)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| BadPath)
}

/// The file `parts` names among the torrents `shared` serves. Private torrents (BEP 27)
/// are never served here: their tracker decides who gets them. Several torrents of one
/// name being seeded are one file on disk when they share a data directory (the same
/// release published twice, with other trackers); from different directories they are
/// refused as ambiguous.
pub fn find(shared: &Shared, parts: &[String]) -> Found {
    let Some((name, path)) = parts.split_first() else {
        return Found::NotFound;
    };
    let mut not_served = None;
    let mut found: Option<(Arc<Torrent>, FileSpan)> = None;
    for t in shared.torrents_named(name) {
        if t.info.private {
            continue;
        }
        let Some(span) = t.file_index().get(path) else {
            continue;
        };
        match (t.state(), &found) {
            (State::Seeding, Some((first, _))) if first.storage.root() != t.storage.root() => {
                return Found::Ambiguous
            }
            (State::Seeding, Some(_)) => {}
            (State::Seeding, None) => found = Some((t, span)),
            (s, _) => not_served = not_served.or(Some(s)),
        }
    }
    match (found, not_served) {
        (Some((t, span)), _) => Found::File(t, span),
        (None, Some(s)) => Found::NotServed(s),
        (None, None) => Found::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seedline_common::metainfo::{FileEntry, Layout};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn components_are_percent_decoded_one_by_one() {
        assert_eq!(components("/a").unwrap(), strings(&["a"]));
        assert_eq!(
            components("/My%20Release/sub%2Fdir/f%C3%A9.txt").unwrap(),
            strings(&["My Release", "sub/dir", "fé.txt"]),
            "an encoded slash stays inside its component"
        );
        assert_eq!(components("/a/").unwrap(), strings(&["a", ""]));
        assert_eq!(components("/%2e%2e/x").unwrap(), strings(&["..", "x"]));
        assert_eq!(
            components("/a+b").unwrap(),
            strings(&["a+b"]),
            "+ is not a space in a path"
        );
        for bad in ["a", "/%", "/%2", "/%zz", "/%ff", "/%C3", "/%+f", "/%-1"] {
            assert_eq!(components(bad), Err(BadPath), "{bad}");
        }
    }

    #[test]
    fn the_index_finds_files_by_their_listed_path_only() {
        let info = Info {
            name: "rel".into(),
            piece_length: 16384,
            pieces: vec![[0; 20]],
            layout: Layout::Multi {
                files: vec![
                    FileEntry {
                        path: strings(&["a.txt"]),
                        length: 10,
                        pad: false,
                    },
                    FileEntry {
                        path: strings(&["d", "b.bin"]),
                        length: 5,
                        pad: false,
                    },
                ],
            },
            private: false,
            source: None,
        };
        let idx = FileIndex::new(&info);
        assert_eq!(
            idx.get(&strings(&["d", "b.bin"])),
            Some(FileSpan {
                index: 1,
                offset: 10,
                length: 5
            })
        );
        for miss in [
            &["d"][..],
            &["d", "..", "a.txt"],
            &["..", "rel", "a.txt"],
            &["d/b.bin"],
            &[],
            &["a.txt", ""],
        ] {
            assert_eq!(idx.get(&strings(miss)), None, "{miss:?}");
        }
    }
}
