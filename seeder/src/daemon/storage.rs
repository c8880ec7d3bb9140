//! The content of one torrent on disk: positional reads across file boundaries.
//!
//! Files are opened through the shared [`FileCache`] (capped, beneath the data root);
//! nothing is ever loaded whole. A short read (a file truncated under us) is an error,
//! never zeros.
//!
//! Every file has a baseline: its size, modification time and inode as first read. After
//! each read the open file is looked at again (`fstat`); if it changed, the data just
//! read may not be what was verified, so the read fails and `changed` is told the file's
//! byte range (to forget which pieces were proven) before the new baseline is taken. A
//! write updates the modification time before it changes any data, so a read followed
//! by an unchanged `fstat` read the old bytes. [`Storage::check`] also compares each
//! path with its baseline, which catches a file replaced by another (a new inode).

use std::fs::Metadata;
use std::io;
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seedline_common::metainfo::Info;

use super::file_cache::{self, FileCache};

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    mtime_ns: i128,
    /// The inode's change time, which no tool can set back: a rewrite that restores the
    /// modification time (`cp -p`, `rsync -t --inplace`) still moves it.
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Fingerprint {
    fn of(m: &Metadata) -> Self {
        Self {
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

struct Span {
    path: PathBuf,
    offset: u64,
    length: u64,
    /// A BEP 47 pad file (a hybrid torrent's): zeros, never on disk.
    pad: bool,
    /// The file as it was when first read; `None` until then.
    baseline: Mutex<Option<Fingerprint>>,
}

impl Span {
    fn range(&self) -> Range<u64> {
        self.offset..self.offset + self.length
    }
}

pub struct Storage {
    spans: Vec<Span>,
    total: u64,
    /// Where content must resolve to (symlinks out of it are refused by the cache).
    root: PathBuf,
    id: u64,
    files: Arc<FileCache>,
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
    #[error("{path}: {source}")]
    Refused { path: PathBuf, source: io::Error },
}

impl Storage {
    /// The layout of `info` with its content under `root` (`root/<name>`).
    pub fn new(info: &Info, root: &Path, files: Arc<FileCache>) -> Self {
        let base = root.join(&info.name);
        let spans = info
            .files()
            .into_iter()
            .map(|f| Span {
                path: f.path.iter().fold(base.clone(), |p, c| p.join(c)),
                offset: f.offset,
                length: f.length,
                pad: f.pad,
                baseline: Mutex::new(None),
            })
            .collect();
        Self {
            spans,
            total: info.total_length(),
            root: root.to_owned(),
            id: file_cache::storage_id(),
            files,
        }
    }

    /// The same storage followed by zeros up to `total` bytes: libtorrent pads a v2
    /// torrent's last file to a whole piece too, and asks for the padding.
    pub fn pad_to(mut self, total: u64) -> Self {
        if total > self.total {
            self.spans.push(Span {
                path: self.root.clone(),
                offset: self.total,
                length: total - self.total,
                pad: true,
                baseline: Mutex::new(None),
            });
            self.total = total;
        }
        self
    }

    /// The data root the content lives under (`root/<name>`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every file exists with the size the torrent gives (larger is wrong too: the data
    /// is not what was published). A file that is no longer the one first read (another
    /// inode, size or modification time) has `changed` called with its byte range.
    pub fn check(&self, changed: &dyn Fn(Range<u64>)) -> Result<(), ContentError> {
        for (i, s) in self.spans.iter().enumerate().filter(|(_, s)| !s.pad) {
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
            self.files
                .check_beneath(&s.path, &self.root)
                .map_err(|source| ContentError::Refused {
                    path: s.path.clone(),
                    source,
                })?;
            let mut base = s.baseline.lock().expect("baseline lock");
            if base.is_some_and(|b| b != Fingerprint::of(&meta)) {
                changed(s.range());
                *base = None;
                self.files.forget((self.id, i));
            }
        }
        Ok(())
    }

    /// Fills `buf` with the torrent's bytes at `offset`. If a file changed since its
    /// baseline, `changed` gets its byte range and the read fails.
    pub fn read_at(
        &self,
        offset: u64,
        buf: &mut [u8],
        changed: &dyn Fn(Range<u64>),
    ) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.total)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "read past the end"))?;
        let mut pos = offset;
        while pos < end {
            let s = &self.spans[self.span_at(pos)];
            if s.pad {
                let n = (s.offset + s.length).min(end) - pos;
                buf[(pos - offset) as usize..][..n as usize].fill(0);
                pos += n;
                continue;
            }
            let open = self.open_at(pos)?;
            let n = open.len.min(end - pos) as usize;
            let dst = &mut buf[(pos - offset) as usize..][..n];
            let path = &self.spans[open.span].path;
            open.file
                .read_exact_at(dst, open.within)
                .map_err(|e| with_path(e, path))?;
            self.after_read(&open, changed)?;
            pos += n as u64;
        }
        Ok(())
    }

    /// The file holding the torrent's byte at `offset`, opened, for a read from it
    /// (`pread`, or `sendfile` straight to a socket) that [`Self::after_read`] must
    /// follow.
    pub fn open_at(&self, offset: u64) -> io::Result<OpenSpan> {
        if offset >= self.total {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read past the end",
            ));
        }
        let i = self.span_at(offset);
        let s = &self.spans[i];
        if s.pad {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a pad file is not stored",
            ));
        }
        let file = self
            .files
            .get((self.id, i), &s.path, &self.root)
            .map_err(|e| with_path(e, &s.path))?;
        // Without a baseline yet, the file is looked at before the read too, so the
        // first read cannot take a write that lands during it as the baseline.
        let first = s.baseline.lock().expect("baseline lock").is_none();
        let before = if first {
            Some(Fingerprint::of(
                &file.metadata().map_err(|e| with_path(e, &s.path))?,
            ))
        } else {
            None
        };
        let within = offset - s.offset;
        Ok(OpenSpan {
            file,
            within,
            len: s.length - within,
            span: i,
            before,
        })
    }

    /// The span holding byte `offset` (below the total): the first that ends after it
    /// (empty files end where they start).
    fn span_at(&self, offset: u64) -> usize {
        self.spans
            .partition_point(|s| s.offset + s.length <= offset)
    }

    /// Looks at the file again after a read from it: if it changed since its baseline
    /// (or during a first read), what was read may not be what was verified, so
    /// `changed` gets its byte range and this fails.
    pub fn after_read(&self, open: &OpenSpan, changed: &dyn Fn(Range<u64>)) -> io::Result<()> {
        let s = &self.spans[open.span];
        let now = Fingerprint::of(&open.file.metadata().map_err(|e| with_path(e, &s.path))?);
        let mut base = s.baseline.lock().expect("baseline lock");
        match *base {
            None if open.before.is_none_or(|b| b == now) => *base = Some(now),
            Some(b) if b == now => {}
            _ => {
                // Forgotten before the new baseline is taken, so a concurrent read
                // that sees the new baseline also sees its piece unproven.
                changed(s.range());
                *base = Some(now);
                drop(base);
                self.files.forget((self.id, open.span));
                return Err(io::Error::other(format!(
                    "{}: changed on disk since it was verified",
                    s.path.display()
                )));
            }
        }
        Ok(())
    }
}

