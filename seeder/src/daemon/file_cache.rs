//! Open content files, shared by every torrent and capped, least recently used closed
//! first: a library of many files must not hold a descriptor per file for as long as
//! it is served, and a descriptor flood must not leave no room to open content.
//!
//! Opening also enforces where content may live: a path that resolves (through
//! symlinks) outside its torrent's data root is refused unless the operator allows it,
//! so a symlink dropped into the library cannot serve `/etc` to the world.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus::IntGauge;

/// Which file: a storage's id and the file's index in it.
pub type Key = (u64, usize);

struct Open {
    file: Arc<File>,
    used: u64,
}

pub struct FileCache {
    max: usize,
    follow_symlinks_outside: bool,
    open: Mutex<HashMap<Key, Open>>,
    clock: AtomicU64,
    gauge: IntGauge,
}

/// Ids for storages, so keys of a removed torrent are never reused by a new one.
static NEXT_STORAGE: AtomicU64 = AtomicU64::new(1);

pub fn storage_id() -> u64 {
    NEXT_STORAGE.fetch_add(1, Ordering::Relaxed)
}

impl FileCache {
    pub fn new(max: usize, follow_symlinks_outside: bool, gauge: IntGauge) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            follow_symlinks_outside,
            open: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            gauge,
        })
    }

    /// A cache for tests: a few files, no symlinks out, a gauge registered nowhere.
    pub fn for_tests() -> Arc<Self> {
        Self::new(
            16,
            false,
            IntGauge::new("open_files", "test").expect("valid metric"),
        )
    }

    /// The open file for `key`, opening `path` (beneath `root`) on a miss. At the cap,
    /// the least recently used file is closed first.
    pub fn get(&self, key: Key, path: &Path, root: &Path) -> io::Result<Arc<File>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        {
            let mut open = self.open.lock().expect("file cache lock");
            if let Some(o) = open.get_mut(&key) {
                o.used = now;
                return Ok(o.file.clone());
            }
        }
        // Opened outside the lock: an open on a slow disk must not stall every read.
        let file = Arc::new(self.open_beneath(path, root)?);
        let mut open = self.open.lock().expect("file cache lock");
        if open.len() >= self.max && !open.contains_key(&key) {
            // O(max) only on a miss at the cap; the cap is a few thousand at most.
            if let Some(oldest) = open.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| *k) {
                open.remove(&oldest);
            }
        }
        let entry = open.entry(key).or_insert(Open { file, used: now });
        let file = entry.file.clone();
        self.gauge.set(open.len() as i64);
        Ok(file)
    }

    /// Closes `key`'s file (it changed on disk, or its torrent went away); the next read
    /// opens the path again.
    pub fn forget(&self, key: Key) {
        let mut open = self.open.lock().expect("file cache lock");
        open.remove(&key);
        self.gauge.set(open.len() as i64);
    }

    /// Closes every file of one storage.
    pub fn forget_storage(&self, storage: u64) {
        let mut open = self.open.lock().expect("file cache lock");
        open.retain(|k, _| k.0 != storage);
        self.gauge.set(open.len() as i64);
    }

    /// Opens `path` if it resolves beneath `root`. Checked before the open (nothing
    /// outside is even opened) and again on the open file itself: a symlink swapped in
    /// between the two cannot slip a file from outside through.
    fn open_beneath(&self, path: &Path, root: &Path) -> io::Result<File> {
        self.check_beneath(path, root)?;
        let file = File::open(path)?;
        if !self.follow_symlinks_outside {
            // What the descriptor really is; where /proc is missing, the path once more.
            let opened = fd_path(&file).or_else(|_| std::fs::canonicalize(path))?;
            Self::within(&opened, root)?;
        }
        Ok(file)
    }

    /// Whether `path` may be served from `root`: it resolves beneath it, or the operator
    /// allows symlinks out.
    pub fn check_beneath(&self, path: &Path, root: &Path) -> io::Result<()> {
        if !self.follow_symlinks_outside {
            Self::within(&std::fs::canonicalize(path)?, root)?;
        }
        Ok(())
    }

    /// `real` (a resolved path) is beneath `root`.
    fn within(real: &Path, root: &Path) -> io::Result<()> {
        let root = std::fs::canonicalize(root)?;
        if real.starts_with(&root) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "resolves to {}, outside the data root {} (set follow_symlinks_outside to allow)",
                real.display(),
                root.display()
            ),
        ))
    }
}

/// The path an open file resolves to, from the kernel (`/proc/self/fd`).
fn fd_path(file: &File) -> io::Result<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_max_files_open_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..3 {
            std::fs::write(dir.path().join(n.to_string()), b"x").unwrap();
        }
        let c = FileCache::new(2, false, IntGauge::new("g", "g").unwrap());
        let p = |n: usize| dir.path().join(n.to_string());
        c.get((1, 0), &p(0), dir.path()).unwrap();
        c.get((1, 1), &p(1), dir.path()).unwrap();
        c.get((1, 0), &p(0), dir.path()).unwrap();
        c.get((1, 2), &p(2), dir.path()).unwrap();
        let open = c.open.lock().unwrap();
        assert_eq!(open.len(), 2);
        assert!(open.contains_key(&(1, 0)) && open.contains_key(&(1, 2)));
        assert_eq!(c.gauge.get(), 2);
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused_unless_allowed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        std::fs::write(root.path().join("inside"), b"i").unwrap();
        std::os::unix::fs::symlink(root.path().join("inside"), root.path().join("link_in"))
            .unwrap();
        let c = FileCache::for_tests();
        let e = c
            .get((1, 0), &root.path().join("link"), root.path())
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("outside the data root"), "{e}");
        c.get((1, 1), &root.path().join("link_in"), root.path())
            .unwrap();
        let allowed = FileCache::new(4, true, IntGauge::new("g", "g").unwrap());
        allowed
            .get((1, 0), &root.path().join("link"), root.path())
            .unwrap();
    }

    /// The check after the open looks at the descriptor, not the path: a file opened
    /// through a symlink that points out of the root (swapped in after the first check)
    /// is refused.
    #[test]
    fn the_opened_descriptor_is_checked_not_the_path() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        std::fs::write(root.path().join("ok"), b"y").unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(outside.path().join("secret"), &link).unwrap();
        let f = File::open(&link).unwrap();
        let err = FileCache::within(&fd_path(&f).unwrap(), root.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        let f = File::open(root.path().join("ok")).unwrap();
        FileCache::within(&fd_path(&f).unwrap(), root.path()).unwrap();
    }
}
