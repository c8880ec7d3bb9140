//! Finding the files of a release: a single file, or a directory walked recursively.
//!
//! Hidden entries (names starting with `.`) and symlinks are left out unless asked for,
//! because a release directory often carries editor and VCS droppings that must not end
//! up in a published torrent. The result is in torrent order (see
//! [`seedline_common::metainfo::sort_by_torrent_path`]), so the info hash matches
//! mktorrent's for the same files.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use seedline_common::metainfo::sort_by_torrent_path;

use super::error::Error;

/// What to leave out while walking.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub include_hidden: bool,
    pub follow_symlinks: bool,
    /// Matched against each entry's name and against its path relative to the input
    /// directory (`/`-separated); a match leaves the file, or the whole directory, out.
    pub exclude: GlobSet,
}

/// A file to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Components below the input directory; empty when the input is a single file.
    pub rel: Vec<String>,
    /// Where to read it.
    pub path: PathBuf,
    pub length: u64,
}

/// The files of the input, in torrent order.
#[derive(Debug, Clone)]
pub struct Walked {
    /// True when the input is a directory (a multi-file torrent, even with one file).
    pub is_dir: bool,
    pub files: Vec<SourceFile>,
}

impl Walked {
    pub fn total_length(&self) -> u64 {
        self.files.iter().map(|f| f.length).sum()
    }

    /// The files as the hashers read them, in this order.
    pub fn data_files(&self) -> Vec<super::hash::DataFile> {
        self.files
            .iter()
            .map(|f| super::hash::DataFile {
                path: f.path.clone(),
                length: f.length,
                pad: false,
            })
            .collect()
    }
}

/// Lists the files under `input`. The input itself is always followed if it is a symlink:
/// the user named it.
pub fn walk(input: &Path, opts: &WalkOptions) -> Result<Walked, Error> {
    let meta = fs::metadata(input).map_err(|e| Error::io(input, e))?;
    if meta.is_file() {
        let file = SourceFile {
            rel: Vec::new(),
            path: input.to_owned(),
            length: meta.len(),
        };
        return Ok(Walked {
            is_dir: false,
            files: vec![file],
        });
    }
    if !meta.is_dir() {
        return Err(Error::NotRegular(input.to_owned()));
    }
    let mut files = Vec::new();
    let mut ancestors = vec![(meta.dev(), meta.ino())];
    visit(input, &[], opts, &mut ancestors, &mut files)?;
    if files.is_empty() {
        return Err(Error::EmptyInput(input.to_owned()));
    }
    sort_by_torrent_path(&mut files, |f| &f.rel);
    Ok(Walked {
        is_dir: true,
        files,
    })
}

fn visit(
    dir: &Path,
    rel: &[String],
    opts: &WalkOptions,
    ancestors: &mut Vec<(u64, u64)>,
    files: &mut Vec<SourceFile>,
) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| Error::NotUtf8(path.clone()))?;
        if name.starts_with('.') && !opts.include_hidden {
            continue;
        }
        if opts.exclude.is_match(&name) {
            continue;
        }
        let mut child_rel = rel.to_vec();
        child_rel.push(name);
        if opts.exclude.is_match(child_rel.join("/")) {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
        let meta = if file_type.is_symlink() {
            if !opts.follow_symlinks {
                continue;
            }
            fs::metadata(&path).map_err(|e| Error::io(&path, e))?
        } else {
            entry.metadata().map_err(|e| Error::io(&path, e))?
        };
        if meta.is_dir() {
            let id = (meta.dev(), meta.ino());
            if ancestors.contains(&id) {
                return Err(Error::SymlinkLoop(path));
            }
            ancestors.push(id);
            visit(&path, &child_rel, opts, ancestors, files)?;
            ancestors.pop();
        } else if meta.is_file() {
            files.push(SourceFile {
                rel: child_rel,
                path,
                length: meta.len(),
            });
        } else {
            return Err(Error::NotRegular(path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