/// One content file opened at a place in it (see [`Storage::open_at`]).
pub struct OpenSpan {
    pub file: Arc<std::fs::File>,
    /// Where in the file.
    pub within: u64,
    /// The file's bytes from there to its end.
    pub len: u64,
    span: usize,
    /// The file as it was before a first read, when it had no baseline yet.
    before: Option<Fingerprint>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.files.forget_storage(self.id);
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
                        pad: false,
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
        let s = Storage::new(
            &info(&[("a", 3), ("e", 0), ("b", 5)]),
            dir.path(),
            FileCache::for_tests(),
        );
        s.check(&|_| {}).unwrap();
        let mut buf = [0u8; 8];
        s.read_at(0, &mut buf, &|_| {}).unwrap();
        assert_eq!(&buf, b"abcdefgh");
        let mut buf = [0u8; 3];
        s.read_at(2, &mut buf, &|_| {}).unwrap();
        assert_eq!(&buf, b"cde");
        s.read_at(3, &mut buf, &|_| {}).unwrap();
        assert_eq!(&buf, b"def");
        assert!(s.read_at(6, &mut buf, &|_| {}).is_err(), "past the end");
    }

    #[test]
    fn missing_short_and_truncated_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rel")).unwrap();
        std::fs::write(dir.path().join("rel/a"), b"ab").unwrap();
        let s = Storage::new(
            &info(&[("a", 3), ("b", 1)]),
            dir.path(),
            FileCache::for_tests(),
        );
        let e = s.check(&|_| {}).unwrap_err().to_string();
        assert!(e.contains("rel/a") && e.contains("2 bytes"), "{e}");
        std::fs::write(dir.path().join("rel/a"), b"abc").unwrap();
        assert!(s
            .check(&|_| {})
            .unwrap_err()
            .to_string()
            .contains("missing"));
        // A file shortened after the check: the read fails instead of returning zeros.
        std::fs::write(dir.path().join("rel/b"), b"x").unwrap();
        s.check(&|_| {}).unwrap();
        std::fs::write(dir.path().join("rel/a"), b"a").unwrap();
        let mut buf = [0u8; 4];
        assert!(s.read_at(0, &mut buf, &|_| {}).is_err());
    }

    #[test]
    fn a_file_changed_in_place_or_replaced_is_reported() {
        use std::sync::Mutex as M;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rel")).unwrap();
        std::fs::write(dir.path().join("rel/a"), b"abc").unwrap();
        std::fs::write(dir.path().join("rel/b"), b"defgh").unwrap();
        let s = Storage::new(
            &info(&[("a", 3), ("b", 5)]),
            dir.path(),
            FileCache::for_tests(),
        );
        let seen = M::new(Vec::new());
        let note = |r: Range<u64>| seen.lock().unwrap().push(r);
        let mut buf = [0u8; 8];
        s.read_at(0, &mut buf, &note).unwrap();
        // A byte flipped in place (same size; the write moves the modification time).
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("rel/b"))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        f.write_all_at(b"X", 1).unwrap();
        let e = s.read_at(0, &mut buf, &note).unwrap_err();
        assert!(e.to_string().contains("changed on disk"), "{e}");
        assert_eq!(*seen.lock().unwrap(), vec![3..8]);
        // The new content is the baseline now: reads go on (the caller re-verifies).
        s.read_at(0, &mut buf, &note).unwrap();
        assert_eq!(&buf, b"abcdXfgh");
        // A file replaced by another of the same size is caught by the periodic check.
        std::fs::write(dir.path().join("rel/a.new"), b"ABC").unwrap();
        std::fs::rename(dir.path().join("rel/a.new"), dir.path().join("rel/a")).unwrap();
        s.check(&note).unwrap();
        assert_eq!(seen.lock().unwrap().last(), Some(&(0..3)));
        s.read_at(0, &mut buf, &note).unwrap();
        assert_eq!(&buf[..3], b"ABC");
    }
}
