//! Writing a `.torrent` so that no reader ever sees half of one.
//!
//! The bytes go to a temporary file in the target directory, are synced, and the file is
//! renamed into place. A seeder watching its library therefore sees either nothing or the
//! whole torrent, and a failed run leaves nothing behind.

use std::fs::{self, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::Error;

/// Writes `bytes` to `path` atomically. Without `overwrite`, an existing file is an error,
/// checked again at the rename so a file that appeared meanwhile is not clobbered.
pub fn write_atomically(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), Error> {
    let write_err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if !overwrite && path.exists() {
        return Err(Error::Exists(path.to_owned()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A torrent is public data meant to be read by a seeder that may run as another user;
    // tempfile's default of 0600 would hide it. The umask still applies.
    let mut tmp = tempfile::Builder::new()
        .prefix(".make-torrent-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    if overwrite {
        tmp.persist(path).map_err(|e| write_err(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists(path.to_owned())
            } else {
                write_err(e.error)
            }
        })?;
    }
    Ok(())
}

/// Checks before hashing that `path` can be written, so a long hash is not wasted.
pub fn check_writable(path: &Path, overwrite: bool) -> Result<(), Error> {
    if !overwrite && path.exists() {
        return Err(Error::Exists(path.to_owned()));
    }
    Ok(())
}

/// Checks that `dir` exists and is a directory.
pub fn check_dir(dir: &Path) -> Result<(), Error> {
    let meta = fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(Error::NotADirectory(dir.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_refuses_and_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.torrent");
        write_atomically(&path, b"one", false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o644,
            0o644
        );
        let err = write_atomically(&path, b"two", false).unwrap_err();
        assert!(matches!(err, Error::Exists(_)), "{err}");
        assert!(matches!(
            check_writable(&path, false),
            Err(Error::Exists(_))
        ));
        write_atomically(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        // No temporary file is left next to it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failure_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("x.torrent");
        let err = write_atomically(&path, b"one", false).unwrap_err();
        assert!(err.to_string().contains("missing-dir"), "{err}");
        assert!(check_dir(&dir.path().join("missing-dir")).is_err());
        assert!(matches!(
            check_dir(&dir.path().join("nope")),
            Err(Error::Io { .. })
        ));
    }
}
