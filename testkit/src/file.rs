//! A file with given contents in a directory of its own, removed when the test ends:
//! the configuration file a `--config` test reads.

use std::path::Path;

use tempfile::TempDir;

pub struct TempFile {
    path: String,
    // Dropped last: removes the directory and the file.
    _dir: TempDir,
}

impl TempFile {
    /// `name` holding `text`.
    pub fn new(name: &str, text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write the file");
        Self {
            path: path.to_str().expect("a UTF-8 temporary path").to_owned(),
            _dir: dir,
        }
    }

    /// The path, as a command-line argument.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Replaces the contents.
    pub fn write(&self, text: &str) {
        std::fs::write(Path::new(&self.path), text).expect("write the file");
    }
}
