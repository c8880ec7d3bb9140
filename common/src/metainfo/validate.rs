//! The rules every `info` dictionary must meet, whether we parsed it or built it.
//!
//! A torrent names files that a client will create on disk, so a name or path that could
//! escape the download directory, or two entries for one path, is refused outright rather
//! than "cleaned up" into something the creator did not hash.

use std::collections::HashMap;

use super::error::MetainfoError;
use super::model::{Info, Layout};

/// Largest piece length accepted when reading a torrent. Creators stop at 256 MiB
/// ([`super::MAX_PIECE_LENGTH`]); this leaves room for odd tools without letting a
/// hostile file claim gigantic pieces.
pub const MAX_PARSE_PIECE_LENGTH: u64 = 1 << 30;

/// Longest file path accepted, the torrent's name and the separators included: Linux's
/// `PATH_MAX`. A longer path cannot be created by any client, and the cap keeps a
/// hostile path of 300 000 components from costing more than its own bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// Largest total size accepted (1 PiB): far above any real release, and far enough
/// below `u64::MAX` that offsets can be added without overflow.
pub const MAX_TOTAL_LENGTH: u64 = 1 << 50;

impl Info {
    /// Checks names, paths, sizes and the piece list against each other.
    pub fn validate(&self) -> Result<(), MetainfoError> {
        check_component("info -> name", &self.name)?;
        if self.piece_length == 0 || self.piece_length > MAX_PARSE_PIECE_LENGTH {
            return Err(MetainfoError::OutOfRange {
                path: "info -> piece length".into(),
                value: i64::try_from(self.piece_length).unwrap_or(i64::MAX),
                rule: "must be between 1 byte and 1 GiB",
            });
        }
        let total = self.checked_total()?;
        if let Layout::Multi { files } = &self.layout {
            if files.is_empty() {
                return Err(MetainfoError::NoFiles);
            }
            let mut tree = PathTree::default();
            let mut offset = 0u64;
            for (i, f) in files.iter().enumerate() {
                offset = offset.saturating_add(f.length);
                // A pad file only aligns the next file: shorter than a piece and ending
                // on a piece boundary. A pad is never read from disk, so one of any size
                // would have the seeder hash (or serve) zeros it made up.
                if f.pad
                    && (f.length >= self.piece_length || !offset.is_multiple_of(self.piece_length))
                {
                    return Err(MetainfoError::OutOfRange {
                        path: format!("info -> files -> {i} -> length"),
                        value: i64::try_from(f.length).unwrap_or(i64::MAX),
                        rule: "is a pad file (attr p), which must be shorter than a piece and end on a piece boundary",
                    });
                }
                let path = format!("info -> files -> {i} -> path");
                if f.path.is_empty() {
                    return Err(MetainfoError::UnsafePath {
                        path,
                        component: String::new(),
                        problem: "is an empty list",
                    });
                }
                let len = self.name.len() + f.path.iter().map(|c| c.len() + 1).sum::<usize>();
                if len > MAX_PATH_BYTES {
                    return Err(MetainfoError::PathTooLong {
                        path,
                        len,
                        max: MAX_PATH_BYTES,
                    });
                }
                for c in &f.path {
                    check_component(&path, c)?;
                }
                // Pad files hold no data: libtorrent names them `.pad/<length>`, so a
                // hybrid torrent repeats their paths.
                if !f.pad {
                    tree.add(&f.path)?;
                }
            }
        }
        let expected = total.div_ceil(self.piece_length);
        if self.pieces.len() as u64 != expected {
            return Err(MetainfoError::PieceCount {
                got: self.pieces.len(),
                expected,
                total,
                piece_length: self.piece_length,
            });
        }
        Ok(())
    }

    fn checked_total(&self) -> Result<u64, MetainfoError> {
        let too_large = MetainfoError::TooLarge {
            limit: MAX_TOTAL_LENGTH,
        };
        let total = match &self.layout {
            Layout::Single { length } => *length,
            Layout::Multi { files } => files
                .iter()
                .try_fold(0u64, |sum, f| sum.checked_add(f.length))
                .ok_or(too_large.clone())?,
        };
        if total > MAX_TOTAL_LENGTH {
            return Err(too_large);
        }
        Ok(total)
    }
}

/// The files' paths as a tree of components, so that duplicates and a file that is also
/// a directory are found in time linear in the paths' total length (joining every
/// prefix of every path was quadratic in a path's depth).
#[derive(Default)]
struct PathTree<'a> {
    /// (parent node, component) -> child node; node 0 is the root.
    children: HashMap<(usize, &'a str), usize>,
    /// Whether each node is a file (else a directory); the root is a directory.
    is_file: Vec<bool>,
}

impl<'a> PathTree<'a> {
    fn add(&mut self, path: &'a [String]) -> Result<(), MetainfoError> {
        if self.is_file.is_empty() {
            self.is_file.push(false);
        }
        let mut node = 0;
        for (depth, c) in path.iter().enumerate() {
            let last = depth + 1 == path.len();
            let next = self.is_file.len();
            let child = *self.children.entry((node, c.as_str())).or_insert(next);
            if child == next {
                self.is_file.push(last);
            } else if last {
                let joined = path.join("/");
                return Err(if self.is_file[child] {
                    MetainfoError::DuplicatePath(joined)
                } else {
                    MetainfoError::FileIsDirectory(joined)
                });
            } else if self.is_file[child] {
                return Err(MetainfoError::FileIsDirectory(path[..=depth].join("/")));
            }
            node = child;
        }
        Ok(())
    }
}

/// One file or directory name: it must name something inside the torrent's directory.
pub(crate) fn check_component(path: &str, c: &str) -> Result<(), MetainfoError> {
    let problem = if c.is_empty() {
        "is empty"
    } else if c == "." || c == ".." {
        "would leave the torrent's directory"
    } else if c.starts_with('/') || c.starts_with('\\') {
        "is an absolute path"
    } else if c.contains('/') || c.contains('\\') {
        "contains a path separator"
    } else if c.contains('\0') {
        "contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(MetainfoError::UnsafePath {
        path: path.to_owned(),
        component: c.to_owned(),
        problem,
    })
}
