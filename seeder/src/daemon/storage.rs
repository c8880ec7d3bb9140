//! The content of one torrent on disk: positional reads across file boundaries.
//!
//! Files are opened on first read and kept open while the torrent is served; nothing is
//! ever loaded whole. A short read (a file truncated under us) is an error, never zeros.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use seedline_common::metainfo::Info;

struct Span {
    path: PathBuf,
    offset: u64,
    length: u64,
    file: OnceLock<File>,
}

pub struct Storage {
    spans: Vec<Span>,
    total: u64,
}

/// Why content cannot be served as it is on disk.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("{path}: missing ({source})")]
    Missing { path: PathBuf, source: io::Error },
    #[error("{path}: {got} bytes, the torrent says {expected}")]
    WrongSize {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
}

impl Storage {
    /// The layout of `info` with its content under `root` (`root/<name>`).
    pub fn new(info: &Info, root: &Path) -> Self {
        let base = root.join(&info.name);
        let spans = info
            .files()
            .into_iter()
            .map(|f| Span {
                path: f.path.iter().fold(base.clone(), |p, c| p.join(c)),
                offset: f.offset,
                length: f.length,
                file: OnceLock::new(),
            })
            .collect();
        Self {
            spans,
            total: info.total_length(),
        }
    }

    /// Every file exists with the size the torrent gives (larger is wrong too: the data
    /// is not what was published).
    pub fn check(&self) -> Result<(), ContentError> {
        for s in &self.spans {
            let meta = std::fs::metadata(&s.path).map_err(|source| ContentError::Missing {
                path: s.path.clone(),
                source,
            })?;
            if meta.len() != s.length {
                return Err(ContentError::WrongSize {
                    path: s.path.clone(),
                    expected: s.length,
                    got: meta.len(),
                });
            }
        }
        Ok(())
    }

    /// Fills `buf` with the torrent's bytes at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.total)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "read past the end"))?;
        // The first file that ends after `offset` (empty files end where they start).
        let mut i = self
            .spans
            .partition_point(|s| s.offset + s.length <= offset);
        let mut pos = offset;
        while pos < end {
            let s = &self.spans[i];
            let within = pos - s.offset;
            let n = (s.length - within).min(end - pos) as usize;
            let dst = &mut buf[(pos - offset) as usize..][..n];
            let file = match s.file.get() {
                Some(f) => f,
                None => {
                    let f = File::open(&s.path).map_err(|e| with_path(e, &s.path))?;
                    s.file.get_or_init(|| f)
                }
            };
            file.read_exact_at(dst, within)
                .map_err(|e| with_path(e, &s.path))?;
            pos += n as u64;
            i += 1;
        }
        Ok(())
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use seedline_common::metainfo::{FileEntry, Layout};

    use super::*;

    fn info(files: &[(&str, u64)]) -> Info {
        Info {
            name: "rel".into(),
            piece_length: 16384,
            pieces: Vec::new(),
            layout: Layout::Multi {
                files: files
                    .iter()
                    .map(|(p, l)| FileEntry {
                        path: vec![(*p).into()],
                        length: *l,
                    })
                    .collect(),
            },
            private: false,
            source: None,
        }
    }

    #[test]
    fn reads_across_files_and_skips_empty_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rel")).unwrap();
        std::fs::write(dir.path().join("rel/a"), b"abc").unwrap();
        std::fs::write(dir.path().join("rel/e"), b"").unwrap();
        std::fs::write(dir.path().join("rel/b"), b"defgh").unwrap();
        let s = Storage::new(&info(&[("a", 3), ("e", 0), ("b", 5)]), dir.path());
        s.check().unwrap();
        let mut buf = [0u8; 8];
        s.read_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"abcdefgh");
        let mut buf = [0u8; 3];
        s.read_at(2, &mut buf).unwrap();
        assert_eq!(&buf, b"cde");
        s.read_at(3, &mut buf).unwrap();
        assert_eq!(&buf, b"def");
        assert!(s.read_at(6, &mut buf).is_err(), "past the end");
    }

    #[test]
    fn missing_short_and_truncated_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rel")).unwrap();
        std::fs::write(dir.path().join("rel/a"), b"ab").unwrap();
        let s = Storage::new(&info(&[("a", 3), ("b", 1)]), dir.path());
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("rel/a") && e.contains("2 bytes"), "{e}");
        std::fs::write(dir.path().join("rel/a"), b"abc").unwrap();
        assert!(s.check().unwrap_err().to_string().contains("missing"));
        // A file shortened after the check: the read fails instead of returning zeros.
        std::fs::write(dir.path().join("rel/b"), b"x").unwrap();
        s.check().unwrap();
        std::fs::write(dir.path().join("rel/a"), b"a").unwrap();
        let mut buf = [0u8; 4];
        assert!(s.read_at(0, &mut buf).is_err());
    }
}
